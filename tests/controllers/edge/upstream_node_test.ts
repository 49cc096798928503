import { assert, assertEquals } from "../../assert.ts";
import { edgeNode, eventually, withEnv } from "./harness.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test("upstream nodestatus insert: creates the node, replies OK on resource .../node/<name>", async () => {
  await withEnv(async ({ request, kube }) => {
    const resp = await request("edge-1", "default/nodestatus/edge-1", "insert", edgeNode("edge-1"));
    assertEquals(resp.content, "OK");
    assertEquals(resp.route.resource, "node/edge-1/default/node/edge-1");
    assertEquals(resp.route.source, "edgecontroller");
    assertEquals(resp.route.group, "resource");
    assertEquals(resp.route.operation, "response");
    const node: Json = await kube.get("/api/v1/nodes/edge-1");
    assertEquals(node.metadata.annotations.cloudcore, "10.0.0.1");
    assertEquals(resp.header.resourceVersion, undefined); // cloudcore's nodeMsgResponse sets none
    // Exists already: OK again.
    const again = await request(
      "edge-1",
      "default/nodestatus/edge-1",
      "insert",
      edgeNode("edge-1"),
    );
    assertEquals(again.content, "OK");
  });
});

Deno.test("upstream nodestatus update: heartbeat refresh, ExtendResources annotations (gpu), keeps volumesAttached; OK with RV", async () => {
  const now = Date.parse("2026-11-24T12:00:00Z");
  await withEnv(async ({ request, kube }) => {
    await kube.create("/api/v1/nodes", edgeNode("edge-1"));
    await kube.patch("/api/v1/nodes/edge-1/status", {
      status: { volumesAttached: [{ name: "kubernetes.io/csi/x", devicePath: "" }] },
    }, "application/merge-patch+json");
    const content = {
      UID: "x",
      Status: {
        conditions: [
          { type: "Ready", status: "True", lastHeartbeatTime: "2026-11-24T11:00:00Z" },
          { type: "MemoryPressure", status: "False", lastHeartbeatTime: "2026-11-24T11:59:55Z" },
        ],
        nodeInfo: { kubeletVersion: "v1.29.5-kubeedge-v1.18.0" },
      },
      ExtendResources: { "nvidia.com/gpu": [{ name: "gpu0", type: "T4", capacity: "1" }] },
    };
    const resp = await request(
      "edge-1",
      "default/nodestatus/edge-1",
      "update",
      JSON.stringify(content),
    );
    assertEquals(resp.content, "OK");
    assertEquals(resp.route.resource, "node/edge-1/default/node/edge-1");
    const node: Json = await kube.get("/api/v1/nodes/edge-1");
    assertEquals(resp.header.resourceVersion, node.metadata.resourceVersion);
    const ready = node.status.conditions.find((c: Json) => c.type === "Ready");
    assertEquals(ready.lastHeartbeatTime, "2026-11-24T12:00:00Z");
    const mem = node.status.conditions.find((c: Json) => c.type === "MemoryPressure");
    assertEquals(mem.lastHeartbeatTime, "2026-11-24T11:59:55Z");
    assertEquals(node.status.nodeInfo.kubeletVersion, "v1.29.5-kubeedge-v1.18.0");
    assertEquals(node.status.volumesAttached, [{ name: "kubernetes.io/csi/x", devicePath: "" }]);
    assertEquals(
      node.metadata.annotations["nvidia.com/gpu"],
      JSON.stringify([{ name: "gpu0", type: "T4", capacity: "1" }]),
    );
    assertEquals(
      node.metadata.annotations["huawei.com/gpu-status"],
      '[{"id":"gpu0","healthy":true}]',
    );
  }, { now: () => now });
});

