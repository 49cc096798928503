import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { buildMessage } from "../../modules/message.ts";
import { ManualClock } from "../../hub/clock.ts";
import type { EdgeClient } from "../../edge/client.ts";
import { startHub, until } from "./hub_fixture.ts";

async function roundTrip(edge: EdgeClient): Promise<void> {
  const ping = buildMessage({
    source: "websocket",
    group: "resource",
    operation: "ping",
    resource: "node",
  }, "x");
  await edge.send(ping);
  await edge.waitFor((m) => m.header.parentId === ping.header.id);
}

Deno.test("keepalive timeout closes the session with reason 'keepalive timeout'", async () => {
  const clock = new ManualClock();
  const t = await startHub({ clock, keepaliveInterval: 30 });
  try {
    const edge = await t.connect("n1");
    await until(() => t.hub.sessions.get("n1"), 5_000, "session");
    clock.advance(29_999);
    await roundTrip(edge);
    assert(edge.connected);
    clock.advance(1);
    const closed = await edge.waitClosed();
    assertStringIncludes(closed.reason, "keepalive timeout");
    assertEquals(
      await t.hub.metrics.value("edgecloud_cloudhub_closed_connections_total", {
        reason: "keepalive_timeout",
      }),
      1,
    );
    await until(() => t.hub.sessions.count === 0, 5_000, "session removed");
  } finally {
    await t.close();
  }
});

Deno.test("only keepalive operations reset the keepalive timer", async () => {
  const clock = new ManualClock();
  const t = await startHub({ clock, keepaliveInterval: 30 });
  try {
    const edge = await t.connect("n1");
    await until(() => t.hub.sessions.get("n1"), 5_000, "session");
    clock.advance(20_000);
    await edge.sendKeepalive();
    await until(async () =>
      (await t.hub.metrics.value("edgecloud_cloudhub_messages_in_total", {
        operation: "keepalive",
      })) === 1
    );
    clock.advance(20_000); // 40 s since connect, 20 s since the keepalive
    await roundTrip(edge); // a ping does not reset the timer
    const up = buildMessage({
      source: "edged",
      group: "meta",
      operation: "update",
      resource: "default/podstatus/p",
    }, {});
    await edge.send(up); // nor does an ordinary message
    await until(async () =>
      (await t.hub.metrics.value("edgecloud_cloudhub_messages_in_total", {
        operation: "update",
      })) === 1
    );
    assert(edge.connected);
    clock.advance(10_000);
    const closed = await edge.waitClosed();
    assertStringIncludes(closed.reason, "keepalive timeout");
  } finally {
    await t.close();
  }
});

Deno.test("a new connection for the same node replaces the old one cleanly", async () => {
  const t = await startHub();
  try {
    const first = await t.connect("n1");
    await until(() => t.hub.sessions.get("n1"), 5_000, "first session");
    const second = await t.connect("n1");
    const closed = await first.waitClosed();
    assertEquals(closed.reason, "replaced by a new connection");
    await roundTrip(second);
    assertEquals(t.hub.sessions.count, 1);
    assertEquals(
      await t.hub.metrics.value("edgecloud_cloudhub_closed_connections_total", {
        reason: "replaced",
      }),
      1,
    );
    assertEquals(await t.hub.metrics.value("edgecloud_cloudhub_connected_nodes"), 1);
    assertEquals(await t.hub.metrics.value("KubeEdge_CloudHub_connected_nodes"), 1);
    // the newer session keeps working: a downstream message reaches it
    await t.hub.dispatcher.downstream(
      buildMessage({
        source: "edgecontroller",
        group: "resource",
        operation: "insert",
        resource: "node/n1/null/node/n1",
      }, { kind: "Node" }),
    );
    await second.waitFor((m) => m.route.resource === "null/node/n1");
  } finally {
    await t.close();
  }
});

Deno.test("the edge client reconnects after the hub drops it, like edgecore", async () => {
  const clock = new ManualClock();
  const t = await startHub({ clock });
  try {
    const edge = await t.connect("n1", { reconnect: true, reconnectDelayMs: 10 });
    await until(() => t.hub.sessions.get("n1"), 5_000, "session");
    clock.advance(30_000);
    await until(() => edge.connects === 2, 5_000, "reconnect");
    await edge.waitOpen();
    await roundTrip(edge);
  } finally {
    await t.close();
  }
});
