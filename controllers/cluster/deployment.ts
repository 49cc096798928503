/**
 * The Deployment controller (kube-controller-manager's `pkg/controller/deployment`): one
 * ReplicaSet per pod template (`<deployment>-<pod-template-hash>`, the hash also a label of its
 * selector and pods), rolled out by strategy:
 *
 * - RollingUpdate: the new set grows while all sets together stay within `replicas + maxSurge`,
 *   old sets shrink (oldest first, unhealthy pods first) while `replicas - maxUnavailable` stay
 *   available (percentages of replicas: surge rounded up, unavailable down; both 0 means 1);
 * - Recreate: old sets go to 0 and their pods away before the new set scales up.
 *
 * Revisions live in `deployment.kubernetes.io/revision` on the sets (a template seen before
 * takes the next revision, which is how `kubectl rollout undo` rolls back); sets beyond
 * `revisionHistoryLimit` with no replicas are deleted; `spec.paused` stops the rollout but not
 * scaling. Status and the `Available` / `Progressing` conditions carry the reasons
 * `kubectl rollout status` reads (NewReplicaSetCreated, ReplicaSetUpdated,
 * NewReplicaSetAvailable, MinimumReplicasAvailable, ...). Events: `ScalingReplicaSet`.
 */
import type { Informer, KubeClient, KubeObject } from "../../kube/mod.ts";
import { createLogger, type LabelSelector } from "../../lib/mod.ts";
import { scaledValue } from "./daemonset.ts";
import { EventRecorder } from "./events.ts";
import {
  byCreation,
  controllerRef,
  isControlledBy,
  keyOf,
  type Meta,
  ownerRefTo,
  type PodTemplate,
  rfc3339,
  splitKey,
} from "./pods.ts";
import { type ReplicaSet, rsPath } from "./replicaset.ts";
import type { ClusterContext, ClusterController } from "./types.ts";
import { WorkQueue } from "./workqueue.ts";

const log = createLogger("deployment-controller");

export const REVISION = "deployment.kubernetes.io/revision";
export const DESIRED = "deployment.kubernetes.io/desired-replicas";
export const MAX_REPLICAS = "deployment.kubernetes.io/max-replicas";
export const HASH_LABEL = "pod-template-hash";

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

/** A Deployment. */
export interface Deployment extends KubeObject {
  metadata: Meta;
  spec: {
    replicas?: number;
    selector?: LabelSelector;
    template: PodTemplate;
    strategy?: {
      type?: string;
      rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string };
    };
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
    paused?: boolean;
    progressDeadlineSeconds?: number;
  };
  status?: { conditions?: Condition[]; [k: string]: unknown };
}

function depPath(ns: string, name?: string): string {
  return `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/deployments${
    name ? `/${encodeURIComponent(name)}` : ""
  }`;
}

