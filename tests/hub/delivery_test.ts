import { assert, assertEquals } from "../assert.ts";
import { buildMessage, type Message, newRespByMessage } from "../../modules/message.ts";
import { ManualClock } from "../../lib/clock.ts";
import { MemorySyncStore, objectSyncName } from "../../kube/objectsync.ts";
import { pingRoundTrip, startHub, until } from "./hub_fixture.ts";

function pod(node: string, name: string, uid: string, rv: string, operation = "update"): Message {
  return buildMessage({
    source: "edgecontroller",
    group: "resource",
    operation,
    resource: `node/${node}/default/pod/${name}`,
  }, {
    kind: "Pod",
    apiVersion: "v1",
    metadata: { name, namespace: "default", uid, resourceVersion: rv },
  }, { resourceVersion: rv });
}

const isPod = (m: Message) => (m.route.resource ?? "").startsWith("default/pod/");

Deno.test("messages queued while a node is offline arrive on reconnect: latest RV only, in order, delete wins", async () => {
  const store = new MemorySyncStore();
  const t = await startHub({ syncStore: store });
  try {
    const d = t.hub.dispatcher;
    await d.downstream(pod("n1", "a", "uid-a", "10"));
    await d.downstream(pod("n1", "b", "uid-b", "11"));
    await d.downstream(pod("n1", "a", "uid-a", "12")); // replaces a@10
    await d.downstream(pod("n1", "c", "uid-c", "13"));
    await d.downstream(pod("n1", "c", "uid-c", "14", "delete")); // delete after update wins
    await d.downstream(pod("n1", "c", "uid-c", "15")); // dropped: a delete is pending
    await d.downstream(
      buildMessage({
        source: "edgecontroller",
        group: "resource",
        operation: "insert",
        resource: "node/n1/null/node/n1",
      }, { kind: "Node" }),
    ); // no-ack, kept offline
    await d.flush();
    assertEquals(t.hub.pools.get("n1").ack.depth, 3);
    assertEquals(
      (await store.get({ namespace: "default", name: objectSyncName("n1", "uid-a") }))
        ?.resourceVersion,
      "0",
    );

    const edge = await t.connect("n1");
    await until(() => edge.received.filter(isPod).length >= 3, 5_000, "3 pod messages");
    const pods = edge.received.filter(isPod).map((
      m,
    ) => [m.route.resource, m.route.operation, m.header.resourceVersion]);
    assertEquals(pods, [
      ["default/pod/b", "update", "11"],
      ["default/pod/a", "update", "12"],
      ["default/pod/c", "delete", "14"],
    ]);
    await edge.waitFor((m) => m.route.resource === "null/node/n1");
    // ACKs saved the success points; the delete removed its ObjectSync
    await until(async () =>
      (await store.get({ namespace: "default", name: objectSyncName("n1", "uid-a") }))
        ?.resourceVersion === "12"
    );
    await until(async () =>
      (await store.get({ namespace: "default", name: objectSyncName("n1", "uid-c") })) === null
    );
    assertEquals(
      (await store.get({ namespace: "default", name: objectSyncName("n1", "uid-b") }))
        ?.resourceVersion,
      "11",
    );
    await until(() => t.hub.pools.get("n1").ack.depth === 0);
  } finally {
    await t.close();
  }
});

Deno.test("no ACK → resend with the same msg_id every 5 s; an ACK stops resends", async () => {
  const clock = new ManualClock();
  const t = await startHub({ clock, keepaliveInterval: 3600 });
  try {
    const edge = await t.connect("n1", { ack: false });
    await until(() => t.hub.sessions.get("n1"), 5_000, "session");
    await t.hub.dispatcher.downstream(pod("n1", "a", "uid-a", "5"));
    const first = await edge.waitFor(isPod);
    clock.advance(5_000);
    await until(() => edge.received.filter(isPod).length === 2, 5_000, "resend");
    const second = edge.received.filter(isPod)[1];
    assertEquals(second.header.id, first.header.id);
    assertEquals(await t.hub.metrics.value("edgecloud_cloudhub_resends_total"), 1);
    await edge.send(newRespByMessage(second, "OK"));
    await until(() => t.hub.pools.get("n1").ack.depth === 0, 5_000, "acked");
    clock.advance(60_000);
    // a round trip after the advance proves no resend was written before it
    await pingRoundTrip(edge);
    assertEquals(edge.received.filter(isPod).length, 2);
    assertEquals(
      (await t.hub.syncStore.get({ namespace: "default", name: objectSyncName("n1", "uid-a") }))
        ?.resourceVersion,
      "5",
    );
  } finally {
    await t.close();
  }
});

