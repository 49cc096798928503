import { assertEquals } from "../assert.ts";
import { buildMessage } from "../../modules/message.ts";
import { NoAckQueue } from "../../hub/noack_queue.ts";

const m = (i: number) =>
  buildMessage({ operation: "update", resource: `node/n/default/podlist/${i}` }, i);

Deno.test("no-ack queue keeps arrival order and drops the oldest past its bound", async () => {
  const dropped: unknown[] = [];
  let depth = 0;
  const q = new NoAckQueue({
    capacity: 3,
    onOverflow: (msg) => dropped.push(msg.content),
    onDepth: (d) => (depth += d),
  });
  for (let i = 1; i <= 5; i++) q.push(m(i));
  assertEquals(dropped, [1, 2]);
  assertEquals(q.depth, 3);
  assertEquals(depth, 3);
  const signal = new AbortController().signal;
  const first = await q.next(signal);
  assertEquals(first.content, 3);
  q.unshift(first); // a failed write puts it back in front
  const got = [];
  for (let i = 0; i < 3; i++) got.push((await q.next(signal)).content);
  assertEquals(got, [3, 4, 5]);
  assertEquals(depth, 0);
});

Deno.test("no-ack queue next() waits for a push and rejects on abort", async () => {
  const q = new NoAckQueue();
  const ac = new AbortController();
  const waiting = q.next(ac.signal);
  q.push(m(1));
  assertEquals((await waiting).content, 1);
  const aborted = q.next(ac.signal).then(() => "resolved", () => "rejected");
  ac.abort(new Error("stop"));
  assertEquals(await aborted, "rejected");
});

Deno.test("no-ack queue tryNext/onReady: one wake-up per registration, withdrawn by offReady", () => {
  const q = new NoAckQueue();
  assertEquals(q.tryNext(), undefined);
  let woken = 0;
  const ready = () => woken++;
  q.onReady(ready);
  q.onReady(ready); // registered once
  q.push(m(1));
  assertEquals(woken, 1);
  q.push(m(2)); // one-shot: not registered any more
  assertEquals(woken, 1);
  assertEquals(q.tryNext()?.content, 1);
  assertEquals(q.tryNext()?.content, 2);
  assertEquals(q.depth, 0);
  q.onReady(ready);
  q.offReady(ready);
  q.push(m(3));
  assertEquals(woken, 1);
  assertEquals(q.tryNext()?.content, 3);
});
