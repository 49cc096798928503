/**
 * The embedded control plane's scheduler (kube-scheduler's default profile, reduced to what an
 * edge fleet needs): binds each pending pod (no `spec.nodeName`, `schedulerName`
 * `default-scheduler`) through `pods/binding` to the best node that passes every filter, and
 * records `Scheduled`, or `FailedScheduling` with kube-scheduler's reason counts and the pod's
 * `PodScheduled=False/Unschedulable` condition.
 *
 * Filters (scheduler_filters.ts): node Ready and schedulable, nodeSelector and required node
 * affinity, taints (NoSchedule, NoExecute), resource requests against allocatable, host ports,
 * and required pod (anti-)affinity on `kubernetes.io/hostname`. Scores: preferred node affinity,
 * preferred pod (anti-)affinity, least allocated, and spreading pods of one owner over nodes.
 * Unschedulable pods are retried when nodes or pods change and every 10 s.
 */
import type { Informer, KubeClient } from "../../kube/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import { EventRecorder } from "./events.ts";
import { keyOf, type Node, type Pod, splitKey } from "./pods.ts";
import { filterNodes, type FitFailure, scoreNodes } from "./scheduler_filters.ts";
import type { ClusterContext, ClusterController } from "./types.ts";
import { WorkQueue } from "./workqueue.ts";

const log = createLogger("scheduler");

/** The scheduler's name, as pods ask for it. */
export const DEFAULT_SCHEDULER = "default-scheduler";
/** How often unschedulable pods are tried again without a trigger. */
const RETRY_MS = 10_000;

/** kube-scheduler's FailedScheduling message: "0/3 nodes are available: 1 node(s) ...". */
export function failureMessage(total: number, failures: FitFailure[]): string {
  const counts = new Map<string, number>();
  for (const f of failures) counts.set(f.reason, (counts.get(f.reason) ?? 0) + 1);
  // FitError sorts the "<count> <reason>" strings themselves.
  const parts = [...counts].map(([r, n]) => `${n} ${r}`).sort();
  const head = `0/${total} nodes are available`;
  const preemption =
    `preemption: 0/${total} nodes are available: ${total} Preemption is not helpful for scheduling.`;
  return parts.length ? `${head}: ${parts.join(", ")}. ${preemption}` : `${head}. ${preemption}`;
}

function pending(p: Pod): boolean {
  return !p.spec.nodeName && !p.metadata.deletionTimestamp &&
    (p.spec.schedulerName ?? DEFAULT_SCHEDULER) === DEFAULT_SCHEDULER &&
    p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed";
}

/** See module docs. */
export class Scheduler implements ClusterController {
  readonly name = "scheduler";
  readonly #kube: KubeClient;
  readonly #pods: Informer<Pod>;
  readonly #nodes: Informer<Node>;
  readonly #queue: WorkQueue;
  readonly #events: EventRecorder;
  readonly #unschedulable = new Set<string>();
  /** Pods bound here whose binding the pod informer has not shown yet (no double booking). */
  readonly #assumed = new Map<string, Pod>();
  #retry: ReturnType<typeof setInterval> | undefined;

  constructor(readonly ctx: ClusterContext) {
    this.#kube = ctx.kube;
    this.#events = new EventRecorder(ctx.kube, DEFAULT_SCHEDULER, ctx.now);
    this.#queue = new WorkQueue("scheduler", (key) => this.#schedule(key));
    this.#pods = this.#kube.informer<Pod>("/api/v1/pods", undefined, {
      kind: "Pod",
      apiVersion: "v1",
    });
    this.#nodes = this.#kube.informer<Node>("/api/v1/nodes", undefined, {
      kind: "Node",
      apiVersion: "v1",
    });
    const onPod = (p: Pod) => {
      if (pending(p)) this.#queue.add(keyOf(p));
      else {
        this.#assumed.delete(keyOf(p));
        this.#retryUnschedulable(); // a pod that went away may free room
      }
    };
    this.#pods.on({
      add: onPod,
      update: onPod,
      delete: (p) => {
        this.#assumed.delete(keyOf(p));
        this.#unschedulable.delete(keyOf(p));
        this.#retryUnschedulable();
      },
    });
    const onNode = () => this.#retryUnschedulable();
    this.#nodes.on({ add: onNode, update: onNode, delete: onNode });
  }

  async start(): Promise<void> {
    this.#nodes.start();
    this.#pods.start();
    await Promise.all([this.#nodes.synced, this.#pods.synced]);
    this.#queue.start();
    this.#retry = setInterval(() => this.#retryUnschedulable(), RETRY_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.#retry);
    await this.#queue.stop();
    await Promise.all([this.#pods.stop(), this.#nodes.stop()]);
  }

  #retryUnschedulable(): void {
    for (const k of this.#unschedulable) this.#queue.add(k);
  }

  async #schedule(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const pod = this.#pods.get(name, ns);
    if (!pod || !pending(pod)) {
      this.#unschedulable.delete(key);
      return;
    }
    const nodes = this.#nodes.list();
    const bound = [...this.#pods.list(), ...this.#assumed.values()].filter((p) =>
      p.spec.nodeName && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed"
    );
    const { fit, failures } = filterNodes(pod, nodes, bound);
    if (fit.length === 0) return await this.#unschedulableNow(pod, nodes.length, failures);
    const best = scoreNodes(pod, fit, bound)[0];
    try {
      await this.#kube.create(
        `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}/binding`,
        {
          apiVersion: "v1",
          kind: "Binding",
          metadata: { name, namespace: ns, uid: pod.metadata.uid },
          target: { apiVersion: "v1", kind: "Node", name: best.metadata.name },
        },
      );
    } catch (e) {
      log.debug("binding failed; retried", { pod: key, error: (e as Error).message });
      throw e;
    }
    this.#unschedulable.delete(key);
    this.#assumed.set(key, { ...pod, spec: { ...pod.spec, nodeName: best.metadata.name } });
    await this.#events.record(
      EventRecorder.subject(pod, "Pod", "v1"),
      "Normal",
      "Scheduled",
      `Successfully assigned ${ns}/${name} to ${best.metadata.name}`,
    );
  }

  async #unschedulableNow(pod: Pod, total: number, failures: FitFailure[]): Promise<void> {
    const key = keyOf(pod);
    const message = failureMessage(total, failures);
    const had = this.#unschedulable.has(key);
    this.#unschedulable.add(key);
    const cond = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
    if (!had || cond?.message !== message) {
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
              lastTransitionTime: this.ctx.now().toISOString().replace(/\.\d{3}Z$/, "Z"),
            }],
          },
        },
        "application/strategic-merge-patch+json",
      ).catch((e) =>
        log.debug("pod condition not written", { pod: key, error: (e as Error).message })
      );
      await this.#events.record(
        EventRecorder.subject(pod, "Pod", "v1"),
        "Warning",
        "FailedScheduling",
        message,
      );
    }
  }
}

/** The factory CLUSTER_CONTROLLERS lists. */
export function scheduler(ctx: ClusterContext): ClusterController {
  return new Scheduler(ctx);
}
