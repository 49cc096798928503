import { assertEquals } from "../assert.ts";
import { buildMessage, type Message, type MessageRoute } from "../../modules/message.ts";
import { getNodeId, trimResource } from "../../modules/resource.ts";
import {
  isFromEdge,
  isNodeStopped,
  isToEdge,
  noAckRequired,
  VolumeResourcePattern,
} from "../../hub/classify.ts";

function msg(route: MessageRoute, content: unknown = null): Message {
  return buildMessage(route, content);
}

// KubeEdge's TestNoAckRequired vectors (cloud/pkg/cloudhub/dispatcher/message_dispatcher_test.go).
const kubeedgeVectors: Array<[string, Message, boolean]> = [
  [
    "list pod message",
    msg({ resource: "node/edge-node/default/podlist", operation: "response" }),
    true,
  ],
  [
    "membership message",
    msg({ resource: "node/edge-node/membership/detail", operation: "response" }),
    true,
  ],
  [
    "twin/cloud_updated message",
    msg({ resource: "node/edge-node/twin/cloud_updated/detail", operation: "response" }),
    true,
  ],
  [
    "serviceaccounttoken message",
    msg({ resource: "node/edge-node/default/serviceaccounttoken/default", operation: "response" }),
    true,
  ],
  [
    "volume operation message",
    msg({ resource: "node/edge-node/volume/volume-test", operation: "createvolume" }),
    true,
  ],
  [
    "applicationResponse message",
    msg({
      resource: "/node/edge-test/ignore/Application/ignore",
      operation: "applicationResponse",
    }),
    true,
  ],
  ["user data message", msg({ group: "user" }), true],
  [
    "response ok message",
    msg({ resource: "node/edge-node/default/node/edge-node", operation: "response" }, "OK"),
    true,
  ],
  [
    "node message",
    msg({
      source: "edgecontroller",
      group: "resource",
      resource: "node/edge-node/default/node/edge-node",
      operation: "response",
    }),
    true,
  ],
  [
    "response error message",
    msg(
      { resource: "node/edge-node/default/node/edge-node", operation: "response" },
      new Error("error"),
    ),
    true,
  ],
  [
    "normal pod update",
    msg({
      source: "edgecontroller",
      group: "resource",
      resource: "node/edge-node/default/pod/test-pod",
      operation: "update",
    }),
    false,
  ],
];

for (const [name, m, want] of kubeedgeVectors) {
  Deno.test(`noAckRequired (KubeEdge vector): ${name} → ${want}`, () => {
    assertEquals(noAckRequired(m), want);
  });
}

const ec = (resource: string, operation: string, content: unknown = null) =>
  msg({ source: "edgecontroller", group: "resource", resource, operation }, content);

// Every bullet of docs/protocol.md §4.2.
const bullets: Array<[string, Message, boolean]> = [
  [
    "k8s/ca.crt response",
    msg({
      source: "cloudhub",
      group: "resource",
      resource: "node/n/k8s/ca.crt",
      operation: "response",
    }, "PEM"),
    true,
  ],
  ["deletevolume", msg({ resource: "node/n/null/volume/v", operation: "deletevolume" }), true],
  [
    "controllerpublishvolume",
    msg({ resource: "node/n/null/volume/v", operation: "controllerpublishvolume" }),
    true,
  ],
  [
    "controllerunpublishvolume",
    msg({ resource: "node/n/null/volume/v", operation: "controllerunpublishvolume" }),
    true,
  ],
  [
    "source taskmanager",
    msg({
      source: "taskmanager",
      group: "taskmanager",
      resource: "node/n/upgrade",
      operation: "upgrade",
    }),
    true,
  ],
  [
    "source nodeupgradejobcontroller",
    msg({
      source: "nodeupgradejobcontroller",
      group: "resource",
      resource: "node/n/x",
      operation: "upgrade",
    }),
    true,
  ],
  [
    "response with Go StatusError JSON",
    msg({ source: "metaserver", resource: "node/n/default/configmap/c", operation: "response" }, {
      ErrStatus: { code: 404 },
    }),
    true,
  ],
  ["node insert", ec("node/n/null/node/n", "insert"), true],
  ["node delete", ec("node/n/null/node/n", "delete"), true],
  ["node query reply", ec("node/n/null/node/n", "response", { kind: "Node" }), true],
  ["node update is ack", ec("node/n/null/node/n", "update", { kind: "Node" }), false],
  ["lease", ec("node/n/kube-node-lease/lease/n", "response", { Object: {}, Err: null }), true],
  ["nodepatch", ec("node/n/null/nodepatch/n", "response", {}), true],
  ["podpatch", ec("node/n/default/podpatch/p", "response", {}), true],
  ["podstatus", ec("node/n/default/podstatus/p", "update", {}), true],
  [
    "certificatesigningrequest",
    ec("node/n/null/certificatesigningrequest/c", "response", {}),
    true,
  ],
  [
    "pod response (ObjectResp)",
    ec("node/n/default/pod/p", "response", { Object: {}, Err: null }),
    true,
  ],
  ["pod insert is ack", ec("node/n/default/pod/p", "insert", { kind: "Pod" }), false],
  ["pod delete is ack", ec("node/n/default/pod/p", "delete", { kind: "Pod" }), false],
  [
    "configmap update is ack",
    ec("node/n/default/configmap/c", "update", { kind: "ConfigMap" }),
    false,
  ],
  ["secret update is ack", ec("node/n/default/secret/s", "update", { kind: "Secret" }), false],
  [
    "configmap query response with an object is ack",
    ec("node/n/default/configmap/c", "response", { kind: "ConfigMap" }),
    false,
  ],
  [
    "persistentvolumeclaim response is ack",
    ec("node/n/default/persistentvolumeclaim/c", "response", { kind: "PersistentVolumeClaim" }),
    false,
  ],
  [
    "device insert is ack",
    msg({
      source: "devicecontroller",
      group: "resource",
      resource: "node/n/default/device/d",
      operation: "insert",
    }, { kind: "Device" }),
    false,
  ],
  [
    "devicemodel update is ack",
    msg({
      source: "devicecontroller",
      group: "resource",
      resource: "node/n/default/devicemodel/m",
      operation: "update",
    }, { kind: "DeviceModel" }),
    false,
  ],
  [
    "membership from devicecontroller",
    msg({
      source: "devicecontroller",
      group: "twin",
      resource: "node/n/membership",
      operation: "update",
    }, {}),
    true,
  ],
];

