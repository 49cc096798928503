/**
 * The ReplicaSet controller (kube-controller-manager's `pkg/controller/replicaset`): keeps
 * `spec.replicas` active pods that match the selector and are controlled by the set, creating
 * them from the template (`generateName: <rs>-`, controller ownerReference) in slow-start
 * batches and deleting the surplus least-valuable first (unscheduled, then pending, then not
 * ready, then the most recently ready, then the newest). Status: `replicas`,
 * `fullyLabeledReplicas`, `readyReplicas`, `availableReplicas` (ready for `minReadySeconds`),
 * `observedGeneration`. Pods are read from the API on each sync, so no creation is counted
 * twice (upstream keeps "expectations" for that; the embedded API answers in process).
 */
import type { Informer, KubeClient, KubeObject } from "../../kube/mod.ts";
import {
  createLogger,
  formatLabelSelector,
  type LabelSelector,
  selectorMatches,
} from "../../lib/mod.ts";
import { EventRecorder } from "./events.ts";
import {
  byCreation,
  controllerRef,
  isControlledBy,
  isPodActive,
  isPodReady,
  keyOf,
  type Meta,
  ownerRefTo,
  type Pod,
  podAvailability,
  type PodTemplate,
  splitKey,
} from "./pods.ts";
import type { ClusterContext, ClusterController } from "./types.ts";
import { WorkQueue } from "./workqueue.ts";
import { podInformer } from "./core_informers.ts";

const log = createLogger("replicaset-controller");

/** A ReplicaSet. */
export interface ReplicaSet extends KubeObject {
  metadata: Meta;
  spec: {
    replicas?: number;
    selector?: LabelSelector;
    template: PodTemplate;
    minReadySeconds?: number;
  };
  status?: {
    replicas?: number;
    fullyLabeledReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    observedGeneration?: number;
  };
}

/** Most pods created or deleted in one sync (upstream `burstReplicas`). */
const BURST = 500;

export function rsPath(ns: string, name?: string): string {
  return `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/replicasets${
    name ? `/${encodeURIComponent(name)}` : ""
  }`;
}

