/**
 * Taint-based eviction (kube-controller-manager's taint-eviction-controller,
 * pkg/controller/tainteviction in 1.32): a pod bound to a node with NoExecute taints is deleted
 * at once when a taint is not tolerated, after the smallest `tolerationSeconds` of the
 * tolerations that match when all are tolerated (counted from when this controller first saw it
 * so), and never when they tolerate without a limit. The API gives every pod 300 s for
 * `not-ready` and `unreachable` (DefaultTolerationSeconds), so pods of a node that stays
 * unreachable go after five minutes. Before deleting, the pod gets the `DisruptionTarget`
 * condition (reason `DeletionByTaintManager`); `TaintManagerEviction` events record the
 * deletion ("Marking for deletion Pod ns/name") and a cancellation when the taints go first.
 *
 * KubeEdge's edges keep running their pods while offline; see docs/control-plane.md for what
 * eviction means there and how to keep pods bound.
 */
import type { Informer, KubeClient } from "../../kube/mod.ts";
import { isNotFound } from "../../kube/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import { EventRecorder } from "./events.ts";
import { tolerates } from "./node_fit.ts";
import { keyOf, type Node, type Pod, splitKey, type Toleration } from "./pods.ts";
import type { ClusterContext, ClusterController } from "./types.ts";
import { nodeInformer, podInformer } from "./core_informers.ts";

const log = createLogger("taint-eviction");

/** `getMinTolerationTime`: ms, or -1 for forever (0 for a non-positive limit). */
export function minTolerationMs(used: Toleration[]): number {
  if (used.length === 0) return 0;
  let min = Infinity;
  for (const t of used) {
    if (typeof t.tolerationSeconds !== "number") continue;
    if (t.tolerationSeconds <= 0) return 0;
    min = Math.min(min, t.tolerationSeconds);
  }
  return min === Infinity ? -1 : min * 1000;
}

/** A scheduled deletion. */
interface Work {
  createdAt: number;
  fireAt: number;
  timer: ReturnType<typeof setTimeout>;
}

/** See module docs. */
export class TaintEviction implements ClusterController {
  readonly name = "taint-eviction";
  readonly #kube: KubeClient;
  readonly #nodes: Informer<Node>;
  readonly #pods: Informer<Pod>;
  readonly #events: EventRecorder;
  readonly #work = new Map<string, Work>();
  readonly #inflight = new Set<Promise<void>>();
  #stopped = false;

