/**
 * Node lifecycle (kube-controller-manager's node lifecycle and taint-eviction controllers): a node
 * is healthy while its Lease (`kube-node-lease/<node>`, `renewTime`) or its Ready condition's
 * `lastHeartbeatTime` is newer than the grace period (`apiServer.nodeMonitorGracePeriod`, 40 s).
 * Past it, every condition becomes `Unknown` (reason `NodeStatusUnknown`, "Kubelet stopped
 * posting node status."), the node gets the `node.kubernetes.io/unreachable` NoSchedule and
 * NoExecute taints, its pods' Ready condition turns False, and a `NodeNotReady` event is recorded.
 * A node reporting Ready=False gets the `not-ready` taints instead. When heartbeats come back the
 * taints go.
 *
 * Eviction follows the NoExecute taints as upstream: a pod that does not tolerate them is deleted
 * at once, one that tolerates them for `tolerationSeconds` (the API adds 300 s for not-ready and
 * unreachable, DefaultTolerationSeconds) after that long, one that tolerates them without a limit
 * stays. KubeEdge's edge autonomy keeps pods running on an offline edge anyway; see
 * docs/control-plane.md for what eviction means there and how to keep pods bound.
 */
import type { Informer, KubeClient, KubeObject } from "../../kube/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import { EventRecorder } from "./events.ts";
import { tolerates } from "./node_fit.ts";
import { type Condition, type Node, type Pod, rfc3339 } from "./pods.ts";
import type { ClusterContext, ClusterController } from "./types.ts";

const log = createLogger("node-lifecycle");

export const UNREACHABLE = "node.kubernetes.io/unreachable";
export const NOT_READY = "node.kubernetes.io/not-ready";
/** How often node health is checked (kube-controller-manager: 5 s). */
const MONITOR_MS = 5_000;

interface Lease extends KubeObject {
  spec?: { renewTime?: string; holderIdentity?: string };
}

type Health = "ready" | "notready" | "unknown";

/** See module docs. */
export class NodeLifecycle implements ClusterController {
  readonly name = "node-lifecycle";
  readonly #kube: KubeClient;
  readonly #nodes: Informer<Node>;
  readonly #leases: Informer<Lease>;
  readonly #pods: Informer<Pod>;
  readonly #events: EventRecorder;
  /** When a node was first seen (a new node gets the grace period from then). */
  readonly #firstSeen = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<void> | undefined;

