/**
 * The DaemonSet controller (kubernetes pkg/controller/daemon, 1.32): one pod of a DaemonSet on
 * every node that matches its nodeSelector and required node affinity and whose NoSchedule and
 * NoExecute taints the pod tolerates, with the DaemonSet default tolerations added
 * (`node.kubernetes.io/not-ready`, `unreachable` NoExecute; `disk-pressure`, `memory-pressure`,
 * `pid-pressure`, `unschedulable` NoSchedule; `network-unavailable` NoSchedule for host network).
 * That is how a KubeEdge user puts an app on every edge node.
 *
 * - New and relabelled nodes get a pod (node informer); a node that no longer matches, or whose
 *   NoExecute taint the pod does not tolerate, loses it; pods of deleted nodes are removed at
 *   once (grace 0), as the pod garbage collector would. Failed pods are replaced with back-off.
 * - Updates: RollingUpdate replaces old pods with at most `maxUnavailable` (int or percent of
 *   the desired count, rounded up) unavailable at a time; OnDelete creates new-template pods only
 *   where old ones were deleted. `maxSurge` > 0 (new pod next to the old one until it is
 *   available) is honoured too.
 * - History: a ControllerRevision per template (`controller-revision-hash` on pods), old ones
 *   pruned beyond `revisionHistoryLimit`, so `kubectl rollout history/undo ds` work.
 * - Status: desired/current/updated NumberScheduled, numberReady, numberAvailable,
 *   numberUnavailable, numberMisscheduled, observedGeneration (what `kubectl rollout status`
 *   reads).
 *
 * Deviation from upstream, on purpose: besides the required node affinity on `metadata.name`
 * that upstream gives each daemon pod for the scheduler, the pod is created with `spec.nodeName`
 * already set, so it reaches its KubeEdge edge at once whether or not a scheduler runs (the
 * embedded control plane's scheduler is optional). Pods and revisions are read fresh from the
 * API on each sync (in process for the embedded API), which replaces upstream's expectations.
 */
import { isNotFound, type KubeClient, type KubeObject } from "../../kube/mod.ts";
import { createLogger, formatLabelSelector, jsonEqual, type LabelSelector } from "../../lib/mod.ts";
import type { Informer } from "../../kube/mod.ts";
import type { ClusterContext, ClusterController } from "./types.ts";
import { EventRecorder } from "./events.ts";
import { WorkQueue } from "./workqueue.ts";
import {
  byCreation,
  controllerRef,
  isControlledBy,
  isPodReady,
  keyOf,
  type Meta,
  type Node,
  ownerRefTo,
  type Pod,
  podAvailability,
  type PodSpec,
  type PodTemplate,
  splitKey,
  type Toleration,
} from "./pods.ts";
import { nodeShouldRunPod } from "./node_fit.ts";
import { ensureRevision, HashCollisionError, listRevisions, pruneRevisions } from "./revisions.ts";
import { nodeInformer, podInformer } from "./core_informers.ts";

const log = createLogger("daemonset-controller");

/** Pod label with the template hash of the revision a pod was made from. */
export const REVISION_HASH_LABEL = "controller-revision-hash";
/** The deprecated pod label with the DaemonSet's generation at creation (still set upstream). */
export const TEMPLATE_GENERATION_LABEL = "pod-template-generation";

/** An int-or-percent value. */
type IntOrString = number | string;

/** A DaemonSet. */
export interface DaemonSet extends KubeObject {
  metadata: Meta;
  spec: {
    selector?: LabelSelector;
    template: PodTemplate;
    updateStrategy?: {
      type?: string;
      rollingUpdate?: { maxUnavailable?: IntOrString; maxSurge?: IntOrString };
    };
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
  };
  status?: DaemonSetStatus;
}

/** DaemonSet status. */
export interface DaemonSetStatus {
  currentNumberScheduled: number;
  numberMisscheduled: number;
  desiredNumberScheduled: number;
  numberReady: number;
  observedGeneration?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  numberUnavailable?: number;
  collisionCount?: number;
  conditions?: unknown[];
}

/** Options of the DaemonSet controller. */
export interface DaemonSetControllerOptions {
  /** First delay before a failed daemon pod is replaced (default 1 s), doubled per failure. */
  failedPodBackoffMs?: number;
  /** Cap of that delay (default 15 min, as upstream). */
  failedPodBackoffMaxMs?: number;
}

