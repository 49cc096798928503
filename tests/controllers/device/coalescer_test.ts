/** TwinCoalescer with a manual clock and a scripted flush function. */
import { assert, assertEquals } from "../../assert.ts";
import { type TwinBatch, TwinCoalescer } from "../../../controllers/device/mod.ts";
import { ManualClock } from "./harness.ts";

const v = (value: string) => new Map([["p", { value }]]);

function setup(failures = 0) {
  const clock = new ManualClock();
  const flushed: { key: string; batch: TwinBatch }[] = [];
  let fail = failures;
  let release: (() => void) | undefined;
  let hold = false;
  const c = new TwinCoalescer({
    windowMs: 1000,
    clock,
    flush: async (key, batch) => {
      if (hold) await new Promise<void>((r) => release = r);
      if (fail > 0) {
        fail--;
        throw new Error("boom");
      }
      flushed.push({ key, batch });
    },
  });
  return {
    clock,
    flushed,
    c,
    holdNext: () => (hold = true),
    release: () => {
      hold = false;
      release?.();
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("coalescer: one flush per window with the last value of each property", async () => {
  const { clock, flushed, c } = setup();
  let acks = 0;
  for (let i = 0; i < 10; i++) {
    c.add("d", {
      reported: new Map([[i % 2 ? "a" : "b", { value: String(i) }]]),
      ack: () => acks++,
    });
  }
  c.add("other", { reported: v("x"), ack: () => acks++ });
  assertEquals(c.pendingMessages, 11);
  clock.advance(999);
  await tick();
  assertEquals(flushed.length, 0);
  clock.advance(1);
  await tick();
  assertEquals(flushed.length, 2);
  const d = flushed.find((f) => f.key === "d")!.batch;
  assertEquals(Object.fromEntries(d.reported), { a: { value: "9" }, b: { value: "8" } });
  assertEquals(d.messages, 10);
  assertEquals(acks, 11);
  await c.stop();
});

Deno.test("coalescer: failure keeps values under newer ones and retries with back-off", async () => {
  const { clock, flushed, c } = setup(1);
  const acked: string[] = [];
  c.add("d", {
    reported: new Map([["a", { value: "1" }], ["b", { value: "1" }]]),
    ack: () => acked.push("m1"),
  });
  clock.advance(1000);
  await tick();
  assertEquals(c.stats.failedFlushes, 1);
  c.add("d", { reported: new Map([["a", { value: "2" }]]), ack: () => acked.push("m2") });
  clock.advance(200); // retry delay
  await tick();
  assertEquals(flushed.length, 1);
  assertEquals(Object.fromEntries(flushed[0].batch.reported), {
    a: { value: "2" },
    b: { value: "1" },
  });
  assertEquals(acked, ["m1", "m2"]);
  await c.stop();
});

Deno.test("coalescer: messages during an in-flight flush go into the next one", async () => {
  const s = setup();
  s.c.add("d", { reported: v("1") });
  s.holdNext();
  s.clock.advance(1000);
  await tick();
  assertEquals(s.c.inflight, 1);
  s.c.add("d", { reported: v("2") });
  s.clock.advance(1000); // window over while the first flush is still running
  await tick();
  assertEquals(s.flushed.length, 0);
  s.release();
  await tick();
  await tick();
  assertEquals(s.flushed.map((f) => f.batch.reported.get("p")?.value), ["1", "2"]);
  await s.c.stop();
});

Deno.test("coalescer: drop forgets a device; stop flushes what is pending", async () => {
  const { flushed, c } = setup();
  let acks = 0;
  c.add("gone", { reported: v("1"), ack: () => acks++ });
  c.add("kept", { reported: v("2"), ack: () => acks++ });
  c.drop("gone");
  await c.stop();
  assertEquals(flushed.map((f) => f.key), ["kept"]);
  assertEquals(acks, 1);
  assertEquals(c.stats.dropped, 1);
  let threw = false;
  try {
    c.add("x", {});
  } catch {
    threw = true;
  }
  assert(threw, "no adds after stop");
});
