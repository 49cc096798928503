/**
 * Deployments on edge-sim nodes through the embedded control plane, driven with kubectl: three
 * replicas spread over three edges and become Available; a rolling update (maxSurge 1,
 * maxUnavailable 0) replaces pods one at a time without dropping below three ready;
 * `rollout status`, `rollout undo`, `rollout restart`, `scale`; deletion takes the sets and pods.
 */
import { assert, assertEquals, assertStringIncludes } from "../../assert.ts";
import { waitUntil } from "../../wait.ts";
import { type EdgeCluster, kubectlIn, startEdgeCluster } from "./edge_cluster.ts";

const kubectl = kubectlIn;

const DEPLOY = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: c
        image: nginx:1.25
`;

interface PodRow {
  name: string;
  node: string;
  image: string;
  ready: boolean;
}

async function pods(c: EdgeCluster): Promise<PodRow[]> {
  const list = JSON.parse(await kubectl(c, ["get", "pods", "-l", "app=web", "-o", "json"])) as {
    items: {
      metadata: { name: string; deletionTimestamp?: string };
      spec: { nodeName?: string; containers: { image: string }[] };
      status?: { conditions?: { type: string; status: string }[] };
    }[];
  };
  return list.items.filter((p) => !p.metadata.deletionTimestamp).map((p) => ({
    name: p.metadata.name,
    node: p.spec.nodeName ?? "",
    image: p.spec.containers[0].image,
    ready: p.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True") ?? false,
  }));
}

Deno.test("Deployment: spread, Available, rolling update one by one, rollout status/undo/restart, scale, delete", async () => {
  const c = await startEdgeCluster(3);
  try {
    await kubectl(c, ["apply", "-f", "-"], DEPLOY);
    const status = await kubectl(c, ["rollout", "status", "deployment/web", "--timeout=60s"]);
    assertStringIncludes(status, 'deployment "web" successfully rolled out');
    const first = await pods(c);
    assertEquals(first.length, 3);
    assertEquals(new Set(first.map((p) => p.node)).size, 3, "one pod per edge node");
    const cond = await kubectl(c, [
      "get",
      "deploy",
      "web",
      "-o",
      'jsonpath={.status.conditions[?(@.type=="Available")].status}',
    ]);
    assertEquals(cond, "True");
    const table = await kubectl(c, ["get", "deploy", "web"]);
    assert(/web\s+3\/3\s+3\s+3/.test(table), table);

    // Rolling update: watch readiness while it runs.
    await kubectl(c, ["set", "image", "deployment/web", "c=nginx:1.26"]);
    let minReady = 3;
    const watching = (async () => {
      for (;;) {
        const rows = await pods(c);
        minReady = Math.min(minReady, rows.filter((p) => p.ready).length);
        if (rows.length === 3 && rows.every((p) => p.image === "nginx:1.26" && p.ready)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await kubectl(c, ["rollout", "status", "deployment/web", "--timeout=60s"]);
    await watching;
    assertEquals(minReady, 3, "never fewer than 3 ready during the update");
    const rs = await kubectl(c, ["get", "rs", "-l", "app=web", "-o", "name"]);
    assertEquals(rs.trim().split("\n").length, 2);

    // Undo restores the old image; restart rolls the same template again.
    await kubectl(c, ["rollout", "undo", "deployment/web"]);
    await kubectl(c, ["rollout", "status", "deployment/web", "--timeout=60s"]);
    await waitUntil(async () => (await pods(c)).every((p) => p.image === "nginx:1.25"), "undo");
    const history = await kubectl(c, ["rollout", "history", "deployment/web"]);
    assertStringIncludes(history, "3");
    await kubectl(c, ["rollout", "restart", "deployment/web"]);
    await kubectl(c, ["rollout", "status", "deployment/web", "--timeout=60s"]);

    await kubectl(c, ["scale", "deployment/web", "--replicas=5"]);
    await waitUntil(async () => (await pods(c)).filter((p) => p.ready).length === 5, "5 ready");
    await kubectl(c, ["scale", "deployment/web", "--replicas=2"]);
    await waitUntil(async () => (await pods(c)).length === 2, "2 pods");
    const events = await kubectl(c, [
      "get",
      "events",
      "--field-selector",
      "involvedObject.kind=Deployment",
    ]);
    assertStringIncludes(events, "ScalingReplicaSet");

    await kubectl(c, ["delete", "deployment", "web", "--wait=true"]);
    await waitUntil(
      async () =>
        (await kubectl(c, ["get", "rs,pods", "-l", "app=web", "-o", "name"])).trim() === "",
      "cascade",
    );
  } finally {
    await c.close();
  }
});