/** The tolerations every daemon pod gets (`AddOrUpdateDaemonPodTolerations`). */
export function daemonTolerations(hostNetwork: boolean): Toleration[] {
  const t = (key: string, effect: string): Toleration => ({ key, operator: "Exists", effect });
  return [
    t("node.kubernetes.io/not-ready", "NoExecute"),
    t("node.kubernetes.io/unreachable", "NoExecute"),
    t("node.kubernetes.io/disk-pressure", "NoSchedule"),
    t("node.kubernetes.io/memory-pressure", "NoSchedule"),
    t("node.kubernetes.io/pid-pressure", "NoSchedule"),
    t("node.kubernetes.io/unschedulable", "NoSchedule"),
    ...(hostNetwork ? [t("node.kubernetes.io/network-unavailable", "NoSchedule")] : []),
  ];
}

/** `AddOrUpdateTolerationInPodSpec` for each daemon toleration: same key and effect replaced. */
function withDaemonTolerations(spec: PodSpec): Toleration[] {
  const out = [...(spec.tolerations ?? [])];
  for (const t of daemonTolerations(spec.hostNetwork === true)) {
    const i = out.findIndex((x) => x.key === t.key && x.effect === t.effect);
    if (i >= 0) out[i] = t;
    else out.push(t);
  }
  return out;
}

/** The node a daemon pod is for: `spec.nodeName`, or its `metadata.name` node affinity. */
export function targetNode(p: Pod): string | undefined {
  if (p.spec.nodeName) return p.spec.nodeName;
  for (
    const term of p.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
      ?.nodeSelectorTerms ?? []
  ) {
    for (const f of term.matchFields ?? []) {
      if (f.key === "metadata.name" && f.operator === "In" && f.values?.length === 1) {
        return f.values[0];
      }
    }
  }
  return undefined;
}

