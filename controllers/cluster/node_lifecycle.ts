/**
 * Node lifecycle (kube-controller-manager's node lifecycle controller, pkg/controller/nodelifecycle
 * in 1.32). Every monitor period it checks each node's health as `tryUpdateNodeHealth` does: the
 * node is heard from when its Ready condition's `lastHeartbeatTime` or its Lease's
 * (`kube-node-lease/<node>`) `renewTime` changes, timed by this controller's clock (so an edge
 * with a skewed clock is judged fairly). Not heard from for the grace period
 * (`apiServer.nodeMonitorGracePeriod`, 40 s; 60 s for a node that never posted status) turns
 * Ready, MemoryPressure, DiskPressure and PIDPressure `Unknown` ("Kubelet stopped posting node
 * status."); on Ready leaving True the `NodeNotReady` event is recorded and the node's pods are
 * marked not Ready (`MarkPodsNotReady`, with a `NodeNotReady` event per pod).
 *
 * Taints, as upstream:
 * - NoSchedule, from conditions (`doNoScheduleTaintingPass`): Ready False/Unknown gives
 *   `node.kubernetes.io/not-ready` / `unreachable`, pressure conditions theirs, and
 *   `spec.unschedulable` gives `node.kubernetes.io/unschedulable`;
 * - NoExecute `not-ready` / `unreachable` (`doNoExecuteTaintingPass`), through a rate-limited
 *   queue per zone (0.1 node/s); a zone where most nodes are down (partial disruption, in a
 *   cluster of at most 50 nodes) gets no new NoExecute taints, and when every zone is fully
 *   disrupted (no node Ready anywhere: the cloud has most likely lost the network, not the
 *   edges) all NoExecute taints are removed and none added until a node is back. The taints go
 *   when the node is Ready again.
 * Acting on the NoExecute taints is the taint eviction controller's job (taint_eviction.ts).
 */
import type { Informer, KubeClient, KubeObject } from "../../kube/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import { EventRecorder } from "./events.ts";
import { type Condition, type Node, type Pod, rfc3339 } from "./pods.ts";
import type { ClusterContext, ClusterController } from "./types.ts";
import { nodeInformer, podInformer } from "./core_informers.ts";

const log = createLogger("node-lifecycle");

export const UNREACHABLE = "node.kubernetes.io/unreachable";
export const NOT_READY = "node.kubernetes.io/not-ready";
const UNSCHEDULABLE = "node.kubernetes.io/unschedulable";
/** kube-controller-manager's `--node-monitor-period` (5 s), shortened for short grace periods. */
const MONITOR_MS = 5_000;
/** `--node-startup-grace-period`. */
const STARTUP_GRACE_MS = 60_000;
/** `--node-eviction-rate` (nodes per second per zone), `--large-cluster-size-threshold`. */
const EVICTION_QPS = 0.1;
const LARGE_CLUSTER = 50;
/** `--unhealthy-zone-threshold`. */
const UNHEALTHY_ZONE = 0.55;

const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: NOT_READY, Unknown: UNREACHABLE },
  MemoryPressure: { True: "node.kubernetes.io/memory-pressure" },
  DiskPressure: { True: "node.kubernetes.io/disk-pressure" },
  NetworkUnavailable: { True: "node.kubernetes.io/network-unavailable" },
  PIDPressure: { True: "node.kubernetes.io/pid-pressure" },
};
const CONDITION_TAINT_KEYS = new Set(
  Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m)),
);

interface Lease extends KubeObject {
  spec?: { renewTime?: string; holderIdentity?: string };
}

/** A node taint as the API stores it. */
export interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

type ZoneState = "Initial" | "Normal" | "PartialDisruption" | "FullDisruption";

/** What the controller last saw of a node (`nodeHealthData`). */
interface Health {
  heartbeat?: string;
  transition?: string;
  renew?: string;
  probe: number;
}

