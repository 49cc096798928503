/**
 * Endpoints and EndpointSlices follow pods and their readiness, read with kubectl as a user
 * would: pods on edge-sim nodes, a Service with a named and a numbered port, readiness flipped
 * through pods/status, publishNotReadyAddresses, and the Service's deletion.
 */
import { assert, assertEquals, assertStringIncludes } from "../../assert.ts";
import type { KubeObject } from "../../../kube/mod.ts";
import { waitUntil } from "../../wait.ts";
import { kubectlIn, startEdgeCluster } from "./edge_cluster.ts";

interface Address {
  ip: string;
  nodeName?: string;
  targetRef: { kind: string; name: string };
}
type Endpoints = KubeObject & {
  subsets?: {
    addresses?: Address[];
    notReadyAddresses?: Address[];
    ports?: { name?: string; port: number; protocol: string }[];
  }[];
};
type Slice = KubeObject & {
  metadata: {
    name?: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string }[];
  };
  addressType: string;
  endpoints?: {
    conditions: { ready: boolean; serving: boolean; terminating: boolean };
    nodeName?: string;
    targetRef: { name: string };
  }[];
  ports?: { port: number; name: string }[];
};

const POD = (name: string, node: string, named: boolean) =>
  JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app: "web" } },
    spec: {
      nodeName: node,
      containers: [{
        name: "c",
        image: "x",
        ports: named ? [{ name: "http", containerPort: 8080 }] : [],
      }],
    },
  });

const SERVICE = `apiVersion: v1
kind: Service
metadata: {name: web, labels: {team: a}}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: metrics, port: 9090}
`;

/** kubectl is a process per probe: poll gently. */
const SLOW = { intervalMs: 200 };

Deno.test("Endpoints and EndpointSlices follow pods and readiness (kubectl)", async () => {
  const c = await startEdgeCluster(2);
  const k = (args: string[], stdin?: string) => kubectlIn(c, args, stdin);
  try {
    await k(["apply", "-f", "-"], POD("p0", "edge-0", true));
    await k(["apply", "-f", "-"], POD("p1", "edge-1", true));
    // p2 has no port named http: it backs the metrics port only.
    await k(["apply", "-f", "-"], POD("p2", "edge-1", false));
    await k(["apply", "-f", "-"], SERVICE);

    const ep = async () =>
      JSON.parse(await k(["get", "endpoints", "web", "-o", "json"])) as Endpoints;
    const names = (e: Endpoints, field: "addresses" | "notReadyAddresses") =>
      (e.subsets ?? []).map((s) => ({
        ports: (s.ports ?? []).map((p) => `${p.name}:${p.port}`).sort().join(","),
        names: (s[field] ?? []).map((a) => a.targetRef.name).sort().join(","),
      })).filter((x) => x.names).sort((a, b) => a.ports.localeCompare(b.ports));
    let seen: Endpoints | undefined;
    await waitUntil(
      async () => {
        const e = seen = await ep().catch(() => undefined);
        return !!e && JSON.stringify(names(e, "addresses")) === JSON.stringify([
              { ports: "http:8080", names: "p0,p1" },
              { ports: "metrics:9090", names: "p0,p1,p2" },
            ]);
      },
      "every ready pod in Endpoints, in subsets of the addresses sharing ports",
      {
        ...SLOW,
        detail: () => JSON.stringify(seen),
      },
    );
    const first = await ep();
    assertEquals(first.metadata?.labels, { team: "a" });
    const p0 = first.subsets!.flatMap((s) => s.addresses ?? []).find((a) =>
      a.targetRef.name === "p0"
    );
    assertEquals([p0?.nodeName, p0?.targetRef.kind], ["edge-0", "Pod"]);
    const table = await k(["get", "endpoints", "web"]);
    assertStringIncludes(table, "ENDPOINTS");
    assertStringIncludes(table, ":8080");

    const slices = async () =>
      (JSON.parse(
        await k(["get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", "json"]),
      ) as { items: Slice[] }).items;
    const all = await slices();
    assertEquals(all.length, 2, "one slice per set of ports");
    for (const s of all) {
      assertEquals(s.addressType, "IPv4");
      assert(s.metadata?.name?.startsWith("web-"), s.metadata?.name);
      assertEquals(
        s.metadata?.labels?.["endpointslice.kubernetes.io/managed-by"],
        "endpointslice-controller.k8s.io",
      );
      assertEquals(s.metadata?.labels?.team, "a");
      assertEquals(s.metadata?.ownerReferences?.[0]?.kind, "Service");
    }
    const sliceTable = await k(["get", "endpointslices"]);
    assertStringIncludes(sliceTable, "ADDRESSTYPE");
    assertStringIncludes(sliceTable, "8080,9090");

    // p1 stops being ready: it moves to notReadyAddresses, its slice endpoint is not ready.
    await k([
      "patch",
      "pod",
      "p1",
      "--subresource=status",
      "--type=strategic",
      "-p",
      '{"status":{"conditions":[{"type":"Ready","status":"False"}]}}',
    ]);
    await waitUntil(
      async () => {
        const e = await ep();
        return JSON.stringify(names(e, "notReadyAddresses")) === JSON.stringify([
          { ports: "http:8080", names: "p1" },
          { ports: "metrics:9090", names: "p1" },
        ]);
      },
      "p1 not ready in Endpoints",
      SLOW,
    );
    const conditionOf = async (pod: string) =>
      (await slices()).flatMap((s) => s.endpoints ?? []).find((e) => e.targetRef.name === pod)
        ?.conditions;
    await waitUntil(
      async () => (await conditionOf("p1"))?.ready === false,
      "p1 not ready in its slice",
      SLOW,
    );
    assertEquals(await conditionOf("p1"), { ready: false, serving: false, terminating: false });
    assertEquals((await conditionOf("p0"))?.ready, true);

    // publishNotReadyAddresses: p1 is published as ready again.
    await k(["patch", "service", "web", "-p", '{"spec":{"publishNotReadyAddresses":true}}']);
    await waitUntil(
      async () => {
        const e = await ep();
        return names(e, "notReadyAddresses").length === 0 &&
          names(e, "addresses").some((x) => x.names === "p0,p1");
      },
      "p1 published",
      SLOW,
    );
    await waitUntil(
      async () => (await conditionOf("p1"))?.ready === true,
      "p1 ready in slice",
      SLOW,
    );
    assertEquals((await conditionOf("p1"))?.serving, false);

    // Deleting the Service deletes its Endpoints, and its slices go with the garbage collector.
    await k(["delete", "service", "web"]);
    await waitUntil(
      () => ep().then(() => false, () => true),
      "Endpoints deleted with the Service",
      SLOW,
    );
    await waitUntil(
      async () => (await slices()).length === 0,
      "slices deleted with the Service",
      SLOW,
    );
  } finally {
    await c.close();
  }
});