/** `intstr.GetScaledValueFromIntOrPercent`. */
export function scaledValue(v: IntOrString | undefined, total: number, roundUp: boolean): number {
  if (v === undefined) return 0;
  if (typeof v === "number") return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return Number.parseInt(v, 10) || 0;
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

function dsPath(ns: string, name?: string): string {
  return `/apis/apps/v1/namespaces/${ns}/daemonsets${name ? `/${name}` : ""}`;
}

function podsPath(ns: string, name?: string): string {
  return `/api/v1/namespaces/${ns}/pods${name ? `/${name}` : ""}`;
}

/** See module docs. */
export class DaemonSetController implements ClusterController {
  readonly name = "daemonset";
  readonly #kube: KubeClient;
  readonly #now: () => Date;
  readonly #queue: WorkQueue;
  readonly #opts: Required<DaemonSetControllerOptions>;
  readonly #failures = new Map<string, { count: number; until: number }>();
  #sets?: Informer<DaemonSet>;
  #pods?: Informer<Pod>;
  #nodes?: Informer<Node>;

  readonly #events: EventRecorder;

  constructor(ctx: ClusterContext, opts: DaemonSetControllerOptions = {}) {
    this.#events = new EventRecorder(ctx.kube, "daemonset-controller", ctx.now);
    this.#kube = ctx.kube;
    this.#now = ctx.now;
    this.#opts = {
      failedPodBackoffMs: opts.failedPodBackoffMs ?? 1000,
      failedPodBackoffMaxMs: opts.failedPodBackoffMaxMs ?? 15 * 60_000,
    };
    this.#queue = new WorkQueue("daemonset", (key) => this.#sync(key));
  }

  async start(): Promise<void> {
    const kube = this.#kube;
    this.#sets = kube.informer<DaemonSet>("/apis/apps/v1/daemonsets", undefined, {
      kind: "DaemonSet",
      apiVersion: "apps/v1",
    });
    this.#pods = podInformer(kube);
    this.#nodes = nodeInformer(kube);
    const enqueue = (ds: DaemonSet) => this.#queue.add(keyOf(ds));
    this.#sets.on({ add: enqueue, update: enqueue, delete: enqueue });
    const podEvent = (p: Pod) => {
      const ref = controllerRef(p);
      if (ref?.kind === "DaemonSet" && ref.apiVersion.startsWith("apps/")) {
        this.#queue.add(`${p.metadata.namespace}/${ref.name}`);
      }
    };
    this.#pods.on({ add: podEvent, update: podEvent, delete: podEvent });
    const all = () => {
      for (const ds of this.#sets?.list() ?? []) enqueue(ds);
    };
    this.#nodes.on({
      add: all,
      delete: all,
      update: (n, old) => {
        // Only what changes the placement: labels, taints, and the node's condition list.
        if (
          !jsonEqual(n.metadata.labels, old.metadata.labels) ||
          !jsonEqual(n.spec?.taints, old.spec?.taints) ||
          !jsonEqual(n.spec?.unschedulable, old.spec?.unschedulable)
        ) all();
      },
    });
    this.#nodes.start();
    this.#pods.start();
    this.#sets.start();
    await Promise.all([this.#nodes.synced, this.#pods.synced, this.#sets.synced]);
    this.#queue.start();
  }

  async stop(): Promise<void> {
    await this.#queue.stop();
    await Promise.all([this.#sets?.stop(), this.#pods?.stop(), this.#nodes?.stop()]);
  }

  /** The pods `ds` controls, fresh from the API. */
  async #daemonPods(ds: DaemonSet): Promise<Pod[]> {
    const sel = formatLabelSelector(ds.spec.selector);
    const list = await this.#kube.get<{ items: Pod[] } & KubeObject>(
      podsPath(ds.metadata.namespace!),
      { query: { labelSelector: sel === "<none>" ? undefined : sel } },
    );
    return list.items.filter((p) => isControlledBy(p, ds.metadata.uid)).sort(byCreation);
  }

  async #sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    let ds: DaemonSet;
    try {
      ds = await this.#kube.get<DaemonSet>(dsPath(ns, name));
    } catch (e) {
      if (isNotFound(e)) {
        for (const k of this.#failures.keys()) {
          if (k.startsWith(`${key}/`)) this.#failures.delete(k);
        }
        return;
      }
      throw e;
    }
    if (ds.metadata.deletionTimestamp) return;
    const nodes = this.#nodes?.list() ?? [];
    const revisions = await listRevisions(this.#kube, ds, ds.spec.selector);
    let hash: string;
    let all;
    try {
      const r = await ensureRevision(this.#kube, ds, revisions, {
        kind: "DaemonSet",
        template: ds.spec.template,
        collisionCount: ds.status?.collisionCount,
        hashLabel: REVISION_HASH_LABEL,
      });
      hash = r.hash;
      all = r.all;
    } catch (e) {
      if (!(e instanceof HashCollisionError)) throw e;
      await this.#kube.update(`${dsPath(ns, name)}/status`, {
        ...ds,
        status: { ...ds.status, collisionCount: (ds.status?.collisionCount ?? 0) + 1 },
      });
      throw e;
    }

    let pods = await this.#daemonPods(ds);
    await this.#manage(ds, nodes, pods, hash);
    if ((ds.spec.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate") {
      pods = await this.#daemonPods(ds);
      await this.#rollingUpdate(ds, nodes, pods, hash);
    }
    pods = await this.#daemonPods(ds);
    const inUse = new Set(pods.map((p) => p.metadata.labels?.[REVISION_HASH_LABEL]));
    inUse.add(hash);
    await pruneRevisions(
      this.#kube,
      all,
      ds.spec.revisionHistoryLimit ?? 10,
      (r) => inUse.has(r.metadata.labels?.[REVISION_HASH_LABEL]),
    );
    await this.#updateStatus(ds, nodes, pods, hash);
  }

  /** Pods by target node; `undefined` key for pods with no node at all. */
  #byNode(pods: Pod[]): Map<string, Pod[]> {
    const out = new Map<string, Pod[]>();
    for (const p of pods) {
      const n = targetNode(p) ?? "";
      out.set(n, [...(out.get(n) ?? []), p]);
    }
    return out;
  }

  #placement(ds: DaemonSet, node: Node) {
    const spec: PodSpec = {
      ...ds.spec.template.spec,
      tolerations: withDaemonTolerations(ds.spec.template.spec),
    };
    return nodeShouldRunPod(spec, node);
  }

  /** `manage`: create missing daemon pods, delete misplaced, failed and duplicate ones. */
  async #manage(ds: DaemonSet, nodes: Node[], pods: Pod[], hash: string): Promise<void> {
    const key = keyOf(ds);
    const byNode = this.#byNode(pods);
    const known = new Set(nodes.map((n) => n.metadata.name!));
    const toCreate: string[] = [];
    const toDelete: { pod: Pod; force: boolean }[] = [];
    const surge = scaledValue(ds.spec.updateStrategy?.rollingUpdate?.maxSurge, 1, true) > 0 &&
      (ds.spec.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate";
    const now = this.#now().getTime();
    for (const node of nodes) {
      const nodeName = node.metadata.name!;
      const { shouldRun, shouldContinueRunning } = this.#placement(ds, node);
      const here = byNode.get(nodeName) ?? [];
      if (shouldRun && here.length === 0) {
        const f = this.#failures.get(`${key}/${nodeName}`);
        if (f && f.until > now) {
          this.#queue.addAfter(key, f.until - now);
          continue;
        }
        toCreate.push(nodeName);
      } else if (shouldContinueRunning && here.length) {
        const running: Pod[] = [];
        for (const p of here) {
          if (p.metadata.deletionTimestamp) continue;
          if (p.status?.phase === "Failed") {
            // Replaced after a back-off, so a pod failing at once does not spin.
            const fk = `${key}/${nodeName}`;
            const count = (this.#failures.get(fk)?.count ?? 0) + 1;
            const delay = Math.min(
              this.#opts.failedPodBackoffMaxMs,
              this.#opts.failedPodBackoffMs * 2 ** (count - 1),
            );
            this.#failures.set(fk, { count, until: now + delay });
            log.info("daemon pod failed, replacing it", { ds: key, pod: p.metadata.name });
            toDelete.push({ pod: p, force: false });
            continue;
          }
          running.push(p);
        }
        // Without surge only one pod per node: keep the oldest. With surge the rolling update
        // removes the old one once the new one is available.
        if (!surge && running.length > 1) {
          for (const p of running.slice(1)) toDelete.push({ pod: p, force: false });
        } else if (surge && running.length > 1) {
          const fresh = running.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === hash);
          const old = running.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] !== hash);
          for (const p of fresh.slice(1)) toDelete.push({ pod: p, force: false });
          if (!fresh.length) {
            for (const p of old.slice(1)) toDelete.push({ pod: p, force: false });
          }
        }
      } else if (here.length) {
        for (const p of here) {
          if (!p.metadata.deletionTimestamp) toDelete.push({ pod: p, force: false });
        }
      }
    }
    for (const [nodeName, here] of byNode) {
      if (known.has(nodeName)) continue;
      // The node is gone (or the pod names none): what the pod GC does, at once.
      for (const p of here) toDelete.push({ pod: p, force: true });
    }
    await this.#syncNodes(ds, toDelete, toCreate, hash);
  }

  async #syncNodes(
    ds: DaemonSet,
    toDelete: { pod: Pod; force: boolean }[],
    toCreate: string[],
    hash: string,
  ): Promise<void> {
    const ns = ds.metadata.namespace!;
    for (const nodeName of toCreate) {
      const pod = await this.#kube.create<Pod>(podsPath(ns), this.#newPod(ds, nodeName, hash));
      await this.#events.record(
        EventRecorder.subject(ds, "DaemonSet", "apps/v1"),
        "Normal",
        "SuccessfulCreate",
        `Created pod: ${pod.metadata.name}`,
      );
    }
    for (const { pod, force } of toDelete) {
      try {
        await this.#kube.delete(
          podsPath(ns, pod.metadata.name),
          force ? { gracePeriodSeconds: 0 } : undefined,
        );
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  #newPod(ds: DaemonSet, nodeName: string, hash: string): Pod {
    const t = structuredClone(ds.spec.template);
    const spec: PodSpec = t.spec;
    spec.tolerations = withDaemonTolerations(spec);
    const affinity = spec.affinity ?? {};
    const nodeAffinity = affinity.nodeAffinity ?? {};
    nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
      ...(nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution ?? {}),
      nodeSelectorTerms: [{
        matchFields: [{ key: "metadata.name", operator: "In", values: [nodeName] }],
      }],
    };
    affinity.nodeAffinity = nodeAffinity;
    spec.affinity = affinity;
    // Deviation (module docs): bound here, not by a scheduler.
    spec.nodeName = nodeName;
    return {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        generateName: `${ds.metadata.name}-`,
        namespace: ds.metadata.namespace,
        labels: {
          ...(t.metadata?.labels ?? {}),
          [REVISION_HASH_LABEL]: hash,
          [TEMPLATE_GENERATION_LABEL]: String(ds.metadata.generation ?? 1),
        },
        ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}),
        ownerReferences: [ownerRefTo(ds, "apps/v1", "DaemonSet")],
      },
      spec,
    };
  }

  /** `rollingUpdate`: delete old pods within the `maxUnavailable` budget (or surge new ones). */
  async #rollingUpdate(ds: DaemonSet, nodes: Node[], pods: Pod[], hash: string): Promise<void> {
    const byNode = this.#byNode(pods);
    const minReady = ds.spec.minReadySeconds ?? 0;
    const now = this.#now();
    const eligible = nodes.filter((n) => this.#placement(ds, n).shouldContinueRunning);
    const desired = nodes.filter((n) => this.#placement(ds, n).shouldRun).length;
    const ru = ds.spec.updateStrategy?.rollingUpdate ?? {};
    const maxSurge = scaledValue(ru.maxSurge, desired, true);
    let maxUnavailable = maxSurge === 0 ? scaledValue(ru.maxUnavailable, desired, true) : 0;
    if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
    const available = (p: Pod) => {
      const a = podAvailability(p, minReady, now);
      if (a.inMs !== undefined) this.#queue.addAfter(keyOf(ds), a.inMs);
      return a.available;
    };
    const toDelete: Pod[] = [];
    const toCreate: string[] = [];
    if (maxSurge === 0) {
      let unavailable = 0;
      const allowed: Pod[] = [];
      const candidates: Pod[] = [];
      for (const node of eligible) {
        const live = (byNode.get(node.metadata.name!) ?? []).filter((p) =>
          !p.metadata.deletionTimestamp
        );
        const fresh = live.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === hash);
        const old = live.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] !== hash);
        if (live.length > 1 || (fresh.length === 0 && old.length === 0)) {
          unavailable++;
        } else if (fresh.length) {
          if (!available(fresh[0])) unavailable++;
        } else if (!available(old[0])) {
          allowed.push(old[0]);
        } else if (unavailable < maxUnavailable) {
          candidates.push(old[0]);
        }
      }
      const budget = Math.min(Math.max(0, maxUnavailable - unavailable), candidates.length);
      toDelete.push(...allowed, ...candidates.slice(0, budget));
    } else {
      // Surge: a new pod beside each old one (within maxSurge); the old one goes once the new
      // one is available.
      let surging = 0;
      const wantSurge: string[] = [];
      for (const node of eligible) {
        const live = (byNode.get(node.metadata.name!) ?? []).filter((p) =>
          !p.metadata.deletionTimestamp
        );
        const fresh = live.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === hash);
        const old = live.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] !== hash);
        if (!old.length) continue;
        if (!fresh.length) {
          if (!available(old[0])) toDelete.push(old[0]);
          else wantSurge.push(node.metadata.name!);
        } else {
          surging++;
          if (available(fresh[0])) toDelete.push(...old);
        }
      }
      toCreate.push(...wantSurge.slice(0, Math.max(0, maxSurge - surging)));
    }
    await this.#syncNodes(ds, toDelete.map((pod) => ({ pod, force: false })), toCreate, hash);
  }

  async #updateStatus(ds: DaemonSet, nodes: Node[], pods: Pod[], hash: string): Promise<void> {
    const byNode = this.#byNode(pods);
    const minReady = ds.spec.minReadySeconds ?? 0;
    const now = this.#now();
    let desired = 0, current = 0, misscheduled = 0, ready = 0, available = 0, updated = 0;
    for (const node of nodes) {
      const { shouldRun } = this.#placement(ds, node);
      const here = (byNode.get(node.metadata.name!) ?? []).filter((p) =>
        !(p.metadata.deletionTimestamp && (p.status?.phase === "Failed" ||
          p.status?.phase === "Succeeded"))
      );
      if (shouldRun) {
        desired++;
        if (!here.length) continue;
        current++;
        // The newest pod counts when a surge put a second one on the node.
        const pod = [...here].sort(byCreation).at(-1)!;
        if (isPodReady(pod)) {
          ready++;
          const a = podAvailability(pod, minReady, now);
          if (a.available) available++;
          else if (a.inMs !== undefined) this.#queue.addAfter(keyOf(ds), a.inMs);
        }
        if (pod.metadata.labels?.[REVISION_HASH_LABEL] === hash) updated++;
      } else if (here.length) {
        misscheduled++;
      }
    }
    const status: DaemonSetStatus = {
      ...(ds.status ?? {}),
      currentNumberScheduled: current,
      numberMisscheduled: misscheduled,
      desiredNumberScheduled: desired,
      numberReady: ready,
      observedGeneration: ds.metadata.generation,
      updatedNumberScheduled: updated,
      numberAvailable: available,
      numberUnavailable: desired - available,
    };
    if (!status.numberUnavailable) delete status.numberUnavailable;
    if (jsonEqual(status, ds.status)) return;
    await this.#kube.update(`${dsPath(ds.metadata.namespace!, ds.metadata.name)}/status`, {
      ...ds,
      status,
    });
  }
}

/** Factory for CLUSTER_CONTROLLERS. */
export function daemonSetController(ctx: ClusterContext): ClusterController {
  return new DaemonSetController(ctx);
}
