/**
 * The CronJob controller (kubernetes pkg/controller/cronjob, v2, 1.32): at each time of
 * `spec.schedule` (standard cron syntax or a descriptor such as `@hourly`, in `spec.timeZone`,
 * default UTC) it creates a Job `<cronjob>-<scheduled time in unix minutes>` from
 * `spec.jobTemplate`, owned by the CronJob and annotated with
 * `batch.kubernetes.io/cronjob-scheduled-timestamp`.
 *
 * - Only the most recent missed time runs (upstream's `mostRecentScheduleTime`), and not at all
 *   when it is more than `startingDeadlineSeconds` late.
 * - `concurrencyPolicy`: Allow, Forbid (skip while a Job is active), Replace (delete the active
 *   ones, background propagation, then create).
 * - `suspend` stops new runs; `status.active`, `lastScheduleTime` and `lastSuccessfulTime` are
 *   kept; finished Jobs beyond `successfulJobsHistoryLimit`/`failedJobsHistoryLimit` are deleted,
 *   oldest first.
 *
 * The clock is the context's `now`, injectable for tests; besides a timer at the next scheduled
 * time every CronJob is re-checked at least every `pollMs`, so a clock that jumps is noticed.
 */
import { isAlreadyExists, isNotFound, type KubeClient, type KubeObject } from "../../kube/mod.ts";
import type { Informer } from "../../kube/mod.ts";
import { createLogger, type CronSchedule, jsonEqual, parseCronSchedule } from "../../lib/mod.ts";
import type { ClusterContext, ClusterController } from "./types.ts";
import { EventRecorder } from "./events.ts";
import { WorkQueue } from "./workqueue.ts";
import {
  controllerRef,
  isControlledBy,
  keyOf,
  type Meta,
  ownerRefTo,
  rfc3339,
  splitKey,
} from "./pods.ts";
import { type Job, jobFinished } from "./job.ts";

const log = createLogger("cronjob-controller");

/** Annotation with the scheduled time a Job was created for. */
export const SCHEDULED_TIMESTAMP_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp";

/** An ObjectReference in `status.active`. */
interface JobRef {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  apiVersion: string;
  resourceVersion?: string;
}

/** A CronJob. */
export interface CronJob extends KubeObject {
  metadata: Meta;
  spec: {
    schedule: string;
    timeZone?: string;
    startingDeadlineSeconds?: number;
    concurrencyPolicy?: "Allow" | "Forbid" | "Replace";
    suspend?: boolean;
    jobTemplate: { metadata?: Meta; spec: Job["spec"] };
    successfulJobsHistoryLimit?: number;
    failedJobsHistoryLimit?: number;
  };
  status?: { active?: JobRef[]; lastScheduleTime?: string; lastSuccessfulTime?: string };
}

/** Options of the CronJob controller. */
export interface CronJobControllerOptions {
  /** Longest time between two checks of a CronJob (default 10 s). */
  pollMs?: number;
}

/** At most this many schedule times are walked per sync (upstream warns past 100 missed). */
const MAX_WALK = 100_000;

/**
 * The latest schedule time in (earliest, now], or undefined; plus the next one after `now`.
 * `earliest` is the last schedule time, or the creation time, moved up to the starting deadline.
 */
export function mostRecentScheduleTime(
  cj: CronJob,
  now: Date,
  schedule: CronSchedule,
): { recent?: Date; next: Date } {
  let earliest = new Date(
    Date.parse(cj.status?.lastScheduleTime ?? cj.metadata.creationTimestamp ?? now.toISOString()),
  );
  const sds = cj.spec.startingDeadlineSeconds;
  if (sds !== undefined && sds !== null) {
    const deadline = new Date(now.getTime() - sds * 1000);
    if (deadline > earliest) earliest = deadline;
  }
  let t = schedule.next(earliest);
  if (t > now) return { next: t };
  let recent = t;
  for (let i = 0; i < MAX_WALK; i++) {
    t = schedule.next(recent);
    if (t > now) return { recent, next: t };
    recent = t;
  }
  return { recent, next: schedule.next(now) };
}

/** `time` formatted RFC 3339 in `timeZone` (its offset, or `Z` for UTC), as Go's `In(loc)`. */
export function formatInZone(time: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    timeZoneName: "longOffset",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(time);
  const p = (type: string) => parts.find((x) => x.type === type)?.value ?? "";
  const offset = p("timeZoneName").replace("GMT", "");
  return `${p("year")}-${p("month")}-${p("day")}T${p("hour")}:${p("minute")}:${p("second")}${
    offset === "" ? "Z" : offset
  }`;
}