for (const [name, m, want] of bullets) {
  Deno.test(`noAckRequired (§4.2): ${name} → ${want}`, () => {
    assertEquals(noAckRequired(m), want);
  });
}

Deno.test("GetNodeID (KubeEdge vectors)", () => {
  assertEquals(getNodeId("node/edge-node/default/pod/test-pod"), "edge-node");
  assertEquals(getNodeId("node/edge-node/default/configmap/kube-root-ca.crt"), "edge-node");
  assertEquals(getNodeId("node/edge-node/membership/detail"), "edge-node");
  assertEquals(getNodeId("edge-node/membership/detail"), "");
});

Deno.test("TrimMessage (KubeEdge helper_test vectors)", () => {
  assertEquals(trimResource("node/test-node/namespace/pod/test-pod"), "namespace/pod/test-pod");
  assertEquals(trimResource("node/nodeName"), "node/nodeName");
});

Deno.test("IsToEdge filters only edgemgr's cloud-internal pairs", () => {
  const m = (source: string, resource: string, operation: string) =>
    msg({ source, resource, operation });
  assertEquals(isToEdge(m("edgemgr", "node/n/membership", "get")), false);
  assertEquals(isToEdge(m("edgemgr", "node/n/twin", "delta")), false);
  assertEquals(isToEdge(m("edgemgr", "node/n/twin", "document")), false);
  assertEquals(isToEdge(m("edgemgr", "node/n/twin", "get")), false);
  assertEquals(isToEdge(m("edgemgr", "node/n/auth_info", "get")), false);
  assertEquals(isToEdge(m("edgemgr", "node/n/null/node/n", "delete")), false);
  assertEquals(isToEdge(m("edgemgr", "node/n/membership", "update")), true);
  assertEquals(isToEdge(m("edgecontroller", "node/n/null/node/n", "delete")), true);
  assertEquals(isToEdge(m("devicecontroller", "node/n/twin", "get")), true);
});

Deno.test("IsNodeStopped and IsFromEdge", () => {
  assertEquals(isNodeStopped(msg({ resource: "node/n/null/node/n", operation: "delete" })), true);
  assertEquals(
    isNodeStopped(msg({ resource: "node/n/default/pod/p", operation: "delete" })),
    false,
  );
  assertEquals(isNodeStopped(msg({ resource: "node/n/null/node/n", operation: "update" })), false);
  for (
    const s of ["cloudhub", "cloudStream", "devicecontroller", "edgecontroller", "synccontroller"]
  ) {
    assertEquals(isFromEdge(msg({ source: s })), false, s);
  }
  for (const s of ["edged", "websocket", "twin", "metaserver", "metamanager", "edgehub", ""]) {
    assertEquals(isFromEdge(msg({ source: s })), true, s);
  }
});

Deno.test("volume response pattern (§3.7 rule 2)", () => {
  assertEquals(VolumeResourcePattern.test("default/volume/pvc-1"), true);
  assertEquals(VolumeResourcePattern.test("null/volume/csi-vol.1"), true);
  assertEquals(VolumeResourcePattern.test("default/pod/volume"), false);
  assertEquals(VolumeResourcePattern.test("/volume/x"), false);
});
