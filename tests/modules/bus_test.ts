import { assert, assertEquals, assertRejects } from "../assert.ts";
import { Bus, BusClosedError, TimeoutError, UnknownModuleError } from "../../modules/bus.ts";
import { buildMessage, type Message, newRespByMessage } from "../../modules/message.ts";

function msg(resource = "r"): Message {
  return buildMessage({ source: "test", group: "resource", operation: "query", resource }, null);
}

Deno.test("send/receive preserves order", async () => {
  const bus = new Bus();
  bus.addModule("a");
  const sent = [msg("1"), msg("2"), msg("3")];
  for (const m of sent) await bus.send("a", m);
  assertEquals(bus.queueLength("a"), 3);
  for (const m of sent) assertEquals(await bus.receive("a"), m);
  bus.close();
});

Deno.test("receive waits for a later send", async () => {
  const bus = new Bus();
  bus.addModule("a");
  const pending = bus.receive("a");
  const m = msg();
  await bus.send("a", m);
  assertEquals(await pending, m);
  bus.close();
});

Deno.test("unknown module and empty group are errors, not silent drops", async () => {
  const bus = new Bus();
  await assertRejects(() => bus.send("nope", msg()), UnknownModuleError);
  await assertRejects(() => bus.sendToGroup("nogroup", msg()), UnknownModuleError);
  await assertRejects(() => bus.sendSync("nope", msg(), 50), UnknownModuleError);
  await assertRejects(() => bus.sendToGroupSync("nogroup", msg(), 50), UnknownModuleError);
  assertEquals(bus.stats.dropped, 4);
  bus.close();
});

Deno.test("back-pressure: a sender waits while the inbox is full, never drops", async () => {
  const bus = new Bus({ inboxCapacity: 2 });
  bus.addModule("a");
  await bus.send("a", msg("1"));
  await bus.send("a", msg("2"));
  let thirdDone = false;
  const third = bus.send("a", msg("3")).then(() => thirdDone = true);
  await Promise.resolve();
  assertEquals(thirdDone, false);
  assertEquals(bus.queueLength("a"), 2);
  assertEquals((await bus.receive("a")).route.resource, "1");
  await third;
  assertEquals(thirdDone, true);
  assertEquals((await bus.receive("a")).route.resource, "2");
  assertEquals((await bus.receive("a")).route.resource, "3");
  bus.close();
});

Deno.test("sendSync: reply matched by parent id; sync flag set", async () => {
  const bus = new Bus();
  bus.addModule("edgecontroller");
  const responder = (async () => {
    const req = await bus.receive("edgecontroller");
    assertEquals(req.header.sync, true);
    // An unrelated response is not taken as the reply.
    assertEquals(bus.sendResp(newRespByMessage(msg(), "other")), false);
    assert(bus.sendResp(newRespByMessage(req, "OK")));
  })();
  const reply = await bus.sendSync("edgecontroller", msg(), 1_000);
  assertEquals(reply.content, "OK");
  await responder;
  assertEquals(bus.stats.orphanResponses, 1);
  bus.close();
});

Deno.test("sendSync: TimeoutError, and a late reply is an orphan", async () => {
  const bus = new Bus();
  bus.addModule("a");
  const m = msg();
  await assertRejects(() => bus.sendSync("a", m, 20), TimeoutError, "no reply");
  assertEquals(bus.stats.timeouts, 1);
  assertEquals(bus.sendResp(newRespByMessage(m, "late")), false);
  bus.close();
});

Deno.test("sendSync: times out while blocked by back-pressure and withdraws the message", async () => {
  const bus = new Bus({ inboxCapacity: 1 });
  bus.addModule("a");
  await bus.send("a", msg("filler"));
  await assertRejects(() => bus.sendSync("a", msg("sync"), 20), TimeoutError);
  assertEquals((await bus.receive("a")).route.resource, "filler");
  assertEquals(bus.queueLength("a"), 0);
  bus.close();
});

Deno.test("sendToGroup fans out to every member", async () => {
  const bus = new Bus();
  bus.addModule("d1", "devicecontroller");
  bus.addModule("d2", "devicecontroller");
  bus.addModule("other");
  const m = msg();
  await bus.sendToGroup("devicecontroller", m);
  assertEquals(await bus.receive("d1"), m);
  assertEquals(await bus.receive("d2"), m);
  assertEquals(bus.queueLength("other"), 0);
  assertEquals(bus.modules("devicecontroller"), ["d1", "d2"]);
  bus.close();
});

Deno.test("sendToGroupSync waits for every member, or times out", async () => {
  const bus = new Bus();
  bus.addModule("g1", "g");
  bus.addModule("g2", "g");
  const answer = async (name: string, content: string) => {
    const req = await bus.receive(name);
    bus.sendResp(newRespByMessage(req, content));
  };
  const all = bus.sendToGroupSync("g", msg(), 1_000);
  await Promise.all([answer("g1", "one"), answer("g2", "two")]);
  assertEquals((await all).map((r) => r.content).sort(), ["one", "two"]);

  const partial = bus.sendToGroupSync("g", msg(), 30);
  await answer("g1", "only one");
  await bus.receive("g2");
  await assertRejects(() => partial, TimeoutError);
  bus.close();
});

Deno.test("stop while a sendSync waits: BusClosedError, no leaked timer", async () => {
  const bus = new Bus();
  bus.addModule("a");
  const waiting = bus.sendSync("a", msg(), 60_000);
  const receiving = bus.receive("a");
  await receiving;
  bus.close();
  await assertRejects(() => waiting, BusClosedError);
  await assertRejects(() => bus.receive("a"), BusClosedError);
  await assertRejects(() => bus.send("a", msg()), BusClosedError);
});

Deno.test("removeModule ends that module's receive", async () => {
  const bus = new Bus();
  bus.addModule("a");
  const r = bus.receive("a");
  bus.removeModule("a");
  await assertRejects(() => r, BusClosedError);
  bus.close();
});

Deno.test("duplicate msg_id for concurrent sync requests is refused", async () => {
  const bus = new Bus();
  bus.addModule("a");
  const m = msg();
  const first = bus.sendSync("a", m, 1_000);
  await assertRejects(() => bus.sendSync("a", m, 1_000), Error, "already waiting");
  bus.sendResp(newRespByMessage(await bus.receive("a"), "ok"));
  assertEquals((await first).content, "ok");
  bus.close();
});
