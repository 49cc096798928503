/**
 * A DaemonSet on real edge-sim nodes (the usual way to put an app on every edge node): one pod per
 * node, Running there, and a pod on an edge that joins afterwards.
 */
import { assertEquals } from "../../assert.ts";
import { EdgeSimulator } from "../../../edge/sim/mod.ts";
import { waitUntil } from "../../wait.ts";
import type { KubeObject } from "../../../kube/mod.ts";
import { startEdgeCluster } from "./edge_cluster.ts";

type PodList = KubeObject & {
  items: { spec: { nodeName?: string }; status?: { phase?: string } }[];
};

Deno.test("DaemonSet: a Running pod on every edge node, including one that joins later", async () => {
  const c = await startEdgeCluster(2);
  let late: EdgeSimulator | undefined;
  try {
    await c.stack.kube.create("/apis/apps/v1/namespaces/default/daemonsets", {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "agent" },
      spec: {
        selector: { matchLabels: { app: "agent" } },
        template: {
          metadata: { labels: { app: "agent" } },
          spec: { containers: [{ name: "a", image: "busybox:1" }] },
        },
      },
    });
    const running = async () => {
      const l = await c.stack.kube.get<PodList>("/api/v1/namespaces/default/pods", {
        query: { labelSelector: "app=agent" },
      });
      return l.items.filter((p) => p.status?.phase === "Running").map((p) => p.spec.nodeName)
        .sort();
    };
    await waitUntil(async () => (await running()).length === 2, "a pod Running on each edge");
    assertEquals(await running(), ["edge-0", "edge-1"]);
    const events = await c.stack.kube.get<KubeObject & { items: { reason?: string }[] }>(
      "/api/v1/namespaces/default/events",
      { query: { fieldSelector: "involvedObject.kind=DaemonSet,involvedObject.name=agent" } },
    );
    assertEquals(events.items.filter((e) => e.reason === "SuccessfulCreate").length, 2);
    late = new EdgeSimulator({
      nodes: 1,
      namePrefix: "late-",
      server: c.stack.server,
      credentials: (n) => c.stack.issuer.credentials(n),
      nodeStatusInterval: 1,
      leaseInterval: 1,
    });
    await late.start();
    await waitUntil(async () => (await running()).includes("late-0"), "a pod on the new edge", {
      timeoutMs: 20_000,
    });
    assertEquals(await running(), ["edge-0", "edge-1", "late-0"]);
  } finally {
    await late?.stop();
    await c.close();
  }
});