function podsPath(ns: string, name?: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(ns)}/pods${
    name ? `/${encodeURIComponent(name)}` : ""
  }`;
}

/** Deletion rank (lower goes first), upstream's `ActivePodsWithRanks` order. */
function deletionRank(p: Pod): number[] {
  const unscheduled = p.spec.nodeName ? 1 : 0;
  const phase = p.status?.phase === "Pending" ? 0 : p.status?.phase === "Running" ? 2 : 1;
  const ready = isPodReady(p) ? 1 : 0;
  const readySince = Date.parse(
    p.status?.conditions?.find((c) => c.type === "Ready")?.lastTransitionTime ?? "",
  ) || 0;
  const created = Date.parse(p.metadata.creationTimestamp ?? "") || 0;
  return [unscheduled, phase, ready, -readySince, -created];
}

function compareRank(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** See module docs. */
export class ReplicaSetController implements ClusterController {
  readonly name = "replicaset-controller";
  readonly #kube: KubeClient;
  readonly #sets: Informer<ReplicaSet>;
  readonly #pods: Informer<Pod>;
  readonly #queue: WorkQueue;
  readonly #events: EventRecorder;

  constructor(readonly ctx: ClusterContext) {
    this.#kube = ctx.kube;
    this.#events = new EventRecorder(ctx.kube, "replicaset-controller", ctx.now);
    this.#queue = new WorkQueue("replicaset", (key) => this.#sync(key));
    this.#sets = ctx.kube.informer<ReplicaSet>("/apis/apps/v1/replicasets", undefined, {
      kind: "ReplicaSet",
      apiVersion: "apps/v1",
    });
    this.#pods = podInformer(ctx.kube);
    const enqueue = (rs: ReplicaSet) => this.#queue.add(keyOf(rs));
    this.#sets.on({ add: enqueue, update: enqueue, delete: enqueue });
    const onPod = (p: Pod) => {
      const ref = controllerRef(p);
      if (ref?.kind === "ReplicaSet") this.#queue.add(`${p.metadata.namespace}/${ref.name}`);
    };
    this.#pods.on({ add: onPod, update: onPod, delete: onPod });
  }

  async start(): Promise<void> {
    this.#sets.start();
    this.#pods.start();
    await Promise.all([this.#sets.synced, this.#pods.synced]);
    this.#queue.start();
  }

  async stop(): Promise<void> {
    await this.#queue.stop();
    await Promise.all([this.#sets.stop(), this.#pods.stop()]);
  }

  async #sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    let rs: ReplicaSet;
    try {
      rs = await this.#kube.get<ReplicaSet>(rsPath(ns, name));
    } catch {
      return; // deleted: its pods go with the garbage collector
    }
    if (rs.metadata.deletionTimestamp) return;
    const sel = rs.spec.selector;
    const list = await this.#kube.get<{ items: Pod[] }>(podsPath(ns), {
      query: { labelSelector: formatLabelSelector(sel).replace("<none>", "") },
    });
    const pods = list.items.filter((p) => isControlledBy(p, rs.metadata.uid));
    // Adopt orphans the selector matches (upstream's ControllerRefManager).
    for (const p of list.items.filter((p) => !controllerRef(p) && isPodActive(p))) {
      try {
        await this.#kube.patch(podsPath(ns, p.metadata.name), {
          metadata: {
            ownerReferences: [
              ...(p.metadata.ownerReferences ?? []),
              ownerRefTo(rs, "apps/v1", "ReplicaSet"),
            ],
          },
        }, "application/merge-patch+json");
        pods.push(p);
      } catch { /* changed meanwhile: next sync */ }
    }
    const active = pods.filter(isPodActive);
    const want = rs.spec.replicas ?? 1;
    const diff = want - active.length;
    if (diff > 0) await this.#create(rs, Math.min(diff, BURST));
    else if (diff < 0) await this.#delete(rs, active, Math.min(-diff, BURST));
    await this.#updateStatus(rs, diff < 0 ? active.slice(0, want) : active);
  }

  async #create(rs: ReplicaSet, n: number): Promise<void> {
    const t = rs.spec.template;
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        generateName: `${rs.metadata.name}-`,
        namespace: rs.metadata.namespace,
        labels: { ...(t.metadata?.labels ?? {}) },
        ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
        ownerReferences: [ownerRefTo(rs, "apps/v1", "ReplicaSet")],
      },
      spec: structuredClone(t.spec),
    };
    // Slow start: 1, 2, 4, ... so a broken template fails fast.
    let made = 0;
    for (let batch = 1; made < n; batch *= 2) {
      const size = Math.min(batch, n - made);
      const results = await Promise.allSettled(
        Array.from(
          { length: size },
          () => this.#kube.create(podsPath(rs.metadata.namespace ?? ""), pod),
        ),
      );
      const failed = results.find((r) => r.status === "rejected") as
        | PromiseRejectedResult
        | undefined;
      made += results.filter((r) => r.status === "fulfilled").length;
      if (failed) {
        await this.#events.record(
          EventRecorder.subject(rs, "ReplicaSet", "apps/v1"),
          "Warning",
          "FailedCreate",
          `Error creating: ${(failed.reason as Error).message}`,
        );
        throw failed.reason;
      }
    }
    await this.#events.record(
      EventRecorder.subject(rs, "ReplicaSet", "apps/v1"),
      "Normal",
      "SuccessfulCreate",
      `Created ${n} pod${n === 1 ? "" : "s"}`,
    );
  }

  async #delete(rs: ReplicaSet, active: Pod[], n: number): Promise<void> {
    const victims = [...active].sort((a, b) =>
      compareRank(deletionRank(a), deletionRank(b)) || byCreation(b, a)
    )
      .slice(0, n);
    await Promise.all(
      victims.map((p) =>
        this.#kube.delete(podsPath(p.metadata.namespace ?? "", p.metadata.name)).catch((e) =>
          log.debug("pod not deleted", { pod: p.metadata.name, error: (e as Error).message })
        )
      ),
    );
    await this.#events.record(
      EventRecorder.subject(rs, "ReplicaSet", "apps/v1"),
      "Normal",
      "SuccessfulDelete",
      `Deleted pod${victims.length === 1 ? "" : "s"}: ${
        victims.map((p) => p.metadata.name).join(", ")
      }`,
    );
  }

  async #updateStatus(rs: ReplicaSet, active: Pod[]): Promise<void> {
    const now = this.ctx.now();
    const labels = rs.spec.template.metadata?.labels ?? {};
    let ready = 0, available = 0, soonest: number | undefined;
    for (const p of active) {
      if (isPodReady(p)) ready++;
      const a = podAvailability(p, rs.spec.minReadySeconds ?? 0, now);
      if (a.available) available++;
      else if (a.inMs !== undefined) soonest = Math.min(soonest ?? Infinity, a.inMs);
    }
    const status = {
      replicas: active.length,
      fullyLabeledReplicas:
        active.filter((p) => selectorMatches({ matchLabels: labels }, p.metadata.labels ?? {}))
          .length,
      readyReplicas: ready,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation ?? 1,
    };
    if (soonest !== undefined) this.#queue.addAfter(keyOf(rs), soonest);
    const cur = rs.status ?? {};
    if (
      cur.replicas === status.replicas &&
      cur.fullyLabeledReplicas === status.fullyLabeledReplicas &&
      cur.readyReplicas === status.readyReplicas &&
      cur.availableReplicas === status.availableReplicas &&
      cur.observedGeneration === status.observedGeneration
    ) return;
    await this.#kube.patch(`${rsPath(rs.metadata.namespace ?? "", rs.metadata.name)}/status`, {
      status,
    }, "application/merge-patch+json");
  }
}

/** The factory CLUSTER_CONTROLLERS lists. */
export function replicaSetController(ctx: ClusterContext): ClusterController {
  return new ReplicaSetController(ctx);
}
