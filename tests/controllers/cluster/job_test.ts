/**
 * The Job controller against the embedded API: pods from the template with the job labels,
 * parallelism and completions, Complete when pods succeed (`kubectl wait`), Failed past the
 * backoff limit, suspend, and deletion after ttlSecondsAfterFinished.
 */
import { assert, assertEquals } from "../../assert.ts";
import { JobController } from "../../../controllers/cluster/job.ts";
import {
  apply,
  eventually,
  kubectl,
  kubectlOk,
  listPods,
  setPodPhase,
  startCluster,
  type TestCluster,
} from "./helpers.ts";
import type { Pod } from "../../../controllers/cluster/pods.ts";

const JOB = `apiVersion: batch/v1
kind: Job
metadata: {name: work}
spec:
  completions: 3
  parallelism: 2
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: w, image: "busybox:1"}]
`;

function start() {
  return startCluster((ctx) => [new JobController(ctx, { backoffBaseMs: 10, backoffMaxMs: 50 })]);
}

async function activePods(c: TestCluster, n: number): Promise<Pod[]> {
  return await eventually(async () => {
    const pods = (await listPods(c, "batch.kubernetes.io/job-name=work")).filter((p) =>
      !p.metadata.deletionTimestamp && (p.status?.phase ?? "Pending") === "Pending"
    );
    return pods.length === n ? pods : undefined;
  }, `${n} pending job pods`);
}

async function jobJson(c: TestCluster) {
  return JSON.parse(await kubectlOk(c.api, ["get", "job", "work", "-o", "json"]));
}

Deno.test("job: parallelism and completions; Complete when pods succeed", async () => {
  const c = await start();
  try {
    await apply(c, JOB);
    const first = await activePods(c, 2);
    const job = await jobJson(c);
    for (const p of first) {
      assertEquals(p.metadata.labels?.["batch.kubernetes.io/job-name"], "work");
      assertEquals(p.metadata.labels?.["batch.kubernetes.io/controller-uid"], job.metadata.uid);
      assertEquals(p.metadata.ownerReferences?.[0].kind, "Job");
      assertEquals(p.spec.restartPolicy, "Never");
    }
    await eventually(async () => (await jobJson(c)).status.active === 2, "status.active 2");
    assert((await jobJson(c)).status.startTime);
    await setPodPhase(c, first[0], "Succeeded");
    await setPodPhase(c, first[1], "Succeeded");
    // One more pod for the third completion, not two.
    const third = await activePods(c, 1);
    assertMatchStatus(await kubectlOk(c.api, ["get", "job", "work"]), "Running", "2/3");
    await setPodPhase(c, third[0], "Succeeded");
    const waited = await kubectl(c.api, [
      "wait",
      "--for=condition=complete",
      "job/work",
      "--timeout=20s",
    ]);
    assertEquals(waited.code, 0, waited.stderr);
    const done = await jobJson(c);
    assertEquals(done.status.succeeded, 3);
    assert(done.status.completionTime);
    const types = done.status.conditions.map((x: { type: string }) => x.type);
    assertEquals(types, ["SuccessCriteriaMet", "Complete"]);
    assertMatchStatus(await kubectlOk(c.api, ["get", "job", "work"]), "Complete", "3/3");
    assertEquals((await listPods(c, "batch.kubernetes.io/job-name=work")).length, 3);
  } finally {
    await c.close();
  }
});

function assertMatchStatus(table: string, status: string, completions: string): void {
  assert(
    new RegExp(`^work\\s+${status}\\s+${completions.replace("/", "\\/")}\\s`, "m").test(table),
    table,
  );
}

Deno.test("job: Failed with BackoffLimitExceeded once failures pass backoffLimit", async () => {
  const c = await start();
  try {
    await apply(c, JOB.replace("parallelism: 2", "parallelism: 1"));
    const [a] = await activePods(c, 1);
    await setPodPhase(c, a, "Failed");
    const [b] = await activePods(c, 1); // replaced after the back-off
    assert(b.metadata.name !== a.metadata.name);
    await setPodPhase(c, b, "Failed");
    const waited = await kubectl(c.api, [
      "wait",
      "--for=condition=failed",
      "job/work",
      "--timeout=20s",
    ]);
    assertEquals(waited.code, 0, waited.stderr);
    const job = await jobJson(c);
    assertEquals(job.status.failed, 2);
    const failed = job.status.conditions.find((x: { type: string }) => x.type === "Failed");
    assertEquals(failed.reason, "BackoffLimitExceeded");
    assertMatchStatus(await kubectlOk(c.api, ["get", "job", "work"]), "Failed", "0/3");
  } finally {
    await c.close();
  }
});

Deno.test("job: suspend deletes active pods; ttlSecondsAfterFinished deletes the finished job", async () => {
  const c = await start();
  try {
    await apply(c, JOB.replace("backoffLimit: 1", "backoffLimit: 1\n  ttlSecondsAfterFinished: 0"));
    await activePods(c, 2);
    await kubectlOk(c.api, [
      "patch",
      "job",
      "work",
      "--type=merge",
      "-p",
      '{"spec":{"suspend":true}}',
    ]);
    await eventually(async () => {
      const j = await jobJson(c);
      return j.status.conditions?.some((x: { type: string; status: string }) =>
        x.type === "Suspended" && x.status === "True"
      ) && (await listPods(c, "batch.kubernetes.io/job-name=work")).length === 0;
    }, "suspended with no pods");
    assertMatchStatus(await kubectlOk(c.api, ["get", "job", "work"]), "Suspended", "0/3");
    await kubectlOk(c.api, [
      "patch",
      "job",
      "work",
      "--type=merge",
      "-p",
      '{"spec":{"suspend":false}}',
    ]);
    for (let done = 0; done < 3;) {
      const pods = await activePods(c, Math.min(2, 3 - done));
      for (const p of pods) await setPodPhase(c, p, "Succeeded");
      done += pods.length;
    }
    await eventually(async () => {
      const r = await kubectl(c.api, ["get", "job", "work"]);
      return r.code !== 0 && r.stderr.includes("NotFound");
    }, "the job deleted after its TTL");
    await eventually(
      async () => (await listPods(c, "batch.kubernetes.io/job-name=work")).length === 0,
      "its pods collected",
    );
  } finally {
    await c.close();
  }
});
