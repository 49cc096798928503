/** Endpoints and EndpointSlices follow pod readiness (pods on edge-sim nodes, kubectl to read). */
import { assertEquals } from "../../assert.ts";
import type { KubeObject } from "../../../kube/mod.ts";
import { waitUntil } from "../../wait.ts";
import { startEdgeCluster } from "./edge_cluster.ts";

type Endpoints = KubeObject & {
  subsets?: {
    addresses?: { targetRef: { name: string } }[];
    notReadyAddresses?: { targetRef: { name: string } }[];
    ports?: { port: number }[];
  }[];
};
type Slice = KubeObject & {
  endpoints?: { conditions: { ready: boolean }; targetRef: { name: string } }[];
  ports?: { port: number; name?: string }[];
};

Deno.test("Endpoints and EndpointSlices follow pod readiness", async () => {
  const c = await startEdgeCluster(2);
  const k = c.stack.kube;
  try {
    for (const [name, node] of [["p0", "edge-0"], ["p1", "edge-1"]]) {
      await k.create("/api/v1/namespaces/default/pods", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, labels: { app: "web" } },
        spec: {
          nodeName: node,
          containers: [{ name: "c", image: "x", ports: [{ name: "http", containerPort: 8080 }] }],
        },
      });
    }
    await k.create("/api/v1/namespaces/default/services", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web" },
      spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
    });
    const ep = () => k.get<Endpoints>("/api/v1/namespaces/default/endpoints/web");
    const ready = async () =>
      ((await ep()).subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.targetRef.name))
        .sort();
    await waitUntil(
      async () => (await ready().catch(() => [])).length === 2,
      "both pods ready endpoints",
    );
    assertEquals((await ep()).subsets?.[0].ports?.[0].port, 8080);
    // p1 stops being ready: it moves to notReadyAddresses, and its slice endpoint is not ready.
    await k.patch("/api/v1/namespaces/default/pods/p1/status", {
      status: { conditions: [{ type: "Ready", status: "False" }] },
    }, "application/strategic-merge-patch+json");
    await waitUntil(async () => JSON.stringify(await ready()) === '["p0"]', "p1 not ready");
    const notReady = ((await ep()).subsets ?? []).flatMap((s) =>
      (s.notReadyAddresses ?? []).map((a) => a.targetRef.name)
    );
    assertEquals(notReady, ["p1"]);
    const slice = await k.get<Slice>(
      "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/web",
    );
    assertEquals(slice.metadata?.labels?.["kubernetes.io/service-name"], "web");
    assertEquals(
      (slice.endpoints ?? []).map((e) => [e.targetRef.name, e.conditions.ready]),
      [["p0", true], ["p1", false]],
    );
    // Deleting the pod removes it; deleting the Service removes its Endpoints.
    await k.delete("/api/v1/namespaces/default/pods/p0");
    await waitUntil(async () => (await ready()).length === 0, "p0 gone");
    await k.delete("/api/v1/namespaces/default/services/web");
    await waitUntil(() => ep().then(() => false, () => true), "Endpoints deleted with the Service");
  } finally {
    await c.close();
  }
});
