import { assertEquals, assertThrows } from "../assert.ts";
import {
  buildResource,
  buildResourceForDevice,
  getNamespace,
  getNodeId,
  getNodeIdSegment,
  getResourceName,
  getResourceType,
  namespaceOrNull,
  parseResource,
  prefixResource,
  ResourceError,
  resourceSegment,
  trimResource,
} from "../../modules/resource.ts";
import fc from "fast-check";

Deno.test("buildResource / parseResource round trip", () => {
  const r = buildResource("edge-1", "default", "pod", "nginx");
  assertEquals(r, "node/edge-1/default/pod/nginx");
  assertEquals(parseResource(r), {
    nodeId: "edge-1",
    namespace: "default",
    resourceType: "pod",
    name: "nginx",
  });
  assertEquals(buildResource("n", "null", "node", "n"), "node/n/null/node/n");
  assertEquals(parseResource("node/n/default/podstatus"), {
    nodeId: "n",
    namespace: "default",
    resourceType: "podstatus",
    name: "",
  });
  assertThrows(() => buildResource("", "default", "pod"), ResourceError);
  assertThrows(() => buildResource("n", "", "pod"), ResourceError);
  assertThrows(() => parseResource("default/pod/x"), ResourceError);
  assertThrows(() => parseResource("node/n"), ResourceError);
});

Deno.test("segment getters follow messagelayer indexes", () => {
  const r = "node/n1/ns/configmap/cm";
  assertEquals(getNodeIdSegment(r), "n1");
  assertEquals(getNamespace(r), "ns");
  assertEquals(getResourceType(r), "configmap");
  assertEquals(getResourceName(r), "cm");
  assertThrows(() => getResourceName("node/n1/ns/configmap"), ResourceError);
});

Deno.test("TrimMessage vectors (helper_test.go)", () => {
  assertEquals(trimResource("node/test-node/namespace/pod/test-pod"), "namespace/pod/test-pod");
  assertEquals(trimResource("node/nodeName"), "node/nodeName");
  assertEquals(trimResource("node/n/membership"), "membership");
  assertEquals(trimResource("default/pod/x"), "default/pod/x");
});

Deno.test("GetNodeID: segment after the first node token", () => {
  assertEquals(getNodeId("node/edge-node/default/podlist"), "edge-node");
  assertEquals(getNodeId("node/edge-node/membership/detail"), "edge-node");
  assertEquals(getNodeId("rule/r1"), "");
  assertEquals(getNodeId("node"), "");
});

Deno.test("device and prefix helpers", () => {
  assertEquals(buildResourceForDevice("n1", "membership"), "node/n1/membership");
  assertEquals(buildResourceForDevice("n1", "device", "ns/d"), "node/n1/device/ns/d");
  assertEquals(prefixResource("n1", "default/pod/x"), "node/n1/default/pod/x");
  assertEquals(namespaceOrNull(undefined), "null");
  assertEquals(namespaceOrNull("kube-system"), "kube-system");
});

Deno.test("the scanning helpers agree with their split() definitions, for any resource", () => {
  const piece = fc.constantFrom("node", "n1", "", "default", "pod", "a/b", "null", "x");
  const resource = fc.array(piece, { maxLength: 7 }).map((parts) => parts.join("/"));
  fc.assert(
    fc.property(resource, fc.nat(7), (r, i) => {
      const parts = r.split("/");
      assertEquals(resourceSegment(r, i), parts[i]);
      const node = parts.indexOf("node");
      assertEquals(getNodeId(r), node < 0 || node + 1 >= parts.length ? "" : parts[node + 1]);
      const trimmed = parts.length >= 3 && parts[0] === "node" ? parts.slice(2).join("/") : r;
      assertEquals(trimResource(r), trimmed);
    }),
    { numRuns: 500 },
  );
});
