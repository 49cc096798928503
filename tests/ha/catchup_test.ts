/** catchUpNode: deletes for acknowledged objects that are gone, then the replay. */
import { catchUpNode, deleteForRecord } from "../../ha/catchup.ts";
import type { KubeObject } from "../../kube/mod.ts";
import type { SyncRecord } from "../../kube/objectsync.ts";
import type { Message } from "../../modules/message.ts";
import { assertEquals } from "../assert.ts";

function record(ns: string | null, node: string, uid: string, kind: string, name: string) {
  return {
    namespace: ns,
    name: `${node}.${uid}`,
    spec: { objectAPIVersion: "v1", objectKind: kind, objectName: name },
    resourceVersion: "5",
  } satisfies SyncRecord;
}

Deno.test("catch-up: gone or replaced objects get a delete, live ones and unknown kinds do not; replay runs last", async () => {
  const objects = new Map<string, KubeObject>([
    ["Pod/default/live", { metadata: { name: "live", uid: "u-live" } }],
    ["Pod/default/recreated", { metadata: { name: "recreated", uid: "u-new" } }],
  ]);
  const records = [
    record("default", "edge-1", "u-live", "Pod", "live"),
    record("default", "edge-1", "u-old", "Pod", "recreated"),
    record("default", "edge-1", "u-gone", "Pod", "gone"),
    record("default", "edge-1", "u-cm", "ConfigMap", "cfg"),
    record("default", "edge-1", "u-x", "Widget", "w"),
    record(null, "edge-1", "u-node", "Node", "edge-1"),
  ];
  const events: string[] = [];
  const sent: Message[] = [];
  const result = await catchUpNode("edge-1", {
    records: (node) => node === "edge-1" ? records : [],
    lookup: (kind, ns, name) => {
      if (kind === "Widget") return null;
      return objects.get(`${kind}/${ns}/${name}`);
    },
    replayNode: (node) => {
      events.push(`replay ${node}`);
      return Promise.resolve();
    },
    send: (msg) => {
      sent.push(msg);
      events.push(`send ${msg.route.resource}`);
      return Promise.resolve();
    },
  });
  assertEquals(result.deletes, 3);
  assertEquals(events, [
    "send node/edge-1/default/pod/recreated",
    "send node/edge-1/default/pod/gone",
    "send node/edge-1/default/configmap/cfg",
    "replay edge-1",
  ]);
  for (const m of sent) assertEquals(m.route.operation, "delete");
  const content = sent[0].content as KubeObject;
  assertEquals(content.metadata, { name: "recreated", uid: "u-old", namespace: "default" });
  assertEquals(content.kind, "Pod");
});

Deno.test("catch-up: a cluster-scoped record's delete uses the null namespace", () => {
  const msg = deleteForRecord("n", record(null, "n", "u1", "PersistentVolume", "pv1"), "u1");
  assertEquals(msg.route.resource, "node/n/null/persistentvolume/pv1");
  assertEquals((msg.content as KubeObject).metadata, { name: "pv1", uid: "u1" });
});
