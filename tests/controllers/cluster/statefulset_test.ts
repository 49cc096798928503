/**
 * The StatefulSet controller against the embedded API: ordered creation of `<name>-0..n-1`
 * (each after the previous is Running and Ready), PVCs from volumeClaimTemplates, Parallel,
 * scale-down from the top, rolling update with a partition, `kubectl rollout status`.
 * Pods are made Running and Ready by the test, standing in for scheduler and kubelet.
 */
import { assert, assertEquals } from "../../assert.ts";
import { StatefulSetController } from "../../../controllers/cluster/statefulset.ts";
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

const STS = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: "postgres:16"}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`;

function live(pods: Pod[]): Pod[] {
  return pods.filter((p) => !p.metadata.deletionTimestamp);
}

async function names(c: TestCluster): Promise<string> {
  return live(await listPods(c, "app=db")).map((p) => p.metadata.name).sort().join(",");
}

/** Runs every pending pod of the set (scheduler + kubelet stand-in); returns how many. */
async function runPending(c: TestCluster): Promise<number> {
  let n = 0;
  for (const p of live(await listPods(c, "app=db"))) {
    if ((p.status?.phase ?? "Pending") === "Pending") {
      await setPodPhase(c, p, "Running");
      n++;
    }
  }
  return n;
}

Deno.test("statefulset: ordered pods <name>-0..2, PVCs, scale down from the top", async () => {
  const c = await startCluster((ctx) => [new StatefulSetController(ctx)], { kubelet: false });
  try {
    await apply(c, STS);
    await eventually(async () => (await names(c)) === "db-0", "db-0 alone first");
    const [p0] = await listPods(c, "app=db");
    assertEquals(p0.spec.hostname, "db-0");
    assertEquals(p0.spec.subdomain, "db");
    assertEquals(p0.metadata.labels?.["statefulset.kubernetes.io/pod-name"], "db-0");
    assertEquals(p0.metadata.labels?.["apps.kubernetes.io/pod-index"], "0");
    assertEquals(
      p0.spec.volumes?.find((v) => v.name === "data")?.persistentVolumeClaim,
      { claimName: "data-db-0" },
    );
    const pvc = JSON.parse(await kubectlOk(c.api, ["get", "pvc", "data-db-0", "-o", "json"]));
    assertEquals(pvc.metadata.labels.app, "db");
    assertEquals(pvc.spec.resources.requests.storage, "1Gi");
    // db-1 only once db-0 is Running and Ready: a sync that saw db-0 pending left it alone.
    await eventually(async () => {
      const st = JSON.parse(await kubectlOk(c.api, ["get", "sts", "db", "-o", "json"])).status;
      return st.replicas === 1 && st.observedGeneration === 1;
    }, "a status written with db-0 pending");
    assertEquals(await names(c), "db-0");
    await runPending(c);
    await eventually(async () => (await names(c)) === "db-0,db-1", "db-1 after db-0 is ready");
    await runPending(c);
    await eventually(async () => (await names(c)) === "db-0,db-1,db-2", "db-2 after db-1");
    await runPending(c);
    const r = await kubectl(c.api, ["rollout", "status", "sts/db", "--timeout=20s"]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(
      (await kubectlOk(c.api, ["get", "pvc", "-o", "name"])).trim().split("\n").sort(),
      [
        "persistentvolumeclaim/data-db-0",
        "persistentvolumeclaim/data-db-1",
        "persistentvolumeclaim/data-db-2",
      ],
    );
    assert(/^db\s+3\/3\s/m.test(await kubectlOk(c.api, ["get", "sts"])));

    await kubectlOk(c.api, ["scale", "sts", "db", "--replicas=1"]);
    await eventually(async () => (await names(c)) === "db-0", "scaled down to db-0");
    // PVCs are retained (whenScaled: Retain).
    assertEquals(
      (await kubectlOk(c.api, ["get", "pvc", "-o", "name"])).trim().split("\n").length,
      3,
    );
  } finally {
    await c.close();
  }
});

Deno.test("statefulset: Parallel creates all; rolling update with partition, then to the end", async () => {
  const c = await startCluster((ctx) => [new StatefulSetController(ctx)], { kubelet: false });
  try {
    await apply(
      c,
      STS.replace("  serviceName: db\n", "  serviceName: db\n  podManagementPolicy: Parallel\n"),
    );
    await eventually(async () => (await names(c)) === "db-0,db-1,db-2", "all three at once");
    await runPending(c);
    let r = await kubectl(c.api, ["rollout", "status", "sts/db", "--timeout=20s"]);
    assertEquals(r.code, 0, r.stderr);

    // Partition 2: only db-2 moves to the new template.
    await kubectlOk(c.api, [
      "patch",
      "sts",
      "db",
      "--type=merge",
      "-p",
      JSON.stringify({
        spec: {
          updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 2 } },
          template: { spec: { containers: [{ name: "db", image: "postgres:17" }] } },
        },
      }),
    ]);
    const images = async () =>
      Object.fromEntries(
        live(await listPods(c, "app=db")).map((
          p,
        ) => [p.metadata.name, p.spec.containers?.[0].image]),
      );
    await eventually(async () => {
      await runPending(c);
      const i = await images();
      return i["db-2"] === "postgres:17" && i["db-1"] === "postgres:16" &&
        i["db-0"] === "postgres:16";
    }, "db-2 updated, db-0 and db-1 not");
    r = await kubectl(c.api, ["rollout", "status", "sts/db", "--timeout=20s"]);
    assertEquals(r.code, 0, r.stderr);
    assert(r.stdout.includes("partitioned roll out complete"), r.stdout);

    // Partition 0: the rest follow, highest first, and the update revision becomes current.
    await kubectlOk(c.api, [
      "patch",
      "sts",
      "db",
      "--type=merge",
      "-p",
      '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}',
    ]);
    await eventually(async () => {
      await runPending(c);
      const i = await images();
      return Object.values(i).length === 3 && Object.values(i).every((x) => x === "postgres:17");
    }, "every pod updated");
    r = await kubectl(c.api, ["rollout", "status", "sts/db", "--timeout=20s"]);
    assertEquals(r.code, 0, r.stderr);
    const s = JSON.parse(await kubectlOk(c.api, ["get", "sts", "db", "-o", "json"])).status;
    assertEquals(s.currentRevision, s.updateRevision);
    assertEquals(s.updatedReplicas, 3);
    assertEquals(s.readyReplicas, 3);
  } finally {
    await c.close();
  }
});