/** Token bucket with burst 1 (flowcontrol's rate limiter of the zone's tainting queue). */
class ZoneTainter {
  readonly queue = new Set<string>();
  #qps = EVICTION_QPS;
  #tokens = 1;
  #at = 0;
  swap(qps: number): void {
    this.#qps = qps;
    if (qps === 0) this.#tokens = 0;
  }
  tryAccept(now: number): boolean {
    if (this.#qps <= 0) return false;
    this.#tokens = Math.min(1, this.#tokens + (now - this.#at) / 1000 * this.#qps);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }
}

function condition(n: Node, type: string): Condition | undefined {
  return n.status?.conditions?.find((c) => c.type === type);
}

/** `nodetopology.GetZoneKey`. */
function zoneOf(n: Node): string {
  const l = n.metadata.labels ?? {};
  const region = l["topology.kubernetes.io/region"] ??
    l["failure-domain.beta.kubernetes.io/region"] ??
    "";
  const zone = l["topology.kubernetes.io/zone"] ?? l["failure-domain.beta.kubernetes.io/zone"] ??
    "";
  return region || zone ? `${region}:\u0000:${zone}` : "";
}

/** See module docs. */
export class NodeLifecycle implements ClusterController {
  readonly name = "node-lifecycle";
  readonly #kube: KubeClient;
  readonly #nodes: Informer<Node>;
  readonly #leases: Informer<Lease>;
  readonly #pods: Informer<Pod>;
  readonly #events: EventRecorder;
  readonly #health = new Map<string, Health>();
  readonly #known = new Map<string, Node>();
  readonly #zoneStates = new Map<string, ZoneState>();
  readonly #tainters = new Map<string, ZoneTainter>();
  readonly monitorMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(readonly ctx: ClusterContext, monitorMs?: number) {
    this.#kube = ctx.kube;
    this.monitorMs = monitorMs ??
      Math.min(MONITOR_MS, Math.max(100, Math.floor(ctx.nodeMonitorGracePeriodMs / 5)));
    this.#events = new EventRecorder(ctx.kube, "node-controller", ctx.now);
    this.#nodes = nodeInformer(ctx.kube);
    this.#leases = ctx.kube.informer<Lease>(
      "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
      undefined,
      { kind: "Lease", apiVersion: "coordination.k8s.io/v1" },
    );
    this.#pods = podInformer(ctx.kube);
  }

  async start(): Promise<void> {
    this.#nodes.start();
    this.#leases.start();
    this.#pods.start();
    await Promise.all([this.#nodes.synced, this.#leases.synced, this.#pods.synced]);
    const tick = () => {
      if (this.#stopped) return;
      this.#running = this.monitor().catch((e) =>
        log.warn("node monitor pass failed", { error: (e as Error).message })
      ).finally(() => {
        this.#running = undefined;
        if (!this.#stopped) this.#timer = setTimeout(tick, this.monitorMs);
      });
    };
    this.#timer = setTimeout(tick, this.monitorMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    await Promise.all([this.#nodes.stop(), this.#leases.stop(), this.#pods.stop()]);
  }

  /** One `monitorNodeHealth` pass, then the tainting passes (exposed for tests). */
  async monitor(): Promise<void> {
    const nodes = this.#nodes.list();
    await this.#classify(nodes);
    const zoneConditions = new Map<string, (Condition | undefined)[]>();
    const podsByNode = new Map<string, Pod[]>();
    for (const p of this.#pods.list()) {
      const on = p.spec.nodeName;
      if (!on) continue;
      const list = podsByNode.get(on);
      if (list) list.push(p);
      else podsByNode.set(on, [p]);
    }
    for (const node of nodes) {
      const name = node.metadata.name ?? "";
      let observed: Condition | undefined, current: Condition | undefined;
      try {
        ({ observed, current } = await this.#tryUpdateNodeHealth(node));
      } catch (e) {
        log.warn("node health not updated; no pods evicted", {
          node: name,
          error: (e as Error).message,
        });
        continue;
      }
      if (!("node.kubernetes.io/exclude-disruption" in (node.metadata.labels ?? {}))) {
        const z = zoneOf(node);
        zoneConditions.set(z, [...zoneConditions.get(z) ?? [], current]);
      }
      if (!current) continue;
      await this.#processTaintBaseEviction(node, observed);
      if (current.status !== "True" && observed?.status === "True") {
        log.info("node not ready", { node: name, reason: current.reason });
        await this.#events.record(
          { kind: "Node", apiVersion: "v1", name, uid: node.metadata.uid },
          "Normal",
          "NodeNotReady",
          `Node ${name} status is now: NodeNotReady`,
        );
      }
      if (current.status !== "True") await this.#markPodsNotReady(podsByNode.get(name) ?? []);
    }
    await this.#handleDisruption(zoneConditions, nodes);
    await this.#noExecuteTaintingPass();
    for (const node of this.#nodes.list()) await this.#noScheduleTaintingPass(node);
  }

  async #classify(nodes: Node[]): Promise<void> {
    const seen = new Set<string>();
    for (const n of nodes) {
      const name = n.metadata.name ?? "";
      seen.add(name);
      if (this.#known.has(name)) continue;
      this.#known.set(name, n);
      await this.#events.record(
        { kind: "Node", apiVersion: "v1", name, uid: n.metadata.uid },
        "Normal",
        "RegisteredNode",
        `Registered Node ${name} in Controller`,
      );
      this.#tainter(zoneOf(n));
      await this.#markNodeAsReachable(n);
    }
    for (const [name, n] of this.#known) {
      if (seen.has(name)) continue;
      this.#known.delete(name);
      this.#health.delete(name);
      for (const t of this.#tainters.values()) t.queue.delete(name);
      await this.#events.record(
        { kind: "Node", apiVersion: "v1", name, uid: n.metadata.uid },
        "Normal",
        "RemovingNode",
        `Removing Node ${name} from Controller`,
      );
    }
  }

  #tainter(zone: string): ZoneTainter {
    let t = this.#tainters.get(zone);
    if (!t) {
      t = new ZoneTainter();
      this.#tainters.set(zone, t);
      this.#zoneStates.set(zone, "Initial");
    }
    return t;
  }

  /** `tryUpdateNodeHealth`: the Ready condition before and after this pass. */
  async #tryUpdateNodeHealth(
    node: Node,
  ): Promise<{ observed: Condition | undefined; current: Condition | undefined }> {
    const name = node.metadata.name ?? "";
    const now = this.ctx.now().getTime();
    const ready = condition(node, "Ready");
    const observed: Condition = ready
      ? { ...ready }
      : { type: "Ready", status: "Unknown", lastHeartbeatTime: node.metadata.creationTimestamp };
    const grace = ready ? this.ctx.nodeMonitorGracePeriodMs : STARTUP_GRACE_MS;
    const saved = this.#health.get(name);
    let health: Health;
    if (!saved) {
      const created = Date.parse(node.metadata.creationTimestamp ?? "");
      health = { probe: ready || Number.isNaN(created) ? now : created };
    } else if (String(saved.heartbeat) !== String(ready?.lastHeartbeatTime)) {
      health = { ...saved, probe: now };
    } else health = saved;
    health.heartbeat = ready?.lastHeartbeatTime;
    health.transition = ready?.lastTransitionTime;
    const lease = this.#leases.get(name, "kube-node-lease");
    const renew = lease?.spec?.renewTime;
    if (renew && (!saved?.renew || Date.parse(saved.renew) < Date.parse(renew))) {
      health.probe = now;
    }
    if (renew) health.renew = renew;
    this.#health.set(name, health);
    if (now <= health.probe + grace) return { observed, current: ready };

    // Not heard from for the grace period: Unknown, whatever it said before.
    const stamp = rfc3339(this.ctx.now());
    const conditions = [...(node.status?.conditions ?? [])].map((c) => ({ ...c }));
    for (const type of ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"]) {
      const c = conditions.find((c) => c.type === type);
      if (!c) {
        conditions.push({
          type,
          status: "Unknown",
          reason: "NodeStatusNeverUpdated",
          message: "Kubelet never posted node status.",
          lastHeartbeatTime: node.metadata.creationTimestamp,
          lastTransitionTime: stamp,
        });
      } else if (c.status !== "Unknown") {
        Object.assign(c, {
          status: "Unknown",
          reason: "NodeStatusUnknown",
          message: "Kubelet stopped posting node status.",
          lastTransitionTime: stamp,
        });
      }
    }
    const current = conditions.find((c) => c.type === "Ready")!;
    if (JSON.stringify(current) === JSON.stringify(ready)) return { observed, current };
    await this.#kube.patch(
      `/api/v1/nodes/${encodeURIComponent(name)}/status`,
      { metadata: { resourceVersion: node.metadata.resourceVersion }, status: { conditions } },
      "application/merge-patch+json",
    );
    log.info("node stopped posting status", { node: name });
    return { observed, current };
  }

  /** `processTaintBaseEviction`. */
  async #processTaintBaseEviction(node: Node, observed: Condition | undefined): Promise<void> {
    const name = node.metadata.name ?? "";
    const taints: Taint[] = node.spec?.taints ?? [];
    const has = (key: string) => taints.some((t) => t.key === key && t.effect === "NoExecute");
    switch (observed?.status) {
      case "False":
        if (has(UNREACHABLE)) await this.#swap(node, [NOT_READY], [UNREACHABLE], "NoExecute");
        else this.#tainter(zoneOf(node)).queue.add(name);
        break;
      case "Unknown":
        if (has(NOT_READY)) await this.#swap(node, [UNREACHABLE], [NOT_READY], "NoExecute");
        else this.#tainter(zoneOf(node)).queue.add(name);
        break;
      case "True":
        await this.#markNodeAsReachable(node);
        break;
    }
  }