/** JSON with sorted keys (a stable input for the template hash). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${
      Object.keys(v).sort().map((k) =>
        `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`
      ).join(",")
    }}`;
  }
  return JSON.stringify(v);
}

/** The pod-template-hash: FNV-1a of the template, in Kubernetes' "safe" alphabet. */
export function templateHash(t: PodTemplate, collisionCount = 0): string {
  let h = 0x811c9dc5;
  for (const c of canonical(t) + (collisionCount ? String(collisionCount) : "")) {
    h ^= c.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  let out = "";
  for (const ch of String(h)) out += alphabet[Number(ch) % alphabet.length];
  return out;
}

/** The template without the hash label, for comparing a set's template with the deployment's. */
function withoutHash(t: PodTemplate): PodTemplate {
  const labels = { ...(t.metadata?.labels ?? {}) };
  delete labels[HASH_LABEL];
  return { ...t, metadata: { ...t.metadata, labels } };
}

function revisionOf(rs: ReplicaSet): number {
  return Number(rs.metadata.annotations?.[REVISION] ?? 0) || 0;
}

function replicas(rs: ReplicaSet): number {
  return rs.spec.replicas ?? 0;
}

/** See module docs. */
export class DeploymentController implements ClusterController {
  readonly name = "deployment-controller";
  readonly #kube: KubeClient;
  readonly #deps: Informer<Deployment>;
  readonly #sets: Informer<ReplicaSet>;
  readonly #queue: WorkQueue;
  readonly #events: EventRecorder;

  constructor(readonly ctx: ClusterContext) {
    this.#kube = ctx.kube;
    this.#events = new EventRecorder(ctx.kube, "deployment-controller", ctx.now);
    this.#queue = new WorkQueue("deployment", (key) => this.#sync(key));
    this.#deps = ctx.kube.informer<Deployment>("/apis/apps/v1/deployments", undefined, {
      kind: "Deployment",
      apiVersion: "apps/v1",
    });
    this.#sets = ctx.kube.informer<ReplicaSet>("/apis/apps/v1/replicasets", undefined, {
      kind: "ReplicaSet",
      apiVersion: "apps/v1",
    });
    const enqueue = (d: Deployment) => this.#queue.add(keyOf(d));
    this.#deps.on({ add: enqueue, update: enqueue, delete: enqueue });
    const onSet = (rs: ReplicaSet) => {
      const ref = controllerRef(rs);
      if (ref?.kind === "Deployment") this.#queue.add(`${rs.metadata.namespace}/${ref.name}`);
    };
    this.#sets.on({ add: onSet, update: onSet, delete: onSet });
  }

  async start(): Promise<void> {
    this.#deps.start();
    this.#sets.start();
    await Promise.all([this.#deps.synced, this.#sets.synced]);
    this.#queue.start();
  }

  async stop(): Promise<void> {
    await this.#queue.stop();
    await Promise.all([this.#deps.stop(), this.#sets.stop()]);
  }

  async #sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    let d: Deployment;
    try {
      d = await this.#kube.get<Deployment>(depPath(ns, name));
    } catch {
      return;
    }
    if (d.metadata.deletionTimestamp) return;
    const list = await this.#kube.get<{ items: ReplicaSet[] }>(rsPath(ns));
    const sets = list.items.filter((rs) => isControlledBy(rs, d.metadata.uid)).sort(byCreation);
    const want = withoutHash(d.spec.template);
    let newRS = sets.find((rs) => canonical(withoutHash(rs.spec.template)) === canonical(want));
    const old = sets.filter((rs) => rs !== newRS);
    const maxRevision = Math.max(0, ...old.map(revisionOf));
    let created = false;
    if (!d.spec.paused) {
      if (!newRS) {
        newRS = await this.#createRS(d, maxRevision + 1, old);
        created = true;
      } else if (revisionOf(newRS) <= maxRevision) {
        // A template seen before (a rollback): it becomes the newest revision.
        newRS = await this.#setRS(newRS, { annotations: { [REVISION]: String(maxRevision + 1) } });
      }
    }
    const desired = d.spec.replicas ?? 1;
    if (newRS && !d.spec.paused) {
      if ((d.spec.strategy?.type ?? "RollingUpdate") === "Recreate") {
        await this.#recreate(d, newRS, old, desired);
      } else await this.#rolling(d, newRS, old, desired);
    } else if (d.spec.paused) {
      // Paused: scale proportionally is upstream's; here the newest set takes the difference.
      const active = newRS ?? old.at(-1);
      const total = sets.reduce((n, rs) => n + replicas(rs), 0);
      if (active && total !== desired) {
        await this.#scale(d, active, Math.max(0, replicas(active) + desired - total));
      }
    }
    await this.#cleanup(d, old);
    await this.#status(d, newRS, old, created);
  }

  async #createRS(d: Deployment, revision: number, old: ReplicaSet[]): Promise<ReplicaSet> {
    const hash = templateHash(withoutHash(d.spec.template));
    const labels = { ...(d.spec.template.metadata?.labels ?? {}), [HASH_LABEL]: hash };
    const selector = {
      ...(d.spec.selector ?? {}),
      matchLabels: { ...(d.spec.selector?.matchLabels ?? {}), [HASH_LABEL]: hash },
    };
    const desired = d.spec.replicas ?? 1;
    const surge = scaledValue(d.spec.strategy?.rollingUpdate?.maxSurge, desired, true);
    // With nothing old to replace, the new set starts at full size.
    const start = old.some((rs) => replicas(rs) > 0) ? 0 : desired;
    const rs = await this.#kube.create<ReplicaSet>(rsPath(d.metadata.namespace ?? ""), {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels,
        annotations: {
          ...(d.metadata.annotations ?? {}),
          [REVISION]: String(revision),
          [DESIRED]: String(desired),
          [MAX_REPLICAS]: String(desired + surge),
        },
        ownerReferences: [ownerRefTo(d, "apps/v1", "Deployment")],
      },
      spec: {
        replicas: start,
        minReadySeconds: d.spec.minReadySeconds ?? 0,
        selector,
        template: { ...d.spec.template, metadata: { ...d.spec.template.metadata, labels } },
      },
    });
    if (start > 0) await this.#scaledEvent(d, rs, 0, start);
    return rs;
  }

  async #setRS(
    rs: ReplicaSet,
    meta: { annotations: Record<string, string> },
    replicasTo?: number,
  ): Promise<ReplicaSet> {
    const patch: Record<string, unknown> = { metadata: meta };
    if (replicasTo !== undefined) patch.spec = { replicas: replicasTo };
    return await this.#kube.patch<ReplicaSet>(
      rsPath(rs.metadata.namespace ?? "", rs.metadata.name),
      patch,
      "application/merge-patch+json",
    );
  }

  async #scale(d: Deployment, rs: ReplicaSet, to: number): Promise<ReplicaSet> {
    const from = replicas(rs);
    if (from === to) return rs;
    const desired = d.spec.replicas ?? 1;
    const surge = scaledValue(d.spec.strategy?.rollingUpdate?.maxSurge, desired, true);
    const next = await this.#setRS(rs, {
      annotations: { [DESIRED]: String(desired), [MAX_REPLICAS]: String(desired + surge) },
    }, to);
    await this.#scaledEvent(d, rs, from, to);
    return next;
  }

  async #scaledEvent(d: Deployment, rs: ReplicaSet, from: number, to: number): Promise<void> {
    const msg = to > from
      ? `Scaled up replica set ${rs.metadata.name} from ${from} to ${to}`
      : `Scaled down replica set ${rs.metadata.name} from ${from} to ${to}`;
    await this.#events.record(
      EventRecorder.subject(d, "Deployment", "apps/v1"),
      "Normal",
      "ScalingReplicaSet",
      msg,
    );
  }

  async #recreate(
    d: Deployment,
    newRS: ReplicaSet,
    old: ReplicaSet[],
    desired: number,
  ): Promise<void> {
    for (const rs of old) if (replicas(rs) > 0) await this.#scale(d, rs, 0);
    if (old.some((rs) => (rs.status?.replicas ?? 0) > 0)) return; // wait for the old pods to go
    await this.#scale(d, newRS, desired);
  }

  async #rolling(
    d: Deployment,
    newRS: ReplicaSet,
    old: ReplicaSet[],
    desired: number,
  ): Promise<void> {
    const ru = d.spec.strategy?.rollingUpdate ?? {};
    const maxSurge = scaledValue(ru.maxSurge ?? "25%", desired, true);
    let maxUnavailable = scaledValue(ru.maxUnavailable ?? "25%", desired, false);
    if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
    // Scale up the new set within the surge.
    const all = [newRS, ...old];
    const total = all.reduce((n, rs) => n + replicas(rs), 0);
    if (replicas(newRS) > desired) newRS = await this.#scale(d, newRS, desired);
    else if (replicas(newRS) < desired) {
      const up = Math.min(desired + maxSurge - total, desired - replicas(newRS));
      if (up > 0) newRS = await this.#scale(d, newRS, replicas(newRS) + up);
    }
    // Scale down old sets while enough stay available.
    const allCount = [newRS, ...old].reduce((n, rs) => n + replicas(rs), 0);
    const minAvailable = desired - maxUnavailable;
    const newUnavailable = replicas(newRS) - (newRS.status?.availableReplicas ?? 0);
    let budget = allCount - minAvailable - newUnavailable;
    if (budget <= 0) return;
    const oldest = [...old].filter((rs) => replicas(rs) > 0).sort(byCreation);
    // First the old sets' unhealthy pods (they count for nothing).
    for (const rs of oldest) {
      if (budget <= 0) break;
      const unhealthy = replicas(rs) - (rs.status?.availableReplicas ?? 0);
      const cut = Math.min(unhealthy, budget);
      if (cut > 0) {
        await this.#scale(d, rs, replicas(rs) - cut);
        rs.spec.replicas = replicas(rs) - cut;
        budget -= cut;
      }
    }
    // Then available ones, keeping minAvailable across all sets.
    const available = [newRS, ...old].reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0);
    let down = Math.min(budget, available - minAvailable);
    for (const rs of oldest) {
      if (down <= 0) break;
      const cut = Math.min(replicas(rs), down);
      if (cut > 0) {
        await this.#scale(d, rs, replicas(rs) - cut);
        down -= cut;
      }
    }
  }

  async #cleanup(d: Deployment, old: ReplicaSet[]): Promise<void> {
    const limit = d.spec.revisionHistoryLimit ?? 10;
    const idle = old.filter((rs) => replicas(rs) === 0 && (rs.status?.replicas ?? 0) === 0)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      await this.#kube.delete(rsPath(rs.metadata.namespace ?? "", rs.metadata.name)).catch(
        () => {},
      );
    }
  }

  async #status(
    d: Deployment,
    newRS: ReplicaSet | undefined,
    old: ReplicaSet[],
    created: boolean,
  ): Promise<void> {
    const fresh = (rs: ReplicaSet) =>
      this.#sets.get(rs.metadata.name ?? "", rs.metadata.namespace) ?? rs;
    const all = [...(newRS ? [fresh(newRS)] : []), ...old.map(fresh)];
    const sum = (f: (rs: ReplicaSet) => number) => all.reduce((n, rs) => n + f(rs), 0);
    const desired = d.spec.replicas ?? 1;
    const maxUnavailable = scaledValue(
      d.spec.strategy?.rollingUpdate?.maxUnavailable ?? "25%",
      desired,
      false,
    );
    const status = {
      observedGeneration: d.metadata.generation ?? 1,
      replicas: sum((rs) => rs.status?.replicas ?? 0),
      updatedReplicas: newRS ? fresh(newRS).status?.replicas ?? 0 : 0,
      readyReplicas: sum((rs) => rs.status?.readyReplicas ?? 0),
      availableReplicas: sum((rs) => rs.status?.availableReplicas ?? 0),
      unavailableReplicas: Math.max(
        0,
        sum(replicas) - sum((rs) => rs.status?.availableReplicas ?? 0),
      ),
    };
    const now = rfc3339(this.ctx.now());
    const conds = [...(d.status?.conditions ?? [])];
    const set = (c: Omit<Condition, "lastUpdateTime" | "lastTransitionTime">) => {
      const i = conds.findIndex((x) => x.type === c.type);
      const prev = conds[i];
      const same = prev && prev.status === c.status && prev.reason === c.reason &&
        prev.message === c.message;
      if (same) return;
      const next = {
        ...c,
        lastUpdateTime: now,
        lastTransitionTime: prev?.status === c.status ? prev.lastTransitionTime : now,
      };
      if (i >= 0) conds[i] = next;
      else conds.push(next);
    };
    const minAvailable = (d.spec.strategy?.type ?? "RollingUpdate") === "Recreate"
      ? desired
      : desired - maxUnavailable;
    set(
      status.availableReplicas >= minAvailable
        ? {
          type: "Available",
          status: "True",
          reason: "MinimumReplicasAvailable",
          message: "Deployment has minimum availability.",
        }
        : {
          type: "Available",
          status: "False",
          reason: "MinimumReplicasUnavailable",
          message: "Deployment does not have minimum availability.",
        },
    );
    const rsName = newRS?.metadata.name ?? "";
    const complete = !!newRS && status.updatedReplicas === desired && status.replicas === desired &&
      status.availableReplicas >= desired;
    if (d.spec.paused) {
      set({
        type: "Progressing",
        status: "Unknown",
        reason: "DeploymentPaused",
        message: "Deployment is paused",
      });
    } else if (complete) {
      set({
        type: "Progressing",
        status: "True",
        reason: "NewReplicaSetAvailable",
        message: `ReplicaSet "${rsName}" has successfully progressed.`,
      });
    } else if (created) {
      set({
        type: "Progressing",
        status: "True",
        reason: "NewReplicaSetCreated",
        message: `Created new replica set "${rsName}"`,
      });
    } else if (newRS) {
      const prev = conds.find((c) => c.type === "Progressing");
      if (!prev || prev.reason !== "NewReplicaSetCreated" || status.updatedReplicas > 0) {
        set({
          type: "Progressing",
          status: "True",
          reason: "ReplicaSetUpdated",
          message: `ReplicaSet "${rsName}" is progressing.`,
        });
      }
    }
    const cur = d.status ?? {};
    const unchanged = Object.entries(status).every(([k, v]) => cur[k] === v) &&
      JSON.stringify(cur.conditions ?? []) === JSON.stringify(conds);
    if (unchanged) return;
    await this.#kube.patch(`${depPath(d.metadata.namespace ?? "", d.metadata.name)}/status`, {
      status: { ...status, conditions: conds },
    }, "application/merge-patch+json")
      .catch((e) => log.debug("deployment status not written", { error: (e as Error).message }));
  }
}

/** The factory CLUSTER_CONTROLLERS lists. */
export function deploymentController(ctx: ClusterContext): ClusterController {
  return new DeploymentController(ctx);
}
