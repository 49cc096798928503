import { assertEquals } from "../assert.ts";
import { Bus } from "../../modules/bus.ts";
import { buildMessage, type Message, type MessageRoute } from "../../modules/message.ts";
import { startHub, until } from "./hub_fixture.ts";
import type { TestHub } from "./hub_fixture.ts";
import type { EdgeClient } from "../../edge/client.ts";

const KUBE_CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

async function setup(
  modules: Array<[string, string]>,
): Promise<{ t: TestHub; bus: Bus; edge: EdgeClient }> {
  const bus = new Bus();
  for (const [name, group] of modules) bus.addModule(name, group);
  const t = await startHub({ bus, kubeCaPem: KUBE_CA });
  const edge = await t.connect("n1");
  await until(() => t.hub.sessions.get("n1"));
  return { t, bus, edge };
}

const up = (route: MessageRoute, content: unknown = null) => buildMessage(route, content);

async function runUpstream(t: TestHub, msg: Message) {
  return await t.hub.dispatcher.upstream(t.hub.sessions.get("n1")!, msg);
}

Deno.test("upstream routes in §3.7 order", async () => {
  const { t, bus, edge } = await setup([
    ["edgecontroller", "edgecontroller"],
    ["devicecontroller", "devicecontroller"],
    ["dynamiccontroller", "dynamiccontroller"],
    ["router", "router"],
    ["taskmanager", "taskmanager"],
  ]);
  try {
    // connected event first
    assertEquals((await bus.receive("edgecontroller")).route.operation, "connected");
    // 1 keepalive (even with a volume-looking resource)
    assertEquals(
      await runUpstream(
        t,
        up({
          source: "websocket",
          group: "resource",
          operation: "keepalive",
          resource: "default/volume/v1",
        }),
      ),
      "keepalive",
    );
    // 2 volume response before `response`
    assertEquals(
      await runUpstream(t, up({ operation: "response", resource: "default/volume/v1" }, "x")),
      "volume_response",
    );
    // 3 response → ACK
    assertEquals(
      await runUpstream(
        t,
        up(
          { source: "edged", group: "resource", operation: "response", resource: "default/pod/p" },
          "OK",
        ),
      ),
      "ack",
    );
    // 4 error → log only
    assertEquals(
      await runUpstream(t, up({ operation: "error", resource: "default/pod/p" }, "boom")),
      "error",
    );
    // 5 upload + user → router with node prefix
    assertEquals(
      await runUpstream(
        t,
        up(
          { source: "router_eventbus", group: "user", operation: "upload", resource: "rule/r1" },
          {},
        ),
      ),
      "router",
    );
    assertEquals((await bus.receive("router")).route.resource, "node/n1/rule/r1");
    // 6 taskmanager ops
    for (const op of ["prepull", "upgrade", "UpdateNodeActionStatus"]) {
      assertEquals(
        await runUpstream(
          t,
          up({ source: "taskmanager", group: "taskmanager", operation: op, resource: "task/x" }),
        ),
        "taskmanager",
      );
      assertEquals((await bus.receive("taskmanager")).route.operation, op);
    }
    // 7 k8s/ca.crt → response with the CA through the downstream path
    const caReq = up({
      source: "edged",
      group: "resource",
      operation: "query",
      resource: "k8s/ca.crt",
    });
    assertEquals(await runUpstream(t, caReq), "k8s_ca");
    const caResp = await edge.waitFor((m) => m.header.parentId === caReq.header.id);
    assertEquals(caResp.route, {
      source: "cloudhub",
      group: "resource",
      operation: "response",
      resource: "k8s/ca.crt",
    });
    assertEquals(caResp.content, KUBE_CA);
    // 8 by source
    assertEquals(
      await runUpstream(
        t,
        up({ source: "metaserver", group: "meta", operation: "list", resource: "default/pod" }),
      ),
      "dynamiccontroller",
    );
    assertEquals((await bus.receive("dynamiccontroller")).route.resource, "node/n1/default/pod");
    assertEquals(
      await runUpstream(
        t,
        up({
          source: "twin",
          group: "twin",
          operation: "update",
          resource: "device/d1/twin/edge_updated",
        }),
      ),
      "devicecontroller",
    );
    assertEquals(
      (await bus.receive("devicecontroller")).route.resource,
      "node/n1/device/d1/twin/edge_updated",
    );
    assertEquals(
      await runUpstream(
        t,
        up({
          source: "edged",
          group: "meta",
          operation: "update",
          resource: "default/podstatus/p",
        }),
      ),
      "edgecontroller",
    );
    assertEquals(
      (await bus.receive("edgecontroller")).route.resource,
      "node/n1/default/podstatus/p",
    );
    // an edge message claiming a cloud source is dropped
    assertEquals(
      await runUpstream(
        t,
        up({
          source: "edgecontroller",
          group: "resource",
          operation: "update",
          resource: "default/pod/p",
        }),
      ),
      "dropped",
    );
  } finally {
    await t.close();
    bus.close();
  }
});