Deno.test("five unacknowledged writes → requeued with back-off, then sent again", async () => {
  const clock = new ManualClock();
  const t = await startHub({ clock, keepaliveInterval: 3600 });
  try {
    const edge = await t.connect("n1", { ack: false });
    await until(() => t.hub.sessions.get("n1"), 5_000, "session");
    await t.hub.dispatcher.downstream(pod("n1", "a", "uid-a", "5"));
    await edge.waitFor(isPod);
    for (let i = 2; i <= 5; i++) {
      clock.advance(5_000);
      await until(() => edge.received.filter(isPod).length === i, 5_000, `write ${i}`);
    }
    clock.advance(5_000); // fifth timeout → back-off
    await until(
      async () => (await t.hub.metrics.value("edgecloud_cloudhub_requeues_total")) === 1,
      5_000,
      "requeue",
    );
    clock.advance(10); // first back-off step (5 ms)
    await until(() => edge.received.filter(isPod).length === 6, 5_000, "sent after back-off");
    const ids = new Set(edge.received.filter(isPod).map((m) => m.header.id));
    assertEquals(ids.size, 1);
  } finally {
    await t.close();
  }
});

Deno.test("a pending queue survives disconnect: unacked in-flight messages are delivered to the next connection", async () => {
  const t = await startHub();
  try {
    const silent = await t.connect("n1", { ack: false });
    await t.hub.dispatcher.downstream(pod("n1", "a", "uid-a", "7"));
    await silent.waitFor(isPod);
    silent.terminate();
    await until(() => t.hub.sessions.count === 0, 5_000, "session gone");
    const edge = await t.connect("n1");
    const m = await edge.waitFor(isPod);
    assertEquals(m.header.resourceVersion, "7");
    await until(() => t.hub.pools.get("n1").ack.depth === 0, 5_000, "acked");
  } finally {
    await t.close();
  }
});

Deno.test("after a hub restart, unacknowledged objects are resent and acknowledged ones are not", async () => {
  const store = new MemorySyncStore();
  const first = await startHub({ syncStore: store });
  try {
    const edge = await first.connect("n1");
    await first.hub.dispatcher.downstream(pod("n1", "acked", "uid-1", "10"));
    await edge.waitFor((m) => m.route.resource === "default/pod/acked");
    await until(() => first.hub.pools.get("n1").ack.depth === 0, 5_000, "acked");
    await edge.close();
    await until(() => first.hub.sessions.count === 0);
    // queued while the node is offline, never delivered
    await first.hub.dispatcher.downstream(pod("n1", "pending", "uid-2", "11"));
    await first.hub.dispatcher.flush();
  } finally {
    await first.close(); // the hub's memory is gone; only ObjectSync records remain
  }
  assertEquals(
    (await store.get({ namespace: "default", name: objectSyncName("n1", "uid-1") }))
      ?.resourceVersion,
    "10",
  );
  assertEquals(
    (await store.get({ namespace: "default", name: objectSyncName("n1", "uid-2") }))
      ?.resourceVersion,
    "0",
  );

  const second = await startHub({ syncStore: store });
  try {
    // the sync reconciler / informer relist offers both objects again
    await second.hub.dispatcher.downstream(pod("n1", "acked", "uid-1", "10"));
    await second.hub.dispatcher.downstream(pod("n1", "pending", "uid-2", "11"));
    await second.hub.dispatcher.flush();
    const edge = await second.connect("n1");
    await edge.waitFor((m) => m.route.resource === "default/pod/pending");
    await until(async () =>
      (await store.get({ namespace: "default", name: objectSyncName("n1", "uid-2") }))
        ?.resourceVersion === "11"
    );
    await pingRoundTrip(edge);
    assert(
      !edge.received.some((m) => m.route.resource === "default/pod/acked"),
      "acknowledged object resent",
    );
  } finally {
    await second.close();
  }
});

Deno.test("a node delete closes the node's session and drops its pool", async () => {
  const t = await startHub();
  try {
    const edge = await t.connect("n1");
    await until(() => t.hub.sessions.get("n1"));
    await t.hub.dispatcher.downstream(
      buildMessage({
        source: "edgecontroller",
        group: "resource",
        operation: "delete",
        resource: "node/n1/null/node/n1",
      }, null),
    );
    const closed = await edge.waitClosed();
    assertEquals(closed.reason, "node deleted");
    assertEquals(t.hub.pools.peek("n1"), undefined);
  } finally {
    await t.close();
  }
});