Deno.test("upstream node insert: strips then re-applies kubernetes.io labels; ObjectResp without RV", async () => {
  await withEnv(async ({ request, kube }) => {
    const n = edgeNode("edge-2");
    n.metadata!.labels!["kubernetes.io/hostname"] = "edge-2";
    n.metadata!.labels!["node.kubernetes.io/instance-type"] = "small";
    const resp = await request("edge-2", "default/node/edge-2", "insert", n);
    const c = resp.content as Json;
    assertEquals(Object.keys(c), ["Object", "Err"]);
    assertEquals(c.Err, null);
    assertEquals(c.Object.metadata.name, "edge-2");
    assertEquals(c.Object.kind, "Node");
    const node: Json = await kube.get("/api/v1/nodes/edge-2");
    assertEquals(node.metadata.labels["kubernetes.io/hostname"], "edge-2");
    assertEquals(node.metadata.labels["node.kubernetes.io/instance-type"], "small");
    assertEquals(c.Object.metadata.resourceVersion, node.metadata.resourceVersion);
    assertEquals(resp.header.resourceVersion, undefined);
    // A node may not create another node.
    const denied = await request("edge-2", "default/node/edge-3", "insert", edgeNode("edge-3"));
    // client-go's empty Node, with the kubernetes.io labels cloudcore's createNode puts back.
    assertEquals((denied.content as Json).Object.metadata, {
      creationTimestamp: null,
      labels: { "node-role.kubernetes.io/edge": "" },
    });
    assertEquals((denied.content as Json).Err.ErrStatus.reason, "Forbidden");
    assertEquals((denied.content as Json).Err.ErrStatus.code, 403);
  });
});

Deno.test("upstream node query: object with TypeMeta + RV; missing → StatusError JSON; other node → Forbidden", async () => {
  await withEnv(async ({ request, kube }) => {
    const missing = await request("edge-1", "default/node/edge-1", "query", null);
    assertEquals((missing.content as Json).ErrStatus.reason, "NotFound");
    await kube.create("/api/v1/nodes", edgeNode("edge-1"));
    await kube.create("/api/v1/nodes", edgeNode("edge-9"));
    const resp = await request("edge-1", "default/node/edge-1", "query", null);
    const node = resp.content as Json;
    assertEquals(node.kind, "Node");
    assertEquals(node.apiVersion, "v1");
    assertEquals(node.metadata.name, "edge-1");
    assertEquals(resp.header.resourceVersion, node.metadata.resourceVersion);
    const other = await request("edge-1", "default/node/edge-9", "query", null);
    assertEquals((other.content as Json).ErrStatus.reason, "Forbidden");
  });
});

Deno.test("upstream node update: merges labels and annotations; OK with RV", async () => {
  await withEnv(async ({ request, kube }) => {
    await kube.create("/api/v1/nodes", edgeNode("edge-1"));
    const resp = await request("edge-1", "default/node/edge-1", "update", {
      metadata: { name: "edge-1", labels: { zone: "a" }, annotations: { note: "x" } },
    });
    assertEquals(resp.content, "OK");
    const node: Json = await kube.get("/api/v1/nodes/edge-1");
    assertEquals(node.metadata.labels.zone, "a");
    assertEquals(node.metadata.labels["node-role.kubernetes.io/edge"], "");
    assertEquals(node.metadata.annotations.note, "x");
    assertEquals(resp.header.resourceVersion, node.metadata.resourceVersion);
  });
});

Deno.test("upstream nodepatch: strategic merge on status (string content); ObjectResp with RV", async () => {
  await withEnv(async ({ request, kube }) => {
    await kube.create("/api/v1/nodes", edgeNode("edge-1"));
    const patch = JSON.stringify({
      status: { conditions: [{ type: "Ready", status: "True", reason: "EdgeReady" }] },
    });
    // edged marshals the patch as Go []byte: a base64 string on the wire.
    const resp = await request("edge-1", "default/nodepatch/edge-1", "patch", btoa(patch));
    const c = resp.content as Json;
    assertEquals(c.Err, null);
    assertEquals(c.Object.status.conditions[0].reason, "EdgeReady");
    const node: Json = await kube.get("/api/v1/nodes/edge-1");
    assertEquals(node.status.conditions[0].reason, "EdgeReady");
    assertEquals(resp.header.resourceVersion, node.metadata.resourceVersion);
  });
});