  /** Removes the NoExecute not-ready/unreachable taints and any queued tainting. */
  async #markNodeAsReachable(node: Node): Promise<void> {
    this.#tainters.get(zoneOf(node))?.queue.delete(node.metadata.name ?? "");
    await this.#swap(node, [], [UNREACHABLE, NOT_READY], "NoExecute");
  }

  /** `doNoExecuteTaintingPass`: each zone's queue, as far as its rate limiter lets. */
  async #noExecuteTaintingPass(): Promise<void> {
    const now = this.ctx.now().getTime();
    for (const tainter of this.#tainters.values()) {
      for (const name of [...tainter.queue]) {
        const node = this.#nodes.get(name);
        if (!node) {
          tainter.queue.delete(name);
          continue;
        }
        const ready = condition(node, "Ready");
        if (!ready) continue;
        if (ready.status === "True") {
          tainter.queue.delete(name);
          continue;
        }
        if (!tainter.tryAccept(now)) break;
        const [add, del] = ready.status === "False"
          ? [NOT_READY, UNREACHABLE]
          : [UNREACHABLE, NOT_READY];
        if (await this.#swap(node, [add], [del], "NoExecute")) tainter.queue.delete(name);
      }
    }
  }

  /** `doNoScheduleTaintingPass`: NoSchedule taints that mirror conditions and unschedulable. */
  async #noScheduleTaintingPass(node: Node): Promise<void> {
    const want = new Set<string>();
    for (const c of node.status?.conditions ?? []) {
      const key = CONDITION_TAINTS[c.type]?.[c.status];
      if (key) want.add(key);
    }
    if (node.spec?.unschedulable) want.add(UNSCHEDULABLE);
    const have = new Set(
      (node.spec?.taints ?? []).filter((t) =>
        t.effect === "NoSchedule" && (t.key === UNSCHEDULABLE || CONDITION_TAINT_KEYS.has(t.key))
      ).map((t) => t.key),
    );
    const add = [...want].filter((k) => !have.has(k));
    const del = [...have].filter((k) => !want.has(k));
    if (add.length || del.length) await this.#swap(node, add, del, "NoSchedule");
  }

  /** `SwapNodeControllerTaint`: adds and removes taints of one effect; false if not written. */
  async #swap(node: Node, add: string[], del: string[], effect: string): Promise<boolean> {
    const name = node.metadata.name ?? "";
    const cur = this.#nodes.get(name) ?? node;
    const taints: Taint[] = cur.spec?.taints ?? [];
    const kept = taints.filter((t) => !(t.effect === effect && del.includes(t.key)));
    const stamp = rfc3339(this.ctx.now());
    const added = add.filter((k) => !kept.some((t) => t.key === k && t.effect === effect))
      .map((key) => ({ key, effect, timeAdded: stamp }));
    if (!added.length && kept.length === taints.length) return true;
    try {
      await this.#kube.patch(
        `/api/v1/nodes/${encodeURIComponent(name)}`,
        {
          metadata: { resourceVersion: cur.metadata.resourceVersion },
          spec: { taints: [...kept, ...added] },
        },
        "application/merge-patch+json",
      );
      return true;
    } catch (e) {
      log.debug("taints not written; next pass", { node: name, error: (e as Error).message });
      return false;
    }
  }

  /** `MarkPodsNotReady`: each pod on the node with Ready True gets Ready False. */
  async #markPodsNotReady(pods: Pod[]): Promise<void> {
    const stamp = rfc3339(this.ctx.now());
    for (const p of pods) {
      if (!p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) continue;
      try {
        await this.#kube.patch(
          `/api/v1/namespaces/${encodeURIComponent(p.metadata.namespace ?? "")}/pods/${
            encodeURIComponent(p.metadata.name ?? "")
          }/status`,
          {
            status: { conditions: [{ type: "Ready", status: "False", lastTransitionTime: stamp }] },
          },
          "application/strategic-merge-patch+json",
        );
      } catch (e) {
        log.debug("pod not marked not ready", { error: (e as Error).message });
        continue;
      }
      await this.#events.record(
        EventRecorder.subject(p, "Pod", "v1"),
        "Warning",
        "NodeNotReady",
        "Node is not ready",
      );
    }
  }

  /** `handleDisruption` with `ComputeZoneState`. */
  async #handleDisruption(
    zoneConditions: Map<string, (Condition | undefined)[]>,
    nodes: Node[],
  ): Promise<void> {
    const next = new Map<string, ZoneState>();
    let allAreFull = true;
    for (const [zone, conds] of zoneConditions) {
      const ready = conds.filter((c) => c?.status === "True").length;
      const notReady = conds.length - ready;
      const state: ZoneState = ready === 0 && notReady > 0
        ? "FullDisruption"
        : notReady > 2 && notReady / conds.length >= UNHEALTHY_ZONE
        ? "PartialDisruption"
        : "Normal";
      if (state !== "FullDisruption") allAreFull = false;
      next.set(zone, state);
      this.#tainter(zone);
    }
    let allWereFull = true;
    for (const [zone, state] of this.#zoneStates) {
      if (!zoneConditions.has(zone)) {
        this.#zoneStates.delete(zone);
        continue;
      }
      if (state !== "FullDisruption") {
        allWereFull = false;
        break;
      }
    }
    if (allAreFull && allWereFull) return;
    const limit = (zone: string, state: ZoneState) => {
      const size = zoneConditions.get(zone)?.length ?? 0;
      this.#tainter(zone).swap(
        state === "PartialDisruption" ? (size > LARGE_CLUSTER ? 0.01 : 0) : EVICTION_QPS,
      );
    };
    if (allAreFull) {
      log.warn("no node is Ready: entering master disruption mode, no evictions");
      for (const n of nodes) await this.#markNodeAsReachable(n);
      for (const [zone, t] of this.#tainters) {
        t.swap(0);
        if (this.#zoneStates.has(zone)) this.#zoneStates.set(zone, "FullDisruption");
      }
      return;
    }
    if (allWereFull) {
      log.info("some nodes are Ready: leaving master disruption mode");
      const now = this.ctx.now().getTime();
      for (const h of this.#health.values()) h.probe = now;
      for (const zone of this.#zoneStates.keys()) {
        limit(zone, next.get(zone) ?? "Normal");
        this.#zoneStates.set(zone, next.get(zone) ?? "Normal");
      }
      return;
    }
    for (const [zone, state] of this.#zoneStates) {
      const n = next.get(zone) ?? "Normal";
      if (state === n) continue;
      log.info("zone changed state", { zone, state: n });
      limit(zone, n);
      this.#zoneStates.set(zone, n);
    }
  }
}

/** The factory CLUSTER_CONTROLLERS lists. */
export function nodeLifecycle(ctx: ClusterContext): ClusterController {
  return new NodeLifecycle(ctx);
}