function cjPath(ns: string, name?: string): string {
  return `/apis/batch/v1/namespaces/${ns}/cronjobs${name ? `/${name}` : ""}`;
}

function jobsPath(ns: string, name?: string): string {
  return `/apis/batch/v1/namespaces/${ns}/jobs${name ? `/${name}` : ""}`;
}

function startOf(j: Job): string {
  return j.status?.startTime ?? j.metadata.creationTimestamp ?? "";
}

/** See module docs. */
export class CronJobController implements ClusterController {
  readonly name = "cronjob";
  readonly #kube: KubeClient;
  readonly #now: () => Date;
  readonly #pollMs: number;
  readonly #queue: WorkQueue;
  readonly #lastSync = new Map<string, Date>();
  #cronjobs?: Informer<CronJob>;
  #jobs?: Informer<Job>;

  readonly #events: EventRecorder;

  constructor(ctx: ClusterContext, opts: CronJobControllerOptions = {}) {
    this.#events = new EventRecorder(ctx.kube, "cronjob-controller", ctx.now);
    this.#kube = ctx.kube;
    this.#now = ctx.now;
    this.#pollMs = opts.pollMs ?? 10_000;
    this.#queue = new WorkQueue("cronjob", (key) => this.#sync(key));
  }

  async start(): Promise<void> {
    this.#cronjobs = this.#kube.informer<CronJob>("/apis/batch/v1/cronjobs", undefined, {
      kind: "CronJob",
      apiVersion: "batch/v1",
    });
    this.#jobs = this.#kube.informer<Job>("/apis/batch/v1/jobs", undefined, {
      kind: "Job",
      apiVersion: "batch/v1",
    });
    const enqueue = (cj: CronJob) => this.#queue.add(keyOf(cj));
    this.#cronjobs.on({ add: enqueue, update: enqueue });
    const jobEvent = (j: Job) => {
      const ref = controllerRef(j);
      if (ref?.kind === "CronJob" && ref.apiVersion.startsWith("batch/")) {
        this.#queue.add(`${j.metadata.namespace}/${ref.name}`);
      }
    };
    this.#jobs.on({ add: jobEvent, update: jobEvent, delete: jobEvent });
    this.#jobs.start();
    this.#cronjobs.start();
    await Promise.all([this.#jobs.synced, this.#cronjobs.synced]);
    this.#queue.start();
  }

  async stop(): Promise<void> {
    await this.#queue.stop();
    await Promise.all([this.#cronjobs?.stop(), this.#jobs?.stop()]);
  }

  /** The clock reading of the last completed sync of `<namespace>/<name>` (what tests wait on). */
  lastSync(key: string): Date | undefined {
    return this.#lastSync.get(key);
  }

  async #sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    let cj: CronJob;
    try {
      cj = await this.#kube.get<CronJob>(cjPath(ns, name));
    } catch (e) {
      if (isNotFound(e)) {
        this.#lastSync.delete(key);
        return;
      }
      throw e;
    }
    if (cj.metadata.deletionTimestamp) return;
    const list = await this.#kube.get<{ items: Job[] } & KubeObject>(jobsPath(ns));
    const jobs = list.items.filter((j) => isControlledBy(j, cj.metadata.uid));
    const status = structuredClone(cj.status ?? {});
    const byUid = new Map(jobs.map((j) => [j.metadata.uid, j]));

    // Active list: drop finished and vanished Jobs, adopt running ones we own.
    const active: JobRef[] = [];
    for (const ref of status.active ?? []) {
      const j = byUid.get(ref.uid);
      if (!j) continue;
      const done = jobFinished(j);
      if (done === "Complete") {
        const t = j.status?.completionTime;
        if (t && (!status.lastSuccessfulTime || t > status.lastSuccessfulTime)) {
          status.lastSuccessfulTime = t;
        }
      }
      if (!done) active.push(ref);
    }
    for (const j of jobs) {
      if (!jobFinished(j) && !active.some((r) => r.uid === j.metadata.uid)) active.push(refOf(j));
    }
    status.active = active;

    await this.#cleanupHistory(cj, jobs);
    const now = this.#now();
    let next: Date | undefined;
    if (!cj.spec.suspend) next = await this.#schedule(cj, status, jobs, now);
    if (!status.active.length) delete status.active;
    if (!jsonEqual(status, cj.status ?? {})) {
      await this.#kube.update(`${cjPath(ns, name)}/status`, { ...cj, status });
    }
    this.#lastSync.set(key, now);
    const wait = next ? Math.max(0, next.getTime() - now.getTime()) + 100 : this.#pollMs;
    this.#queue.addAfter(key, Math.min(wait, this.#pollMs));
  }

  /** Runs the most recent due time, if any; returns the next schedule time. */
  async #schedule(
    cj: CronJob,
    status: NonNullable<CronJob["status"]>,
    jobs: Job[],
    now: Date,
  ): Promise<Date | undefined> {
    const tz = cj.spec.timeZone ?? "UTC";
    let schedule: CronSchedule;
    try {
      schedule = parseCronSchedule(cj.spec.schedule, tz);
    } catch (e) {
      log.warn("unparseable schedule", { cronjob: keyOf(cj), error: e });
      return undefined;
    }
    const { recent, next } = mostRecentScheduleTime(cj, now, schedule);
    if (!recent) return next;
    const sds = cj.spec.startingDeadlineSeconds;
    if (sds !== undefined && sds !== null && recent.getTime() + sds * 1000 < now.getTime()) {
      log.info("missed schedule past the starting deadline", { cronjob: keyOf(cj) });
      return next;
    }
    const jobName = `${cj.metadata.name}-${Math.floor(recent.getTime() / 60_000)}`;
    if (jobs.some((j) => j.metadata.name === jobName)) return next;
    const active = status.active ?? [];
    const policy = cj.spec.concurrencyPolicy ?? "Allow";
    if (policy === "Forbid" && active.length) return next;
    if (policy === "Replace") {
      for (const ref of active) {
        try {
          await this.#kube.delete(jobsPath(ref.namespace, ref.name), {
            propagationPolicy: "Background",
          });
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      }
      status.active = [];
    }
    const tmpl = cj.spec.jobTemplate;
    const body: Job = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: jobName,
        namespace: cj.metadata.namespace,
        ...(tmpl.metadata?.labels ? { labels: { ...tmpl.metadata.labels } } : {}),
        annotations: {
          ...(tmpl.metadata?.annotations ?? {}),
          [SCHEDULED_TIMESTAMP_ANNOTATION]: formatInZone(recent, tz),
        },
        ownerReferences: [ownerRefTo(cj, "batch/v1", "CronJob")],
      },
      spec: structuredClone(tmpl.spec),
    };
    try {
      const created = await this.#kube.create<Job>(jobsPath(cj.metadata.namespace!), body);
      log.info("created job", { cronjob: keyOf(cj), job: jobName });
      await this.#events.record(
        EventRecorder.subject(cj, "CronJob", "batch/v1"),
        "Normal",
        "SuccessfulCreate",
        `Created job ${jobName}`,
      );
      status.active = [...(status.active ?? []), refOf(created)];
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
    status.lastScheduleTime = rfc3339(recent);
    return next;
  }

  /** Deletes finished Jobs beyond the history limits, oldest start first. */
  async #cleanupHistory(cj: CronJob, jobs: Job[]): Promise<void> {
    const limits: [string, number | undefined][] = [
      ["Complete", cj.spec.successfulJobsHistoryLimit],
      ["Failed", cj.spec.failedJobsHistoryLimit],
    ];
    for (const [kind, limit] of limits) {
      if (limit === undefined || limit === null) continue;
      const done = jobs.filter((j) => jobFinished(j) === kind && !j.metadata.deletionTimestamp)
        .sort((a, b) => startOf(a) < startOf(b) ? -1 : startOf(a) > startOf(b) ? 1 : 0);
      for (const j of done.slice(0, Math.max(0, done.length - limit))) {
        try {
          await this.#kube.delete(jobsPath(j.metadata.namespace!, j.metadata.name), {
            propagationPolicy: "Background",
          });
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      }
    }
  }
}

function refOf(j: Job): JobRef {
  return {
    kind: "Job",
    namespace: j.metadata.namespace!,
    name: j.metadata.name!,
    uid: j.metadata.uid!,
    apiVersion: "batch/v1",
    resourceVersion: j.metadata.resourceVersion,
  };
}

/** Factory for CLUSTER_CONTROLLERS. */
export function cronJobController(ctx: ClusterContext): ClusterController {
  return new CronJobController(ctx);
}
