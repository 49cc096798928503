/**
 * The Job controller (kubernetes pkg/controller/job, 1.32, NonIndexed completion mode) plus the
 * TTL-after-finished controller's one rule:
 *
 * - runs `parallelism` pods at a time (fewer as `completions` near), pods from the template with
 *   the `batch.kubernetes.io/job-name` and `controller-uid` labels the API put there;
 * - counts succeeded and failed pods (for `restartPolicy: OnFailure` container restarts count
 *   as failures, as upstream); a failed pod is replaced after an exponential back-off (10 s
 *   doubling up to 6 min by default);
 * - `Complete` (after `SuccessCriteriaMet`) once `completions` pods succeeded (without
 *   `completions`: once one succeeded and none is active); `Failed` (after `FailureTarget`) with
 *   reason `BackoffLimitExceeded` past `backoffLimit`, or `DeadlineExceeded` past
 *   `activeDeadlineSeconds`; remaining pods are deleted;
 * - `suspend` deletes active pods and sets `Suspended`; resuming resets `startTime`;
 * - a finished Job with `ttlSecondsAfterFinished` is deleted (background propagation) that long
 *   after it finished.
 *
 * Not done: Indexed completion mode, podFailurePolicy, successPolicy, backoffLimitPerIndex, and
 * the `batch.kubernetes.io/job-tracking` finalizer (counts come from the pods that exist, never
 * lower than the counts already in status).
 */
import { isNotFound, type KubeClient, type KubeObject } from "../../kube/mod.ts";
import type { Informer } from "../../kube/mod.ts";
import { createLogger, formatLabelSelector, jsonEqual, type LabelSelector } from "../../lib/mod.ts";
import type { ClusterContext, ClusterController } from "./types.ts";
import { EventRecorder } from "./events.ts";
import { WorkQueue } from "./workqueue.ts";
import {
  byCreation,
  type Condition,
  controllerRef,
  isControlledBy,
  isPodActive,
  isPodReady,
  keyOf,
  type Meta,
  ownerRefTo,
  type Pod,
  type PodTemplate,
  rfc3339,
  splitKey,
} from "./pods.ts";
import { podInformer } from "./core_informers.ts";

const log = createLogger("job-controller");

/** A Job. */
export interface Job extends KubeObject {
  metadata: Meta;
  spec: {
    parallelism?: number;
    completions?: number;
    activeDeadlineSeconds?: number;
    backoffLimit?: number;
    selector?: LabelSelector;
    template: PodTemplate;
    ttlSecondsAfterFinished?: number;
    completionMode?: string;
    suspend?: boolean;
  };
  status?: JobStatus;
}

/** Job status. */
export interface JobStatus {
  conditions?: Condition[];
  startTime?: string;
  completionTime?: string;
  active?: number;
  succeeded?: number;
  failed?: number;
  terminating?: number;
  ready?: number;
  uncountedTerminatedPods?: Record<string, unknown>;
  [k: string]: unknown;
}

/** Options of the Job controller. */
export interface JobControllerOptions {
  /** First delay before a failed pod is replaced (default 10 s, upstream's DefaultJobPodFailureBackOff). */
  backoffBaseMs?: number;
  /** Cap of that delay (default 6 min). */
  backoffMaxMs?: number;
}

/** True when the Job has a `Complete` or `Failed` condition that is True. */
export function jobFinished(job: { status?: JobStatus }): "Complete" | "Failed" | undefined {
  for (const c of job.status?.conditions ?? []) {
    if ((c.type === "Complete" || c.type === "Failed") && c.status === "True") return c.type;
  }
  return undefined;
}

function jobPath(ns: string, name?: string): string {
  return `/apis/batch/v1/namespaces/${ns}/jobs${name ? `/${name}` : ""}`;
}

function podsPath(ns: string, name?: string): string {
  return `/api/v1/namespaces/${ns}/pods${name ? `/${name}` : ""}`;
}

/** Sets (or keeps) a condition; lastTransitionTime moves only when the status changes. */
function setCondition(
  conds: Condition[],
  type: string,
  status: string,
  reason: string,
  message: string,
  now: string,
): Condition[] {
  const cur = conds.find((c) => c.type === type);
  if (cur && cur.status === status && cur.reason === reason) return conds;
  const next: Condition = {
    type,
    status,
    lastProbeTime: now,
    lastTransitionTime: cur && cur.status === status ? cur.lastTransitionTime : now,
    reason,
    message,
  };
  return cur ? conds.map((c) => c === cur ? next : c) : [...conds, next];
}

/** See module docs. */
export class JobController implements ClusterController {
  readonly name = "job";
  readonly #kube: KubeClient;
  readonly #now: () => Date;
  readonly #queue: WorkQueue;
  readonly #opts: Required<JobControllerOptions>;
  /** Per job: failures already seen and the earliest time a replacement may be created. */
  readonly #backoff = new Map<string, { failures: number; until: number }>();
  #jobs?: Informer<Job>;
  #pods?: Informer<Pod>;