Deno.test("Endpoints and slices of a Service without pods; hand-written Endpoints are left alone", async () => {
  const c = await startEdgeCluster(1);
  const k = (args: string[], stdin?: string) => kubectlIn(c, args, stdin);
  try {
    await k(["create", "service", "clusterip", "empty", "--tcp=80:8080"]);
    const sliceJson = async () =>
      (JSON.parse(
        await k(["get", "endpointslices", "-l", "kubernetes.io/service-name=empty", "-o", "json"]),
      ) as { items: Slice[] }).items;
    await waitUntil(async () => (await sliceJson()).length === 1, "the placeholder slice", SLOW);
    const [placeholder] = await sliceJson();
    assertEquals(placeholder.endpoints ?? [], []);
    assertEquals(placeholder.ports ?? [], []);
    await waitUntil(
      () => k(["get", "endpoints", "empty"]).then(() => true, () => false),
      "empty Endpoints",
      SLOW,
    );

    // A Service without a selector: its Endpoints are the user's.
    await k(
      ["apply", "-f", "-"],
      `apiVersion: v1
kind: Service
metadata: {name: manual}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: manual}
subsets: [{addresses: [{ip: 192.0.2.1}], ports: [{port: 80}]}]
`,
    );
    // The controller has seen the Service once the empty one's Endpoints exist; both are synced
    // from the same queue, so one more Service created after it proves `manual` was handled.
    await k(["create", "service", "clusterip", "after", "--tcp=80:8080"]);
    await waitUntil(
      () => k(["get", "endpoints", "after"]).then(() => true, () => false),
      "Endpoints of a later Service",
      SLOW,
    );
    const manual = await k([
      "get",
      "endpoints",
      "manual",
      "-o",
      "jsonpath={.subsets[0].addresses[0].ip}",
    ]);
    assertEquals(manual, "192.0.2.1");
    assertEquals(
      (JSON.parse(
        await k(["get", "endpointslices", "-l", "kubernetes.io/service-name=manual", "-o", "json"]),
      ) as { items: Slice[] }).items.length,
      0,
    );
  } finally {
    await c.close();
  }
});
