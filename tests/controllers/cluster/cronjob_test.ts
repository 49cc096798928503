/**
 * The CronJob controller with an injected clock: a Job at each schedule time (named by the
 * scheduled minute), concurrencyPolicy Forbid and Replace, suspend, history limits, and the
 * schedule walk (`mostRecentScheduleTime`) itself.
 */
import { assert, assertEquals } from "../../assert.ts";
import {
  type CronJob,
  CronJobController,
  formatInZone,
  mostRecentScheduleTime,
} from "../../../controllers/cluster/cronjob.ts";
import { parseCronSchedule } from "../../../lib/mod.ts";
import type { Job } from "../../../controllers/cluster/job.ts";
import type { KubeObject } from "../../../kube/mod.ts";
import { apply, eventually, kubectlOk, startCluster, type TestCluster } from "./helpers.ts";

const CJ = `apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "*/5 * * * *"
  concurrencyPolicy: Forbid
  successfulJobsHistoryLimit: 1
  jobTemplate:
    metadata: {labels: {app: tick}}
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: t, image: "busybox:1"}]
`;

/** A settable clock. */
class TestClock {
  constructor(public t: number) {}
  now = () => new Date(this.t);
}

async function jobs(c: TestCluster): Promise<Job[]> {
  const l = await c.kube.get<{ items: Job[] } & KubeObject>(
    "/apis/batch/v1/namespaces/default/jobs",
  );
  return l.items.filter((j) => !j.metadata.deletionTimestamp);
}

async function completeJob(c: TestCluster, j: Job, at: Date): Promise<void> {
  const t = at.toISOString().replace(/\.\d{3}Z$/, "Z");
  await c.kube.patch(
    `/apis/batch/v1/namespaces/default/jobs/${j.metadata.name}/status`,
    JSON.stringify({
      status: {
        startTime: t,
        completionTime: t,
        succeeded: 1,
        conditions: [{ type: "Complete", status: "True", lastTransitionTime: t }],
      },
    }),
    "application/merge-patch+json",
  );
}

/** Waits until the controller has completed a sync that read the clock at or after `t`. */
function synced(ctl: CronJobController, t: number): Promise<unknown> {
  return eventually(
    () => (ctl.lastSync("default/tick")?.getTime() ?? -Infinity) >= t,
    `a sync at clock ${new Date(t).toISOString()}`,
  );
}

/** The next 5-minute boundary after `t`, plus `extraS` seconds. */
function nextFive(t: number, extraS = 1): number {
  return (Math.floor(t / 300_000) + 1) * 300_000 + extraS * 1000;
}

Deno.test("cronjob: creates a Job at the schedule (injected clock); Forbid; history limit", async () => {
  const clock = new TestClock(Date.now());
  let ctl!: CronJobController;
  const c = await startCluster((ctx) => [ctl = new CronJobController(ctx, { pollMs: 20 })], {
    now: clock.now,
  });
  try {
    await apply(c, CJ);
    const cj = JSON.parse(await kubectlOk(c.api, ["get", "cj", "tick", "-o", "json"]));
    // Nothing before the first schedule time after creation.
    await synced(ctl, clock.t);
    assertEquals((await jobs(c)).length, 0);

    const first = nextFive(Date.parse(cj.metadata.creationTimestamp));
    clock.t = first;
    const [j1] = await eventually(async () => {
      const l = await jobs(c);
      return l.length === 1 ? l : undefined;
    }, "the first job");
    const scheduled = first - 1000;
    assertEquals(j1.metadata.name, `tick-${scheduled / 60_000}`);
    assertEquals(j1.metadata.labels?.app, "tick");
    assertEquals(j1.metadata.ownerReferences?.[0].kind, "CronJob");
    assertEquals(
      j1.metadata.annotations?.["batch.kubernetes.io/cronjob-scheduled-timestamp"],
      new Date(scheduled).toISOString().replace(/\.\d{3}Z$/, "Z"),
    );
    await eventually(async () => {
      const s = JSON.parse(await kubectlOk(c.api, ["get", "cj", "tick", "-o", "json"])).status;
      return s.active?.length === 1 && s.lastScheduleTime ===
          new Date(scheduled).toISOString().replace(/\.\d{3}Z$/, "Z");
    }, "status.active and lastScheduleTime");
    assert(/^tick\s+\*\/5 \* \* \* \*\s+<none>\s+False\s+1\s+/m.test(
      await kubectlOk(c.api, ["get", "cj"]),
    ));

    // Forbid: the next time passes while the first job runs: no second job.
    clock.t = first + 300_000;
    await synced(ctl, clock.t);
    assertEquals((await jobs(c)).length, 1);
    assertEquals(
      JSON.parse(await kubectlOk(c.api, ["get", "cj", "tick", "-o", "json"])).status
        .lastScheduleTime,
      new Date(scheduled).toISOString().replace(/\.\d{3}Z$/, "Z"),
    );

    // The first completes; the next time gets a job; then the older finished one is pruned
    // (successfulJobsHistoryLimit 1) once the second completes too.
    await completeJob(c, j1, new Date(first + 10_000));
    clock.t = first + 600_000;
    const j2 = await eventually(async () => {
      const l = await jobs(c);
      return l.find((j) => j.metadata.name === `tick-${(scheduled + 600_000) / 60_000}`);
    }, "the job of the third time (the second was skipped)");
    await eventually(async () => {
      const s = JSON.parse(await kubectlOk(c.api, ["get", "cj", "tick", "-o", "json"])).status;
      return s.lastSuccessfulTime && s.active?.length === 1;
    }, "lastSuccessfulTime and one active");
    await completeJob(c, j2, new Date(first + 610_000));
    await eventually(async () => {
      const l = await jobs(c);
      return l.length === 1 && l[0].metadata.name === j2.metadata.name;
    }, "only the newest finished job kept");
  } finally {
    await c.close();
  }
});

