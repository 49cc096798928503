/**
 * The embedded control plane's scheduler (kube-scheduler's default profile): binds each pending
 * pod (no `spec.nodeName`, `schedulerName: default-scheduler`, not finished or being deleted)
 * through `pods/binding` to the best node that passes every filter (scheduler_filters.ts;
 * scores in scheduler_score.ts), then records `Scheduled` ("Successfully assigned ns/pod to
 * node"). A pod that fits nowhere gets `PodScheduled=False/Unschedulable` with kube-scheduler's
 * message (scheduler_fit_error.ts) and a `FailedScheduling` event, and waits in the
 * unschedulable set as upstream's scheduling queue keeps it: it is retried when a node is added
 * or changes what scheduling reads (labels, taints, allocatable, unschedulable), when a bound
 * pod goes away or is bound, each time after its back-off (1 s doubling to 10 s), and at the
 * latest after 5 minutes.
 */
import { type Informer, KubeApiError, type KubeClient, type KubeObject } from "../../kube/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import { EventRecorder } from "./events.ts";
import { keyOf, type Node, type Pod, rfc3339, splitKey } from "./pods.ts";
import { failureMessage } from "./scheduler_fit_error.ts";
import { findNodesThatFit } from "./scheduler_filters.ts";
import { selectHost } from "./scheduler_score.ts";
import { buildSnapshot } from "./scheduler_snapshot.ts";
import type { ClusterContext, ClusterController } from "./types.ts";
import { WorkQueue } from "./workqueue.ts";
import { nodeInformer, podInformer } from "./core_informers.ts";

const log = createLogger("scheduler");

/** The scheduler's name, as pods ask for it. */
export const DEFAULT_SCHEDULER = "default-scheduler";
/** podInitialBackoffSeconds / podMaxBackoffSeconds. */
const INITIAL_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 10_000;
/** podMaxInUnschedulablePodsDuration. */
const MAX_UNSCHEDULABLE_MS = 5 * 60_000;
/** How often the unschedulable set is checked for pods past that duration. */
const FLUSH_MS = 30_000;

export { failureMessage } from "./scheduler_fit_error.ts";

function pending(p: Pod): boolean {
  return !p.spec.nodeName && !p.metadata.deletionTimestamp &&
    (p.spec.schedulerName ?? DEFAULT_SCHEDULER) === DEFAULT_SCHEDULER &&
    p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed";
}

/** What of a node scheduling reads (a heartbeat changes none of it). */
function schedulingView(n: Node): string {
  const status = n.status as { allocatable?: unknown; conditions?: unknown } | undefined;
  return JSON.stringify([
    n.metadata.labels,
    n.spec?.taints,
    n.spec?.unschedulable,
    status?.allocatable,
  ]);
}

interface Namespace extends KubeObject {
  metadata: { name?: string; labels?: Record<string, string> };
}

/** See module docs. */
export class Scheduler implements ClusterController {
  readonly name = "scheduler";
  readonly #kube: KubeClient;
  readonly #pods: Informer<Pod>;
  readonly #nodes: Informer<Node>;
  readonly #namespaces: Informer<Namespace>;
  readonly #queue: WorkQueue;
  readonly #events: EventRecorder;
  /** Unschedulable pods: failed attempts and when the last one failed. */
  readonly #unschedulable = new Map<string, { attempts: number; at: number; since: number }>();
  /** Pods bound here whose binding the pod informer has not shown yet (no double booking). */
  readonly #assumed = new Map<string, Pod>();
  #flush: ReturnType<typeof setInterval> | undefined;