  constructor(readonly ctx: ClusterContext) {
    this.#kube = ctx.kube;
    this.#events = new EventRecorder(ctx.kube, "taint-eviction-controller", ctx.now);
    this.#nodes = nodeInformer(ctx.kube);
    this.#pods = podInformer(ctx.kube);
    const onNode = (n: Node, old?: Node) => {
      const taints = noExecute(n);
      if (old && JSON.stringify(taints) === JSON.stringify(noExecute(old))) return;
      const name = n.metadata.name ?? "";
      for (const p of this.#pods.list()) if (p.spec.nodeName === name) this.#processPod(p);
    };
    this.#nodes.on({
      add: (n) => onNode(n),
      update: (n, old) => onNode(n, old),
      delete: (n) => {
        for (const p of this.#pods.list()) {
          if (p.spec.nodeName === n.metadata.name) this.#cancel(keyOf(p), false);
        }
      },
    });
    this.#pods.on({
      add: (p) => this.#processPod(p),
      update: (p, old) => {
        if (
          p.spec.nodeName !== old.spec.nodeName ||
          JSON.stringify(p.spec.tolerations) !== JSON.stringify(old.spec.tolerations)
        ) this.#processPod(p);
      },
      delete: (p) => this.#cancel(keyOf(p), false),
    });
  }

  async start(): Promise<void> {
    this.#nodes.start();
    this.#pods.start();
    await Promise.all([this.#nodes.synced, this.#pods.synced]);
    for (const p of this.#pods.list()) this.#processPod(p);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const w of this.#work.values()) clearTimeout(w.timer);
    this.#work.clear();
    await Promise.all([...this.#inflight]);
    await Promise.all([this.#nodes.stop(), this.#pods.stop()]);
  }

  /** `processPodOnNode`. */
  #processPod(p: Pod): void {
    if (this.#stopped) return;
    const key = keyOf(p);
    const node = p.spec.nodeName ? this.#nodes.get(p.spec.nodeName) : undefined;
    const taints = node ? noExecute(node) : [];
    if (taints.length === 0) return this.#cancel(key, true);
    const tolerations = p.spec.tolerations ?? [];
    const used: Toleration[] = [];
    let all = true;
    for (const taint of taints) {
      const matching = tolerations.filter((t) => tolerates(t, taint));
      if (!matching.length) all = false;
      used.push(...matching.filter((t) => !used.includes(t)));
    }
    const now = this.ctx.now().getTime();
    if (!all) {
      this.#cancel(key, true);
      return this.#schedule(key, now, now);
    }
    const min = minTolerationMs(used);
    if (min < 0) return this.#cancel(key, true);
    const prev = this.#work.get(key);
    const start = prev?.createdAt ?? now;
    if (prev && start + min >= prev.fireAt) return;
    this.#cancel(key, true);
    this.#schedule(key, start, start + min);
  }

  #schedule(key: string, createdAt: number, fireAt: number): void {
    const timer = setTimeout(() => {
      this.#work.delete(key);
      const run = this.#evict(key).finally(() => this.#inflight.delete(run));
      this.#inflight.add(run);
    }, Math.max(0, fireAt - this.ctx.now().getTime()));
    this.#work.set(key, { createdAt, fireAt, timer });
  }

  /** `cancelWorkWithEvent` (the event only when `withEvent` and work was scheduled). */
  #cancel(key: string, withEvent: boolean): void {
    const w = this.#work.get(key);
    if (!w) return;
    clearTimeout(w.timer);
    this.#work.delete(key);
    if (!withEvent) return;
    const [namespace, name] = splitKey(key);
    const run = this.#events.record(
      { kind: "Pod", apiVersion: "v1", namespace, name },
      "Normal",
      "TaintManagerEviction",
      `Cancelling deletion of Pod ${key}`,
    ).finally(() => this.#inflight.delete(run));
    this.#inflight.add(run);
  }

  /** `addConditionAndDeletePod`, with its event. */
  async #evict(key: string): Promise<void> {
    if (this.#stopped) return;
    const [namespace, name] = splitKey(key);
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${
      encodeURIComponent(name)
    }`;
    log.info("evicting pod from tainted node", { pod: key });
    await this.#events.record(
      { kind: "Pod", apiVersion: "v1", namespace, name },
      "Normal",
      "TaintManagerEviction",
      `Marking for deletion Pod ${key}`,
    );
    try {
      const pod = await this.#kube.get<Pod>(path);
      if (pod.metadata.deletionTimestamp) return;
      const cond = pod.status?.conditions?.find((c) => c.type === "DisruptionTarget");
      if (cond?.status !== "True" || cond.reason !== "DeletionByTaintManager") {
        await this.#kube.patch(`${path}/status`, {
          status: {
            conditions: [{
              type: "DisruptionTarget",
              status: "True",
              reason: "DeletionByTaintManager",
              message: "Taint manager: deleting due to NoExecute taint",
              lastTransitionTime: this.ctx.now().toISOString().replace(/\.\d{3}Z$/, "Z"),
            }],
          },
        }, "application/strategic-merge-patch+json");
      }
      await this.#kube.delete(path);
    } catch (e) {
      if (isNotFound(e)) return;
      log.warn("eviction failed; retried", { pod: key, error: (e as Error).message });
      if (!this.#stopped) {
        this.#schedule(key, this.ctx.now().getTime(), this.ctx.now().getTime() + 1000);
      }
    }
  }
}

function noExecute(n: Node): { key: string; value?: string; effect: string }[] {
  return (n.spec?.taints ?? []).filter((t) => t.effect === "NoExecute");
}

/** The factory CLUSTER_CONTROLLERS lists. */
export function taintEviction(ctx: ClusterContext): ClusterController {
  return new TaintEviction(ctx);
}
