/**
 * Endpoints and EndpointSlices follow pods and their readiness, read with kubectl as a user
 * would: pods on edge-sim nodes, a Service with a named and a numbered port, readiness flipped
 * through pods/status, publishNotReadyAddresses, and the Service's deletion.
 */
import { assert, assertEquals, assertStringIncludes } from "../../assert.ts";
import type { KubeObject } from "../../../kube/mod.ts";
import { waitUntil } from "../../wait.ts";
import { kubectlIn, startEdgeCluster } from "./edge_cluster.ts";
import {
  type EndpointSubset,
  subsetsFor,
  truncateSubsets,
} from "../../../controllers/cluster/endpoints.ts";
import type { Pod } from "../../../controllers/cluster/pods.ts";
import type { Service } from "../../../controllers/cluster/service_backends.ts";

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
    // kubectl's column shows three endpoints (subsets in their order), then "+ N more...".
    assert(/10\.0\.0\.1:(8080|9090),.* \+ 2 more\.\.\./.test(table), table);

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

function pod(name: string, ip: string, ready = true, extra: Record<string, unknown> = {}): Pod {
  return {
    metadata: { name, namespace: "default", uid: `uid-${name}`, labels: { app: "web" } },
    spec: {
      nodeName: "n1",
      containers: [{ name: "c", ports: [{ name: "http", containerPort: 8080 }] }],
      ...extra,
    },
    status: { podIP: ip, conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  };
}

function svc(spec: Service["spec"]): Service {
  return {
    metadata: { name: "web", namespace: "default" },
    spec: { selector: { app: "web" }, ...spec },
  };
}

Deno.test("Endpoints subsets: hostname, headless Services without ports, ports a pod lacks", () => {
  const headless = subsetsFor(svc({ clusterIP: "None" }), [
    pod("a", "10.1.0.2", true, { hostname: "a", subdomain: "web" }),
    pod("b", "10.1.0.1", false),
  ]);
  assertEquals(headless, [{
    addresses: [{
      ip: "10.1.0.2",
      hostname: "a",
      nodeName: "n1",
      targetRef: { kind: "Pod", namespace: "default", name: "a", uid: "uid-a" },
    }],
    notReadyAddresses: [{
      ip: "10.1.0.1",
      nodeName: "n1",
      targetRef: { kind: "Pod", namespace: "default", name: "b", uid: "uid-b" },
    }],
  }]);
  // A Service with a ClusterIP and no ports has no endpoints.
  assertEquals(subsetsFor(svc({ clusterIP: "10.96.0.10" }), [pod("a", "10.1.0.1")]), []);
  // A named port resolved per pod: a pod without it is left out of that port only.
  const bare = pod("bare", "10.1.0.9");
  bare.spec.containers = [{ name: "c" }];
  const two = subsetsFor(
    svc({
      clusterIP: "10.96.0.10",
      ports: [
        { name: "http", port: 80, targetPort: "http", protocol: "TCP" },
        { name: "udp", port: 53, targetPort: "http", protocol: "UDP" },
        { name: "raw", port: 81, protocol: "TCP" },
      ],
    }),
    [pod("a", "10.1.0.1"), bare],
  );
  assertEquals(
    two.map((s) => [s.ports?.map((p) => `${p.name}:${p.port}`), s.addresses?.map((a) => a.ip)]),
    // (upstream orders subsets by a hash; here by their JSON)
    [[["raw:81"], ["10.1.0.1", "10.1.0.9"]], [["http:8080"], ["10.1.0.1"]]],
  );
  // Terminating pods are out, unless not-ready addresses are published (then ready).
  const gone = pod("gone", "10.1.0.3");
  gone.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
  const ports = [{ port: 80, protocol: "TCP" }];
  assertEquals(subsetsFor(svc({ clusterIP: "10.96.0.10", ports }), [gone]), []);
  assertEquals(
    subsetsFor(svc({ clusterIP: "10.96.0.10", ports, publishNotReadyAddresses: true }), [gone])
      .map((s) => s.addresses?.length),
    [1],
  );
});

Deno.test("Endpoints above 1000 addresses are truncated, not-ready ones first", () => {
  const address = (i: number) => ({
    ip: `10.2.${i >> 8}.${i & 255}`,
    targetRef: { kind: "Pod", namespace: "default", name: `p${i}`, uid: `${i}` },
  });
  const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => address(from + i));
  const subsets: EndpointSubset[] = [
    {
      addresses: range(0, 900),
      notReadyAddresses: range(900, 200),
      ports: [{ port: 1, protocol: "TCP" }],
    },
  ];
  assertEquals(truncateSubsets(subsets), true);
  assertEquals([subsets[0].addresses?.length, subsets[0].notReadyAddresses?.length], [900, 100]);
  const ready: EndpointSubset[] = [
    { addresses: range(0, 800), ports: [{ port: 1, protocol: "TCP" }] },
    {
      addresses: range(800, 400),
      notReadyAddresses: range(1200, 5),
      ports: [{ port: 2, protocol: "TCP" }],
    },
  ];
  assertEquals(truncateSubsets(ready), true);
  assertEquals(ready.map((s) => [s.addresses?.length, s.notReadyAddresses?.length]), [
    [667, undefined],
    [333, undefined],
  ]);
  assertEquals(truncateSubsets([{ addresses: range(0, 1000) }]), false);
});
