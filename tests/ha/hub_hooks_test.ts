/**
 * The CloudHub hooks HA uses (hub/cloudhub.ts, hub/dispatcher.ts): `acceptsNode` keeps messages
 * for nodes served elsewhere out of the queues (no pool, no ObjectSync write), and
 * `onConnected` / `onDisconnected` report sessions.
 */
import { buildMessage } from "../../modules/message.ts";
import { MemorySyncStore } from "../../kube/objectsync.ts";
import { setLogSink } from "../../lib/log.ts";
import { assertEquals } from "../assert.ts";
import { startHub, until } from "../hub/hub_fixture.ts";

setLogSink(() => {});

function podUpdate(node: string, uid: string, rv: string) {
  return buildMessage(
    {
      source: "edgecontroller",
      group: "resource",
      operation: "update",
      resource: `node/${node}/default/pod/p-${uid}`,
    },
    { apiVersion: "v1", kind: "Pod", metadata: { name: `p-${uid}`, uid } },
    {
      resourceVersion: rv,
    },
  );
}

Deno.test("CloudHub: acceptsNode filters downstream messages; session hooks fire", async () => {
  const held = new Set(["mine"]);
  const events: string[] = [];
  const syncStore = new MemorySyncStore();
  const t = await startHub({
    syncStore,
    acceptsNode: (id) => held.has(id),
    onConnected: (id) => events.push(`up ${id}`),
    onDisconnected: (id) => events.push(`down ${id}`),
  });
  try {
    const d = t.hub.dispatcher;
    assertEquals(await d.downstream(podUpdate("elsewhere", "u1", "5")), "not_held");
    assertEquals(await d.downstream(podUpdate("mine", "u2", "5")), "ack");
    await d.flush();
    assertEquals(t.hub.pools.peek("elsewhere"), undefined, "no pool for a node served elsewhere");
    assertEquals((await syncStore.list()).map((r) => r.name), ["mine.u2"]);

    const edge = await t.connect("elsewhere");
    await until(() => events.includes("up elsewhere"));
    await edge.close();
    await until(() => events.includes("down elsewhere"));
    assertEquals(events, ["up elsewhere", "down elsewhere"]);
  } finally {
    await t.close();
  }
});
