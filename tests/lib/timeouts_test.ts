import { assertEquals, assertRejects } from "../assert.ts";
import { sleep, withTimeout } from "../../lib/mod.ts";

Deno.test("withTimeout: the promise's value when it settles first; no timer left behind", async () => {
  assertEquals(await withTimeout(Promise.resolve(7), 1_000, () => new Error("late")), 7);
});

Deno.test("withTimeout: rejects with the caller's error once the deadline passes", async () => {
  const never = new Promise<never>(() => {});
  await assertRejects(() => withTimeout(never, 5, () => new RangeError("too slow")), RangeError);
});

Deno.test("sleep: an aborted signal rejects at once", async () => {
  const ac = new AbortController();
  ac.abort(new Error("stop"));
  await assertRejects(() => sleep(10_000, ac.signal));
});