Deno.test("upstream unknown types and operations are counted and dropped", async () => {
  await withEnv(async ({ send, request, ec, kube }) => {
    await send("edge-1", "default/rulestatus/r", "update", {});
    await send("edge-1", "default/configmap/x", "delete", {});
    await kube.create("/api/v1/nodes", edgeNode("edge-1"));
    await request("edge-1", "default/node/edge-1", "query", null); // still alive, in order
    assertEquals(ec.upstream?.stats.dropped["unknown:rulestatus/update"], 1);
    assertEquals(ec.upstream?.stats.dropped["unknown:configmap/delete"], 1);
    assert((ec.upstream?.stats.received ?? 0) >= 3);
  });
});

Deno.test("upstream with the API gone: requests get an error reply after bounded retries, nothing crashes", async () => {
  await withEnv(
    async ({ request, api, kube }) => {
      await kube.create("/api/v1/nodes", edgeNode("edge-1"));
      await api.close();
      const resp = await request("edge-1", "default/nodepatch/edge-1", "patch", "{}");
      const c = resp.content as Json;
      assertEquals(c.Object.metadata, { creationTimestamp: null }); // client-go's empty Node
      assertEquals(c.Err, {}); // a plain Go error (not a StatusError) marshals as {}
      const q = await request("edge-1", "kube-node-lease/lease/edge-1", "query", null);
      assertEquals((q.content as Json).Object, null);
    },
    {},
    undefined,
    { maxAttempts: 2, backoffMs: 5, maxBackoffMs: 10 },
  );
});

Deno.test("upstream nodestatus update for a node that does not exist gets no reply", async () => {
  await withEnv(async ({ send, request, hub, kube }) => {
    const lost = await send("ghost", "default/nodestatus/ghost", "update", {
      UID: "u",
      Status: {},
    });
    await kube.create("/api/v1/nodes", edgeNode("ghost"));
    // Same pool (one worker): once this is answered, the first one was handled.
    const later = await request("ghost", "default/nodestatus/ghost", "update", {
      UID: "u",
      Status: {},
    });
    assertEquals(later.content, "OK");
    assertEquals(hub.messages.filter((m) => m.header.parentId === lost.header.id), []);
  });
});

Deno.test("upstream nodestatus update from the informer's copy: a copy that lagged a status write conflicts, is re-read, and keeps what the write set", async () => {
  await withEnv(async ({ request, kube, ec }) => {
    await kube.create("/api/v1/nodes", edgeNode("edge-1"));
    // A first heartbeat, then time for the edge-node informer to hold the node.
    const first = await request("edge-1", "default/nodestatus/edge-1", "update", {
      Status: { conditions: [{ type: "Ready", status: "True" }] },
    });
    assertEquals(first.content, "OK");
    const informer = ec.downstream!.nodes;
    const copy = await eventually(
      () => Promise.resolve(informer.get("edge-1")),
      "node in the informer",
    );
    // The informer keeps serving this copy while the node changes behind its back.
    const stale = structuredClone(copy);
    informer.get = () => stale;
    await kube.patch("/api/v1/nodes/edge-1/status", {
      status: { volumesAttached: [{ name: "kubernetes.io/csi/y", devicePath: "" }] },
    }, "application/merge-patch+json");
    const resp = await request("edge-1", "default/nodestatus/edge-1", "update", {
      Status: { conditions: [{ type: "Ready", status: "True" }] },
    });
    assertEquals(resp.content, "OK");
    const node: Json = await kube.get("/api/v1/nodes/edge-1");
    assertEquals(resp.header.resourceVersion, node.metadata.resourceVersion);
    assertEquals(node.status.volumesAttached, [{ name: "kubernetes.io/csi/y", devicePath: "" }]);
    assertEquals(node.status.conditions[0].type, "Ready");
  });
});