  readonly #events: EventRecorder;

  constructor(ctx: ClusterContext, opts: JobControllerOptions = {}) {
    this.#events = new EventRecorder(ctx.kube, "job-controller", ctx.now);
    this.#kube = ctx.kube;
    this.#now = ctx.now;
    this.#opts = {
      backoffBaseMs: opts.backoffBaseMs ?? 10_000,
      backoffMaxMs: opts.backoffMaxMs ?? 6 * 60_000,
    };
    this.#queue = new WorkQueue("job", (key) => this.#sync(key));
  }

  async start(): Promise<void> {
    this.#jobs = this.#kube.informer<Job>("/apis/batch/v1/jobs", undefined, {
      kind: "Job",
      apiVersion: "batch/v1",
    });
    this.#pods = podInformer(this.#kube);
    const enqueue = (j: Job) => this.#queue.add(keyOf(j));
    this.#jobs.on({ add: enqueue, update: enqueue, delete: enqueue });
    const podEvent = (p: Pod) => {
      const ref = controllerRef(p);
      if (ref?.kind === "Job" && ref.apiVersion.startsWith("batch/")) {
        this.#queue.add(`${p.metadata.namespace}/${ref.name}`);
      }
    };
    this.#pods.on({ add: podEvent, update: podEvent, delete: podEvent });
    this.#pods.start();
    this.#jobs.start();
    await Promise.all([this.#pods.synced, this.#jobs.synced]);
    this.#queue.start();
  }

  async stop(): Promise<void> {
    await this.#queue.stop();
    await Promise.all([this.#jobs?.stop(), this.#pods?.stop()]);
  }

  async #pods_(job: Job): Promise<Pod[]> {
    const sel = formatLabelSelector(job.spec.selector);
    const list = await this.#kube.get<{ items: Pod[] } & KubeObject>(
      podsPath(job.metadata.namespace!),
      { query: { labelSelector: sel === "<none>" ? undefined : sel } },
    );
    return list.items.filter((p) => isControlledBy(p, job.metadata.uid)).sort(byCreation);
  }

  async #deletePods(pods: Pod[]): Promise<void> {
    for (const p of pods) {
      try {
        await this.#kube.delete(podsPath(p.metadata.namespace!, p.metadata.name));
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  async #sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    let job: Job;
    try {
      job = await this.#kube.get<Job>(jobPath(ns, name));
    } catch (e) {
      if (isNotFound(e)) {
        this.#backoff.delete(key);
        return;
      }
      throw e;
    }
    if (job.metadata.deletionTimestamp) return;
    const nowDate = this.#now();
    const now = rfc3339(nowDate);
    if (jobFinished(job)) return await this.#ttl(job, nowDate);

    const pods = await this.#pods_(job);
    const active = pods.filter(isPodActive);
    const terminating = pods.filter((p) =>
      p.metadata.deletionTimestamp && p.status?.phase !== "Succeeded" &&
      p.status?.phase !== "Failed"
    );
    const prev = job.status ?? {};
    const succeeded = Math.max(
      prev.succeeded ?? 0,
      pods.filter((p) => p.status?.phase === "Succeeded").length,
    );
    const restarts = job.spec.template.spec.restartPolicy === "OnFailure"
      ? pods.reduce(
        (n, p) =>
          n + (p.status?.containerStatuses ?? []).reduce((m, s) => m + (s.restartCount ?? 0), 0),
        0,
      )
      : 0;
    const failed = Math.max(
      prev.failed ?? 0,
      pods.filter((p) => p.status?.phase === "Failed").length + restarts,
    );
    const status: JobStatus = {
      ...prev,
      conditions: [...(prev.conditions ?? [])],
      uncountedTerminatedPods: prev.uncountedTerminatedPods ?? {},
    };
    const suspended = job.spec.suspend === true;
    const wasSuspended = (prev.conditions ?? []).some((c) =>
      c.type === "Suspended" && c.status === "True"
    );
    if (suspended) {
      await this.#deletePods(active);
      status.conditions = setCondition(
        status.conditions!,
        "Suspended",
        "True",
        "JobSuspended",
        "Job suspended",
        now,
      );
      return await this.#writeStatus(job, {
        ...status,
        active: 0,
        ready: 0,
        terminating: terminating.length + active.length,
        succeeded,
        failed,
      });
    }
    if (wasSuspended) {
      status.conditions = setCondition(
        status.conditions!,
        "Suspended",
        "False",
        "JobResumed",
        "Job resumed",
        now,
      );
      status.startTime = now;
    }
    status.startTime ??= now;

    // Failure: past the back-off limit or the deadline.
    let failure: [string, string] | undefined;
    if (failed > (job.spec.backoffLimit ?? 6)) {
      failure = ["BackoffLimitExceeded", "Job has reached the specified backoff limit"];
    } else if (job.spec.activeDeadlineSeconds !== undefined) {
      const end = Date.parse(status.startTime) + job.spec.activeDeadlineSeconds * 1000;
      if (nowDate.getTime() >= end) {
        failure = ["DeadlineExceeded", "Job was active longer than specified deadline"];
      } else this.#queue.addAfter(key, end - nowDate.getTime());
    }
    const completions = job.spec.completions;
    const complete = completions !== undefined && completions !== null
      ? succeeded >= completions
      : succeeded > 0 && active.length === 0;
    if (failure || complete) {
      await this.#deletePods(active);
      const [type, target, reason, message] = failure ? ["Failed", "FailureTarget", ...failure] : [
        "Complete",
        "SuccessCriteriaMet",
        "CompletionsReached",
        "Reached expected number of succeeded pods",
      ];
      status.conditions = setCondition(status.conditions!, target, "True", reason, message, now);
      status.conditions = setCondition(status.conditions!, type, "True", reason, message, now);
      if (!failure) status.completionTime = now;
      log.info("job finished", { job: key, result: type, reason });
      await this.#writeStatus(job, {
        ...status,
        active: 0,
        ready: 0,
        terminating: terminating.length + active.length,
        succeeded,
        failed,
      });
      return;
    }

    // Pods to run now.
    const parallelism = job.spec.parallelism ?? 1;
    const want = completions !== undefined && completions !== null
      ? Math.max(0, Math.min(parallelism, completions - succeeded))
      : succeeded > 0
      ? Math.min(active.length, parallelism)
      : parallelism;
    const diff = want - active.length;
    if (diff > 0) {
      const b = this.#backoff.get(key) ?? { failures: 0, until: 0 };
      if (failed > b.failures) {
        b.failures = failed;
        b.until = nowDate.getTime() +
          Math.min(this.#opts.backoffMaxMs, this.#opts.backoffBaseMs * 2 ** (failed - 1));
        this.#backoff.set(key, b);
      }
      if (b.until > nowDate.getTime()) {
        this.#queue.addAfter(key, b.until - nowDate.getTime());
      } else {
        for (let i = 0; i < diff; i++) {
          const pod = await this.#kube.create<Pod>(podsPath(ns), this.#newPod(job));
          await this.#events.record(
            EventRecorder.subject(job, "Job", "batch/v1"),
            "Normal",
            "SuccessfulCreate",
            `Created pod: ${pod.metadata.name}`,
          );
        }
      }
    } else if (diff < 0) {
      // Not-ready and newest first, as upstream's ActivePods ordering deletes them.
      const victims = [...active].sort((a, b) =>
        Number(isPodReady(a)) - Number(isPodReady(b)) || byCreation(b, a)
      ).slice(0, -diff);
      await this.#deletePods(victims);
    }
    const running = await this.#pods_(job);
    const nowActive = running.filter(isPodActive);
    await this.#writeStatus(job, {
      ...status,
      active: nowActive.length,
      ready: nowActive.filter(isPodReady).length,
      terminating: running.filter((p) =>
        p.metadata.deletionTimestamp && p.status?.phase !== "Succeeded" &&
        p.status?.phase !== "Failed"
      ).length,
      succeeded,
      failed,
    });
  }

  #newPod(job: Job): Pod {
    const t = structuredClone(job.spec.template);
    return {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        generateName: `${job.metadata.name}-`,
        namespace: job.metadata.namespace,
        labels: { ...(t.metadata?.labels ?? {}) },
        ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}),
        ownerReferences: [ownerRefTo(job, "batch/v1", "Job")],
      },
      spec: t.spec,
    };
  }

  async #writeStatus(job: Job, status: JobStatus): Promise<void> {
    // Zero counts are omitted, as the Go types' omitempty does.
    for (const k of ["active", "succeeded", "failed"] as const) if (!status[k]) delete status[k];
    if (jsonEqual(status, job.status)) return;
    await this.#kube.update(`${jobPath(job.metadata.namespace!, job.metadata.name)}/status`, {
      ...job,
      status,
    });
  }

  /** ttlSecondsAfterFinished: delete the finished Job when its time is up. */
  async #ttl(job: Job, now: Date): Promise<void> {
    const ttl = job.spec.ttlSecondsAfterFinished;
    if (ttl === undefined || ttl === null) return;
    const cond = (job.status?.conditions ?? []).find((c) =>
      (c.type === "Complete" || c.type === "Failed") && c.status === "True"
    );
    const finished = Date.parse(job.status?.completionTime ?? cond?.lastTransitionTime ?? "");
    if (Number.isNaN(finished)) return;
    const at = finished + ttl * 1000;
    if (now.getTime() < at) {
      this.#queue.addAfter(keyOf(job), at - now.getTime());
      return;
    }
    log.info("deleting finished job (ttlSecondsAfterFinished)", { job: keyOf(job) });
    try {
      await this.#kube.delete(jobPath(job.metadata.namespace!, job.metadata.name), {
        propagationPolicy: "Background",
        preconditions: { uid: job.metadata.uid },
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** Factory for CLUSTER_CONTROLLERS. */
export function jobController(ctx: ClusterContext): ClusterController {
  return new JobController(ctx);
}
