/**
 * The EndpointSlice controller's desired state, without a cluster: conditions of ready,
 * not-ready and terminating pods, publishNotReadyAddresses, hostname and zone, grouping by the
 * ports each pod offers, 100 endpoints per slice, the placeholder, address types, and pods on
 * unknown nodes. (endpoints_test.ts runs the controller against the API with kubectl.)
 */
import { assertEquals } from "../../assert.ts";
import { desiredSlices } from "../../../controllers/cluster/endpointslice.ts";
import type { Node, Pod } from "../../../controllers/cluster/pods.ts";
import type { Service } from "../../../controllers/cluster/service_backends.ts";

function pod(name: string, opts: {
  ready?: boolean;
  deleting?: boolean;
  ip?: string;
  ips?: string[];
  node?: string;
  named?: boolean;
  hostname?: string;
  subdomain?: string;
  phase?: string;
} = {}): Pod {
  return {
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      labels: { app: "web" },
      ...(opts.deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: {
      nodeName: opts.node ?? "n1",
      ...(opts.hostname ? { hostname: opts.hostname, subdomain: opts.subdomain } : {}),
      containers: [{
        name: "c",
        ports: opts.named === false ? [] : [{ name: "http", containerPort: 8080 }],
      }],
    },
    status: {
      phase: opts.phase ?? "Running",
      ...(opts.ips ? { podIPs: opts.ips.map((ip) => ({ ip })) } : { podIP: opts.ip ?? "10.1.0.1" }),
      conditions: [{ type: "Ready", status: opts.ready === false ? "False" : "True" }],
    },
  };
}

function service(spec: Service["spec"] = {}): Service {
  return {
    metadata: { name: "web", namespace: "default", uid: "svc" },
    spec: {
      selector: { app: "web" },
      clusterIP: "10.96.0.10",
      ipFamilies: ["IPv4"],
      ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
      ...spec,
    },
  };
}

const NODES: Record<string, Node> = {
  n1: { metadata: { name: "n1", labels: { "topology.kubernetes.io/zone": "z1" } } },
  n2: { metadata: { name: "n2" } },
};
const nodeOf = (n: string) => NODES[n];

Deno.test("slice endpoints: serving, terminating and ready conditions, node, zone, hostname", () => {
  const { slices, missingNodes } = desiredSlices(service(), [
    pod("a", { ip: "10.1.0.1" }),
    pod("b", { ip: "10.1.0.2", ready: false, node: "n2" }),
    pod("c", { ip: "10.1.0.3", deleting: true, hostname: "c", subdomain: "web" }),
    pod("done", { ip: "10.1.0.4", phase: "Succeeded" }),
    pod("other", { ip: "10.1.0.5", hostname: "x", subdomain: "other" }),
  ], nodeOf);
  assertEquals(missingNodes, []);
  assertEquals(slices.length, 1);
  assertEquals(slices[0].addressType, "IPv4");
  assertEquals(slices[0].ports, [{ name: "http", port: 8080, protocol: "TCP" }]);
  assertEquals(slices[0].endpoints, [
    {
      addresses: ["10.1.0.1"],
      conditions: { ready: true, serving: true, terminating: false },
      targetRef: { kind: "Pod", namespace: "default", name: "a", uid: "uid-a" },
      nodeName: "n1",
      zone: "z1",
    },
    {
      addresses: ["10.1.0.2"],
      conditions: { ready: false, serving: false, terminating: false },
      targetRef: { kind: "Pod", namespace: "default", name: "b", uid: "uid-b" },
      nodeName: "n2",
    },
    {
      addresses: ["10.1.0.3"],
      conditions: { ready: false, serving: true, terminating: true },
      hostname: "c",
      targetRef: { kind: "Pod", namespace: "default", name: "c", uid: "uid-c" },
      nodeName: "n1",
      zone: "z1",
    },
    {
      addresses: ["10.1.0.5"],
      conditions: { ready: true, serving: true, terminating: false },
      targetRef: { kind: "Pod", namespace: "default", name: "other", uid: "uid-other" },
      nodeName: "n1",
      zone: "z1",
    },
  ]);
  // publishNotReadyAddresses: every endpoint is ready, terminating ones included.
  const published = desiredSlices(service({ publishNotReadyAddresses: true }), [
    pod("b", { ready: false }),
    pod("c", { deleting: true }),
  ], nodeOf).slices[0].endpoints.map((e) => e.conditions);
  assertEquals(published, [
    { ready: true, serving: false, terminating: false },
    { ready: true, serving: true, terminating: true },
  ]);
});

Deno.test("slices: one group per set of ports, 100 endpoints a slice, placeholder when empty", () => {
  const svc = service({
    ports: [
      { name: "http", port: 80, targetPort: "http", protocol: "TCP" },
      { name: "metrics", port: 9090, targetPort: 9090, protocol: "TCP" },
    ],
  });
  const pods = Array.from({ length: 150 }, (_, i) => pod(`p${String(i).padStart(3, "0")}`));
  pods.push(pod("bare", { named: false }));
  const { slices } = desiredSlices(svc, pods, nodeOf);
  assertEquals(
    slices.map((s) => [s.ports.map((p) => p.name).join(","), s.endpoints.length]),
    [["http,metrics", 100], ["http,metrics", 50], ["metrics", 1]],
  );
  // No pods: one placeholder slice without ports or endpoints.
  assertEquals(desiredSlices(svc, [], nodeOf).slices, [
    { addressType: "IPv4", ports: [], endpoints: [] },
  ]);
});

Deno.test("slices: address types from ipFamilies; pods on unknown nodes wait for them", () => {
  const dual = service({ ipFamilies: ["IPv4", "IPv6"] });
  const p = pod("a", { ips: ["10.1.0.1", "fd00::1"] });
  assertEquals(
    desiredSlices(dual, [p], nodeOf).slices.map((s) => [s.addressType, s.endpoints[0].addresses]),
    [["IPv4", ["10.1.0.1"]], ["IPv6", ["fd00::1"]]],
  );
  // A headless Service without families gets both types; an IPv4-only pod leaves IPv6 empty.
  const headless = service({ clusterIP: "None", ipFamilies: [], ports: [] });
  const h = desiredSlices(headless, [pod("a")], nodeOf).slices;
  assertEquals(h.map((s) => [s.addressType, s.ports, s.endpoints.length]), [
    ["IPv4", [], 1],
    ["IPv6", [], 0],
  ]);
  const lost = desiredSlices(service(), [pod("a", { node: "gone" })], nodeOf);
  assertEquals(lost.missingNodes, ["a"]);
  assertEquals(lost.slices[0].endpoints, []);
  // Unless not-ready addresses are published.
  const kept = desiredSlices(service({ publishNotReadyAddresses: true }), [
    pod("a", { node: "gone" }),
  ], nodeOf);
  assertEquals([kept.missingNodes, kept.slices[0].endpoints.length], [[], 1]);
});