  constructor(readonly ctx: ClusterContext, readonly monitorMs = MONITOR_MS) {
    this.#kube = ctx.kube;
    this.#events = new EventRecorder(ctx.kube, "node-controller", ctx.now);
    this.#nodes = ctx.kube.informer<Node>("/api/v1/nodes", undefined, {
      kind: "Node",
      apiVersion: "v1",
    });
    this.#leases = ctx.kube.informer<Lease>(
      "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
      undefined,
      {
        kind: "Lease",
        apiVersion: "coordination.k8s.io/v1",
      },
    );
    this.#pods = ctx.kube.informer<Pod>("/api/v1/pods", undefined, {
      kind: "Pod",
      apiVersion: "v1",
    });
  }

  async start(): Promise<void> {
    this.#nodes.start();
    this.#leases.start();
    this.#pods.start();
    await Promise.all([this.#nodes.synced, this.#leases.synced, this.#pods.synced]);
    this.#timer = setInterval(() => {
      this.#running ??= this.monitor().catch((e) =>
        log.warn("node monitor pass failed", { error: (e as Error).message })
      ).finally(() => this.#running = undefined);
    }, this.monitorMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
    await Promise.all([this.#nodes.stop(), this.#leases.stop(), this.#pods.stop()]);
  }

  #lastHeartbeat(n: Node): number {
    const name = n.metadata.name ?? "";
    const lease = this.#leases.get(name, "kube-node-lease");
    const renew = Date.parse(lease?.spec?.renewTime ?? "") || 0;
    const ready = n.status?.conditions?.find((c) => c.type === "Ready");
    const beat = Date.parse(String(ready?.lastHeartbeatTime ?? "")) || 0;
    if (!this.#firstSeen.has(name)) this.#firstSeen.set(name, this.ctx.now().getTime());
    return Math.max(renew, beat, this.#firstSeen.get(name)!);
  }

  #health(n: Node): Health {
    const now = this.ctx.now().getTime();
    if (now - this.#lastHeartbeat(n) > this.ctx.nodeMonitorGracePeriodMs) return "unknown";
    const ready = n.status?.conditions?.find((c) => c.type === "Ready");
    if (ready?.status === "True") return "ready";
    if (ready?.status === "Unknown") return "unknown";
    return ready ? "notready" : "ready";
  }

  /** One pass over every node (exposed for tests). */
  async monitor(): Promise<void> {
    for (const n of this.#nodes.list()) {
      const name = n.metadata.name ?? "";
      const health = this.#health(n);
      const ready = n.status?.conditions?.find((c) => c.type === "Ready");
      if (health === "unknown" && ready?.status !== "Unknown") await this.#markUnknown(n);
      await this.#syncTaints(n, health);
      if (health !== "ready") await this.#evict(name, n);
    }
  }

  async #markUnknown(n: Node): Promise<void> {
    const name = n.metadata.name ?? "";
    const now = rfc3339(this.ctx.now());
    const conditions = (n.status?.conditions ?? []).map((c: Condition) => ({
      ...c,
      status: "Unknown",
      reason: "NodeStatusUnknown",
      message: "Kubelet stopped posting node status.",
      lastTransitionTime: now,
    }));
    await this.#kube.patch(
      `/api/v1/nodes/${encodeURIComponent(name)}/status`,
      { status: { conditions } },
      "application/strategic-merge-patch+json",
    );
    log.info("node stopped posting status", { node: name });
    await this.#events.record(
      { kind: "Node", apiVersion: "v1", name, uid: n.metadata.uid },
      "Normal",
      "NodeNotReady",
      `Node ${name} status is now: NodeNotReady`,
    );
    // MarkPodsNotReady: the node's pods are not Ready while nobody hears from it.
    for (const p of this.#pods.list().filter((p) => p.spec.nodeName === name)) {
      const conds = p.status?.conditions ?? [];
      if (!conds.some((c) => c.type === "Ready" && c.status === "True")) continue;
      const next = conds.map((c) =>
        c.type === "Ready" || c.type === "ContainersReady"
          ? { ...c, status: "False", lastTransitionTime: now }
          : c
      );
      await this.#kube.patch(
        `/api/v1/namespaces/${encodeURIComponent(p.metadata.namespace ?? "")}/pods/${
          encodeURIComponent(p.metadata.name ?? "")
        }/status`,
        { status: { conditions: next } },
        "application/merge-patch+json",
      ).catch((e) => log.debug("pod not marked not ready", { error: (e as Error).message }));
    }
  }

  async #syncTaints(n: Node, health: Health): Promise<void> {
    const want = health === "unknown" ? UNREACHABLE : health === "notready" ? NOT_READY : "";
    const taints = n.spec?.taints ?? [];
    const others = taints.filter((t) => t.key !== UNREACHABLE && t.key !== NOT_READY);
    const keep = taints.filter((t) => t.key === want);
    const next = want
      ? [
        ...others,
        ...["NoSchedule", "NoExecute"].map((effect) =>
          keep.find((t) => t.effect === effect) ??
            { key: want, effect, timeAdded: rfc3339(this.ctx.now()) }
        ),
      ]
      : others;
    if (JSON.stringify(next) === JSON.stringify(taints)) return;
    await this.#kube.patch(
      `/api/v1/nodes/${encodeURIComponent(n.metadata.name ?? "")}`,
      { spec: { taints: next } },
      "application/merge-patch+json",
    ).catch((e) => log.debug("taints not written", { error: (e as Error).message }));
  }

  /** Taint-based eviction of the node's pods that do not tolerate its NoExecute taints. */
  async #evict(name: string, n: Node): Promise<void> {
    const noExecute = (n.spec?.taints ?? []).filter((t) => t.effect === "NoExecute");
    if (!noExecute.length) return;
    const now = this.ctx.now().getTime();
    for (const p of this.#pods.list().filter((p) => p.spec.nodeName === name)) {
      if (p.metadata.deletionTimestamp) continue;
      let deadline = Infinity;
      let evict = false;
      for (const taint of noExecute) {
        const tol = (p.spec.tolerations ?? []).find((t) => tolerates(t, taint));
        if (!tol) {
          evict = true;
          break;
        }
        if (typeof tol.tolerationSeconds === "number") {
          const added = Date.parse(String((taint as { timeAdded?: string }).timeAdded ?? "")) ||
            now;
          deadline = Math.min(deadline, added + tol.tolerationSeconds * 1000);
        }
      }
      if (!evict && deadline > now) continue;
      log.info("evicting pod from unhealthy node", { node: name, pod: p.metadata.name });
      await this.#events.record(
        {
          kind: "Pod",
          apiVersion: "v1",
          namespace: p.metadata.namespace,
          name: p.metadata.name ?? "",
          uid: p.metadata.uid,
        },
        "Normal",
        "TaintManagerEviction",
        `Marking for deletion Pod ${p.metadata.namespace}/${p.metadata.name}`,
      );
      await this.#kube.delete(
        `/api/v1/namespaces/${encodeURIComponent(p.metadata.namespace ?? "")}/pods/${
          encodeURIComponent(p.metadata.name ?? "")
        }`,
      ).catch((e) => log.debug("eviction failed", { error: (e as Error).message }));
    }
  }
}

/** The factory CLUSTER_CONTROLLERS lists. */
export function nodeLifecycle(ctx: ClusterContext): ClusterController {
  return new NodeLifecycle(ctx);
}
