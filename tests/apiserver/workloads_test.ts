/**
 * The apps/v1 DaemonSet, StatefulSet, ControllerRevision and batch/v1 Job, CronJob kinds of the
 * embedded API through real kubectl: discovery, defaults, generated Job selector, validation,
 * table columns and the StatefulSet scale subresource. (No controllers run here.)
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { assertMatch, kubectl, kubectlOk, startTestApi } from "./helpers.ts";

const DS = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {role: edge}
      containers: [{name: a, image: "busybox:1"}]
`;

const STS = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: "postgres:16"}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`;

Deno.test("workload kinds: discovery, apply, defaults and kubectl get columns", async () => {
  const api = await startTestApi();
  try {
    const res = await kubectlOk(api, ["api-resources", "--no-headers"]);
    for (
      const [name, short, gv, kind] of [
        ["daemonsets", "ds", "apps/v1", "DaemonSet"],
        ["statefulsets", "sts", "apps/v1", "StatefulSet"],
        ["cronjobs", "cj", "batch/v1", "CronJob"],
      ]
    ) {
      assertMatch(res, new RegExp(`^${name}\\s+${short}\\s+${gv}\\s+true\\s+${kind}$`, "m"));
    }
    assertMatch(res, /^controllerrevisions\s+apps\/v1\s+true\s+ControllerRevision$/m);
    assertMatch(res, /^jobs\s+batch\/v1\s+true\s+Job$/m);

    assertMatch(await kubectlOk(api, ["apply", "-f", "-"], DS), /daemonset.apps\/agent created/);
    const ds = JSON.parse(await kubectlOk(api, ["get", "ds", "agent", "-o", "json"]));
    assertEquals(ds.spec.updateStrategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    });
    assertEquals(ds.spec.revisionHistoryLimit, 10);
    assertEquals(ds.spec.template.spec.restartPolicy, "Always");
    assertEquals(ds.status.desiredNumberScheduled, 0);
    assertEquals(ds.metadata.generation, 1);
    // A second apply with no change is a no-op; a template change bumps the generation.
    assertMatch(await kubectlOk(api, ["apply", "-f", "-"], DS), /unchanged/);
    await kubectlOk(api, ["apply", "-f", "-"], DS.replace("busybox:1", "busybox:2"));
    assertEquals(
      JSON.parse(await kubectlOk(api, ["get", "ds", "agent", "-o", "json"])).metadata.generation,
      2,
    );
    const table = await kubectlOk(api, ["get", "ds", "-o", "wide"]);
    assertMatch(
      table,
      /^NAME\s+DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+NODE SELECTOR\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$/m,
    );
    assertMatch(
      table,
      /^agent\s+0\s+0\s+0\s+0\s+0\s+role=edge\s+\S+\s+a\s+busybox:2\s+app=agent$/m,
    );

    await kubectlOk(api, ["apply", "-f", "-"], STS);
    const sts = JSON.parse(await kubectlOk(api, ["get", "sts", "db", "-o", "json"]));
    assertEquals(sts.spec.podManagementPolicy, "OrderedReady");
    assertEquals(sts.spec.updateStrategy, {
      type: "RollingUpdate",
      rollingUpdate: { partition: 0 },
    });
    assertEquals(sts.spec.persistentVolumeClaimRetentionPolicy, {
      whenDeleted: "Retain",
      whenScaled: "Retain",
    });
    assertEquals(sts.spec.volumeClaimTemplates[0].spec.volumeMode, "Filesystem");
    assertMatch(await kubectlOk(api, ["get", "sts"]), /^db\s+0\/2\s+\S+$/m);
    // The scale subresource: kubectl scale and a read of autoscaling/v1 Scale.
    assertMatch(
      await kubectlOk(api, ["scale", "sts", "db", "--replicas=5"]),
      /statefulset.apps\/db scaled/,
    );
    const scale = JSON.parse(
      await kubectlOk(api, [
        "get",
        "--raw",
        "/apis/apps/v1/namespaces/default/statefulsets/db/scale",
      ]),
    );
    assertEquals(scale.kind, "Scale");
    assertEquals(scale.spec.replicas, 5);
    assertEquals(scale.status.selector, "app=db");
    assertMatch(await kubectlOk(api, ["get", "sts"]), /^db\s+0\/5\s+/m);
  } finally {
    await api.dispose();
  }
});

Deno.test("workload kinds: Job selector and labels are generated, CronJob defaults", async () => {
  const api = await startTestApi();
  try {
    await kubectlOk(api, ["create", "job", "pi", "--image=perl:5.34", "--", "perl", "-e", "1"]);
    const job = JSON.parse(await kubectlOk(api, ["get", "job", "pi", "-o", "json"]));
    const uid = job.metadata.uid;
    assertEquals(job.spec.selector, { matchLabels: { "batch.kubernetes.io/controller-uid": uid } });
    const labels = job.spec.template.metadata.labels;
    assertEquals(labels["batch.kubernetes.io/job-name"], "pi");
    assertEquals(labels["job-name"], "pi");
    assertEquals(labels["batch.kubernetes.io/controller-uid"], uid);
    assertEquals(labels["controller-uid"], uid);
    assertEquals(job.spec.completions, 1);
    assertEquals(job.spec.parallelism, 1);
    assertEquals(job.spec.backoffLimit, 6);
    assertEquals(job.spec.completionMode, "NonIndexed");
    const jobs = await kubectlOk(api, ["get", "jobs"]);
    assertMatch(jobs, /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE$/m);
    assertMatch(jobs, /^pi\s+Running\s+0\/1\s+\S+$/m);

    await kubectlOk(api, [
      "create",
      "cronjob",
      "tick",
      "--image=busybox:1",
      "--schedule=@hourly",
      "--",
      "date",
    ]);
    const cj = JSON.parse(await kubectlOk(api, ["get", "cj", "tick", "-o", "json"]));
    assertEquals(cj.spec.concurrencyPolicy, "Allow");
    assertEquals(cj.spec.suspend, false);
    assertEquals(cj.spec.successfulJobsHistoryLimit, 3);
    assertEquals(cj.spec.failedJobsHistoryLimit, 1);
    assertMatch(
      await kubectlOk(api, ["get", "cronjobs"]),
      /^tick\s+@hourly\s+<none>\s+False\s+0\s+<none>\s+\S+$/m,
    );
  } finally {
    await api.dispose();
  }
});

Deno.test("workload kinds: selector, restartPolicy and schedule are validated", async () => {
  const api = await startTestApi();
  try {
    const mismatch = await kubectl(
      api,
      ["apply", "-f", "-"],
      DS.replace("labels: {app: agent}", "labels: {app: other}"),
    );
    assert(mismatch.code !== 0);
    assertStringIncludes(mismatch.stderr, "`selector` does not match template `labels`");

    const noSelector = await kubectl(
      api,
      ["apply", "-f", "-"],
      DS.replace("  selector: {matchLabels: {app: agent}}\n", ""),
    );
    assert(noSelector.code !== 0);
    assertStringIncludes(noSelector.stderr, "spec.selector: Required value");

    const badSchedule = await kubectl(api, [
      "create",
      "cronjob",
      "bad",
      "--image=busybox:1",
      "--schedule=61 * * * *",
    ]);
    assert(badSchedule.code !== 0);
    assertStringIncludes(badSchedule.stderr, "spec.schedule: Invalid value");

    const alwaysJob = await kubectl(
      api,
      ["apply", "-f", "-"],
      `apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    spec:
      restartPolicy: Always
      containers: [{name: c, image: "busybox:1"}]
`,
    );
    assert(alwaysJob.code !== 0);
    assertStringIncludes(
      alwaysJob.stderr,
      'spec.template.spec.restartPolicy: Unsupported value: "Always"',
    );
  } finally {
    await api.dispose();
  }
});