Deno.test("cronjob: Replace deletes the running job; suspend stops new runs", async () => {
  const clock = new TestClock(Date.now());
  let ctl!: CronJobController;
  const c = await startCluster((ctx) => [ctl = new CronJobController(ctx, { pollMs: 20 })], {
    now: clock.now,
  });
  try {
    await apply(c, CJ.replace("Forbid", "Replace").replace('"*/5 * * * *"', "'@hourly'"));
    const cj = JSON.parse(await kubectlOk(c.api, ["get", "cj", "tick", "-o", "json"]));
    const hour = (Math.floor(Date.parse(cj.metadata.creationTimestamp) / 3_600_000) + 1) *
      3_600_000;
    clock.t = hour + 5_000;
    const j1 = await eventually(async () => (await jobs(c))[0], "the first hourly job");
    assertEquals(j1.metadata.name, `tick-${hour / 60_000}`);
    clock.t = hour + 3_600_000 + 5_000;
    await eventually(async () => {
      const l = await jobs(c);
      return l.length === 1 && l[0].metadata.name === `tick-${(hour + 3_600_000) / 60_000}`;
    }, "the running job replaced by the next one");

    await kubectlOk(c.api, [
      "patch",
      "cj",
      "tick",
      "--type=merge",
      "-p",
      '{"spec":{"suspend":true}}',
    ]);
    await eventually(
      async () =>
        JSON.parse(await kubectlOk(c.api, ["get", "cj", "tick", "-o", "json"])).spec.suspend,
      "suspended",
    );
    clock.t = hour + 2 * 3_600_000 + 5_000;
    await synced(ctl, clock.t);
    const l = await jobs(c);
    assertEquals(l.map((j) => j.metadata.name), [`tick-${(hour + 3_600_000) / 60_000}`]);
  } finally {
    await c.close();
  }
});

Deno.test("cronjob: the most recent missed time only, within startingDeadlineSeconds", () => {
  const created = "2026-03-01T10:02:00Z";
  const cj = (extra: Partial<CronJob["spec"]> = {}, lastScheduleTime?: string): CronJob => ({
    metadata: { name: "x", namespace: "default", creationTimestamp: created },
    spec: { schedule: "*/10 * * * *", jobTemplate: { spec: { template: { spec: {} } } }, ...extra },
    status: lastScheduleTime ? { lastScheduleTime } : {},
  });
  const s = parseCronSchedule("*/10 * * * *");
  const at = (iso: string) => new Date(iso);
  assertEquals(mostRecentScheduleTime(cj(), at("2026-03-01T10:05:00Z"), s).recent, undefined);
  assertEquals(
    mostRecentScheduleTime(cj(), at("2026-03-01T10:05:00Z"), s).next,
    at("2026-03-01T10:10:00Z"),
  );
  // Missed 10:10 .. 10:50: only 10:50 is due.
  assertEquals(
    mostRecentScheduleTime(cj(), at("2026-03-01T10:55:00Z"), s).recent,
    at("2026-03-01T10:50:00Z"),
  );
  assertEquals(
    mostRecentScheduleTime(cj({}, "2026-03-01T10:50:00Z"), at("2026-03-01T10:55:00Z"), s).recent,
    undefined,
  );
  // A starting deadline of 60 s moves the earliest time up: nothing in (10:54, 10:55].
  assertEquals(
    mostRecentScheduleTime(cj({ startingDeadlineSeconds: 60 }), at("2026-03-01T10:55:00Z"), s)
      .recent,
    undefined,
  );
  assertEquals(formatInZone(at("2026-03-01T10:00:00Z"), "UTC"), "2026-03-01T10:00:00Z");
  assertEquals(
    formatInZone(at("2026-03-01T10:00:00Z"), "Asia/Kolkata"),
    "2026-03-01T15:30:00+05:30",
  );
  // Time zones move the schedule: 09:00 in New York is 14:00 UTC in March before DST.
  assertEquals(
    parseCronSchedule("0 9 * * *", "America/New_York").next(at("2026-03-01T00:00:00Z")),
    at("2026-03-01T14:00:00Z"),
  );
});
