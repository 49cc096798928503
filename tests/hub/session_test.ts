import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { buildMessage } from "../../modules/message.ts";
import { ManualClock } from "../../lib/clock.ts";
import { Bus } from "../../modules/bus.ts";
import { pingRoundTrip, startHub, until } from "./hub_fixture.ts";

const roundTrip = pingRoundTrip;

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

/**
 * A hub whose EdgeController inbox holds one message (the node's "connected" event fills it) and
 * is not read until the test says so: upstream handlers stall.
 */
async function stalledHub(clock: ManualClock) {
  const bus = new Bus();
  bus.addModule("edgecontroller", "edgecontroller", 1);
  const t = await startHub({ clock, keepaliveInterval: 30, bus });
  return { t, bus };
}

function podStatus(i: number) {
  return buildMessage({
    source: "edged",
    group: "meta",
    operation: "update",
    resource: `default/podstatus/p${i}`,
  }, {});
}

async function keepalivesIn(t: Awaited<ReturnType<typeof startHub>>): Promise<number> {
  return await t.hub.metrics.value("edgecloud_cloudhub_messages_in_total", {
    operation: "keepalive",
  }) ?? 0;
}

Deno.test("a keepalive is not queued behind upstream messages waiting for a busy controller", async () => {
  const clock = new ManualClock();
  const { t, bus } = await stalledHub(clock);
  try {
    const edge = await t.connect("n1");
    await until(() => t.hub.sessions.get("n1"), 5_000, "session");
    // Ten status updates: the first fills the inbox, the rest wait in the node's handler chain
    // (fewer than the 64 that pause reading, so the socket is still read).
    for (let i = 0; i < 10; i++) await edge.send(podStatus(i));
    await until(async () =>
      (await t.hub.metrics.value("edgecloud_cloudhub_messages_in_total", {
        operation: "update",
      })) === 1
    );
    clock.advance(20_000);
    await edge.sendKeepalive();
    await until(async () => (await keepalivesIn(t)) === 1, 5_000, "keepalive handled");
    clock.advance(20_000); // 40 s since connect, 20 s since the keepalive
    await roundTrip(edge);
    assert(edge.connected, "the keepalive behind stalled updates did not count");
    // The stalled updates are still delivered, in order, once the controller reads.
    assertEquals((await bus.receive("edgecontroller")).route.operation, "connected");
    for (let i = 0; i < 10; i++) {
      assertEquals(
        (await bus.receive("edgecontroller")).route.resource,
        `node/n1/default/podstatus/p${i}`,
      );
    }
  } finally {
    await t.close();
    bus.close();
  }
});

Deno.test("while the hub has stopped reading a node (back-pressure) its keepalive deadline waits", async () => {
  const clock = new ManualClock();
  const { t, bus } = await stalledHub(clock);
  try {
    const edge = await t.connect("n1");
    await until(() => t.hub.sessions.get("n1"), 5_000, "session");
    const session = t.hub.sessions.get("n1")!;
    for (let i = 0; i < 200; i++) await edge.send(podStatus(i));
    await until(() => session.conn.readPaused, 5_000, "reading paused");
    clock.advance(45_000); // past the interval: our delay, not the edge's silence
    await new Promise((r) => setTimeout(r, 50));
    assert(!session.closed, "closed for a keepalive the hub had not read");
    // The controller catches up: reading resumes and everything arrives in order.
    assertEquals((await bus.receive("edgecontroller")).route.operation, "connected");
    for (let i = 0; i < 200; i++) {
      assertEquals(
        (await bus.receive("edgecontroller")).route.resource,
        `node/n1/default/podstatus/p${i}`,
      );
    }
    await until(() => !session.conn.readPaused, 5_000, "reading resumed");
    // With reading resumed and no keepalive, the deadline applies again.
    clock.advance(30_000);
    const closed = await edge.waitClosed();
    assertStringIncludes(closed.reason, "keepalive timeout");
  } finally {
    await t.close();
    bus.close();
  }
});