  constructor(readonly ctx: ClusterContext) {
    this.#kube = ctx.kube;
    this.#events = new EventRecorder(ctx.kube, DEFAULT_SCHEDULER, ctx.now);
    this.#queue = new WorkQueue("scheduler", (key) => this.#schedule(key));
    this.#pods = podInformer(this.#kube);
    this.#nodes = nodeInformer(this.#kube);
    this.#namespaces = this.#kube.informer<Namespace>("/api/v1/namespaces", undefined, {
      kind: "Namespace",
      apiVersion: "v1",
    });
    this.#pods.on({
      add: (p) => {
        if (pending(p)) this.#queue.add(keyOf(p));
        else if (p.spec.nodeName) this.#moveUnschedulable(); // affinity to it may now hold
      },
      update: (p, old) => {
        const key = keyOf(p);
        if (pending(p)) {
          // A pod waiting in the unschedulable set is not retried on its own status writes,
          // only when its spec or labels change (then after its back-off, as upstream).
          const u = this.#unschedulable.get(key);
          if (!u) this.#queue.add(key);
          else if (
            JSON.stringify([p.spec, p.metadata.labels]) !==
              JSON.stringify([old.spec, old.metadata.labels])
          ) this.#queue.addAfter(key, this.#backoffLeft(u));
          return;
        }
        this.#assumed.delete(key);
        this.#unschedulable.delete(key);
        const freed = !!old.spec.nodeName &&
          (p.metadata.deletionTimestamp !== old.metadata.deletionTimestamp ||
            p.status?.phase !== old.status?.phase);
        const bound = !old.spec.nodeName && !!p.spec.nodeName;
        if (freed || bound) this.#moveUnschedulable();
      },
      delete: (p) => {
        this.#assumed.delete(keyOf(p));
        this.#unschedulable.delete(keyOf(p));
        if (p.spec.nodeName) this.#moveUnschedulable();
      },
    });
    this.#nodes.on({
      add: () => this.#moveUnschedulable(),
      update: (n, old) => {
        if (schedulingView(n) !== schedulingView(old)) this.#moveUnschedulable();
      },
    });
  }

  async start(): Promise<void> {
    this.#nodes.start();
    this.#namespaces.start();
    this.#pods.start();
    await Promise.all([this.#nodes.synced, this.#namespaces.synced, this.#pods.synced]);
    this.#queue.start();
    this.#flush = setInterval(() => {
      const now = this.ctx.now().getTime();
      for (const [k, u] of this.#unschedulable) {
        if (now - u.since >= MAX_UNSCHEDULABLE_MS) this.#queue.add(k);
      }
    }, FLUSH_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.#flush);
    await this.#queue.stop();
    await Promise.all([this.#pods.stop(), this.#nodes.stop(), this.#namespaces.stop()]);
  }

  /** `MoveAllToActiveOrBackoffQueue`: each unschedulable pod goes once its back-off is over. */
  #moveUnschedulable(): void {
    for (const [k, u] of this.#unschedulable) this.#queue.addAfter(k, this.#backoffLeft(u));
  }

  #backoffLeft(u: { attempts: number; at: number }, now = this.ctx.now().getTime()): number {
    const backoff = Math.min(MAX_BACKOFF_MS, INITIAL_BACKOFF_MS * 2 ** (u.attempts - 1));
    return u.at + backoff - now;
  }

  async #schedule(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const pod = this.#pods.get(name, ns);
    if (!pod || !pending(pod) || this.#assumed.has(key)) {
      this.#unschedulable.delete(key);
      return;
    }
    const snap = buildSnapshot(
      this.#nodes.list(),
      [...this.#pods.list().filter((p) => !this.#assumed.has(keyOf(p))), ...this.#assumed.values()],
      (n) => this.#namespaces.get(n)?.metadata.labels,
    );
    const diagnosis = findNodesThatFit(pod, snap);
    if (diagnosis.feasible.length === 0) {
      return await this.#failed(pod, failureMessage(pod, snap, diagnosis));
    }
    const node = selectHost(pod, diagnosis.feasible, snap).name;
    // Assumed before the binding is written, so the next cycle counts it already.
    this.#assumed.set(key, { ...pod, spec: { ...pod.spec, nodeName: node } });
    try {
      await this.#kube.create(
        `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}/binding`,
        {
          apiVersion: "v1",
          kind: "Binding",
          metadata: { name, namespace: ns, uid: pod.metadata.uid },
          target: { apiVersion: "v1", kind: "Node", name: node },
        },
      );
    } catch (e) {
      this.#assumed.delete(key);
      if (e instanceof KubeApiError && (e.code === 409 || e.code === 404)) {
        // Bound or deleted meanwhile (the informer will tell).
        log.debug("binding rejected", { pod: key, error: e.message });
        return;
      }
      log.debug("binding failed; retried", { pod: key, error: (e as Error).message });
      throw e;
    }
    this.#unschedulable.delete(key);
    await this.#events.record(
      EventRecorder.subject(pod, "Pod", "v1"),
      "Normal",
      "Scheduled",
      `Successfully assigned ${ns}/${name} to ${node}`,
      "Binding",
    );
  }

  async #failed(pod: Pod, message: string): Promise<void> {
    const key = keyOf(pod);
    const now = this.ctx.now().getTime();
    const prev = this.#unschedulable.get(key);
    this.#unschedulable.set(key, {
      attempts: (prev?.attempts ?? 0) + 1,
      at: now,
      since: prev?.since ?? now,
    });
    log.debug("pod unschedulable", { pod: key, message });
    await this.#events.record(
      EventRecorder.subject(pod, "Pod", "v1"),
      "Warning",
      "FailedScheduling",
      message,
      "Scheduling",
    );
    const cond = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
    if (cond?.status === "False" && cond.reason === "Unschedulable" && cond.message === message) {
      return; // podutil.UpdatePodCondition: nothing changed, nothing written
    }
    await this.#kube.patch(
      `/api/v1/namespaces/${encodeURIComponent(pod.metadata.namespace ?? "")}/pods/${
        encodeURIComponent(pod.metadata.name ?? "")
      }/status`,
      {
        status: {
          conditions: [{
            type: "PodScheduled",
            status: "False",
            reason: "Unschedulable",
            message,
            lastProbeTime: null,
            lastTransitionTime: cond?.status === "False"
              ? cond.lastTransitionTime
              : rfc3339(this.ctx.now()),
          }],
        },
      },
      "application/strategic-merge-patch+json",
    ).catch((e) =>
      log.debug("pod condition not written", { pod: key, error: (e as Error).message })
    );
  }
}

/** The factory CLUSTER_CONTROLLERS lists. */
export function scheduler(ctx: ClusterContext): ClusterController {
  return new Scheduler(ctx);
}
