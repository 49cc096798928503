import { assert, assertEquals } from "../assert.ts";
import { startLoopLagSampler } from "../../hub/loop_lag.ts";

Deno.test("loop lag: a blocked event loop is observed as lag; stop() ends sampling", async () => {
  const seen: number[] = [];
  const stop = startLoopLagSampler((s) => seen.push(s), 20);
  try {
    // Busy for 120 ms right away: the first sample, due after 20 ms, fires ≥ 100 ms late.
    const until = performance.now() + 120;
    while (performance.now() < until) { /* block */ }
    const deadline = Date.now() + 5_000;
    while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert(seen.length >= 3, `samples: ${seen.length}`);
    assert(Math.max(...seen) >= 0.09, `max lag ${Math.max(...seen)} s after a 120 ms block`);
  } finally {
    stop();
  }
  const n = seen.length;
  await new Promise((r) => setTimeout(r, 60));
  assertEquals(seen.length, n, "no samples after stop()");
});