Deno.test("a missing module or group is counted and logged, never a crash", async () => {
  const { t, bus, edge } = await setup([]);
  try {
    assertEquals(
      await runUpstream(
        t,
        up({
          source: "edged",
          group: "meta",
          operation: "update",
          resource: "default/podstatus/p",
        }),
      ),
      "dropped",
    );
    assertEquals(
      await runUpstream(
        t,
        up({ source: "twin", group: "twin", operation: "update", resource: "twin" }),
      ),
      "dropped",
    );
    assertEquals(
      await runUpstream(
        t,
        up({ source: "metaserver", operation: "list", resource: "default/pod" }),
      ),
      "dropped",
    );
    assertEquals(
      await runUpstream(t, up({ group: "user", operation: "upload", resource: "rule/r" })),
      "dropped",
    );
    assertEquals(await runUpstream(t, up({ operation: "upgrade", resource: "task" })), "dropped");
    assertEquals(
      await runUpstream(t, up({ operation: "response", resource: "ns/volume/v" })),
      "volume_response",
    );
    const m = (target: string) =>
      t.hub.metrics.value("edgecloud_cloudhub_unroutable_messages_total", { target });
    assertEquals(await m("edgecontroller"), 1);
    assertEquals(await m("devicecontroller"), 1);
    assertEquals(await m("dynamiccontroller"), 1);
    assertEquals(await m("router"), 1);
    assertEquals(await m("taskmanager"), 1);
    assertEquals(await m("volume_response"), 1);
    // the same over the wire: the session stays up
    await edge.send(
      up({ source: "edged", group: "meta", operation: "update", resource: "default/podstatus/p" }),
    );
    await until(async () => (await m("edgecontroller")) === 2);
    assertEquals(edge.connected, true);
  } finally {
    await t.close();
    bus.close();
  }
});

Deno.test("a MetaServer request with no dynamiccontroller is answered Rejected with a 503, not dropped", async () => {
  const { t, bus, edge } = await setup([["edgecontroller", "edgecontroller"]]);
  try {
    // As edgecore's MetaServer agent sends it: the Application as content, resource and
    // operation "null" (docs/compatibility.md, "MetaServer requests").
    const app = {
      ID: "abc",
      Key: "/core/v1/configmaps/default",
      Verb: "list",
      Nodename: "n1",
      Option: null,
      ReqBody: null,
      Subresource: "",
      RespBody: null,
      Status: "InApplying",
      Reason: "",
      Error: { ErrStatus: { metadata: {} } },
      Timestamp: "0001-01-01T00:00:00Z",
    };
    const req = up(
      { source: "metaserver", group: "dynamiccontroller", operation: "null", resource: "null" },
      app,
    );
    assertEquals(await runUpstream(t, req), "metaserver_rejected");
    const reply = await edge.waitFor((m) => m.header.parentId === req.header.id);
    assertEquals(reply.route, {
      source: "dynamiccontroller",
      group: "resource",
      operation: "applicationResponse",
      resource: "ignore/Application/ignore", // the node prefix is taken off on the way out
    });
    const got = reply.content as Record<string, unknown>;
    assertEquals([got.ID, got.Key, got.Verb, got.Status], ["abc", app.Key, "list", "Rejected"]);
    const status = (got.Error as { ErrStatus: Record<string, unknown> }).ErrStatus;
    assertEquals([status.kind, status.code, status.reason], ["Status", 503, "ServiceUnavailable"]);
    // The periodic watch-application sync is a notice: nothing to answer.
    const notice = up({
      source: "metaserver",
      group: "dynamiccontroller",
      operation: "null",
      resource: "watchapp/sync",
    }, {});
    assertEquals(await runUpstream(t, notice), "dropped");
    assertEquals(
      await t.hub.metrics.value("edgecloud_cloudhub_unroutable_messages_total", {
        target: "dynamiccontroller",
      }),
      2,
    );
  } finally {
    await t.close();
    bus.close();
  }
});

Deno.test("downstream: the bus module `cloudhub` feeds nodes; no node → dropped; edgemgr filter", async () => {
  const bus = new Bus();
  const t = await startHub({ bus });
  try {
    const edge = await t.connect("n1");
    await bus.send(
      "cloudhub",
      buildMessage({
        source: "edgecontroller",
        group: "resource",
        operation: "update",
        resource: "node/n1/default/configmap/c",
      }, {
        kind: "ConfigMap",
        apiVersion: "v1",
        metadata: { name: "c", namespace: "default", uid: "cm-1", resourceVersion: "3" },
      }, { resourceVersion: "3" }),
    );
    const cm = await edge.waitFor((m) => m.route.resource === "default/configmap/c");
    assertEquals(cm.route.source, "edgecontroller");
    assertEquals(
      await t.hub.dispatcher.downstream(
        buildMessage({ operation: "update", resource: "default/pod/x" }, null),
      ),
      "dropped",
    );
    assertEquals(
      await t.hub.dispatcher.downstream(
        buildMessage({ source: "edgemgr", operation: "get", resource: "node/n1/membership" }, null),
      ),
      "dropped",
    );
    assertEquals(
      await t.hub.metrics.value("edgecloud_cloudhub_dropped_messages_total", { reason: "no_node" }),
      1,
    );
    assertEquals(
      await t.hub.metrics.value("edgecloud_cloudhub_dropped_messages_total", {
        reason: "not_to_edge",
      }),
      1,
    );
  } finally {
    await t.close();
    bus.close();
  }
});
