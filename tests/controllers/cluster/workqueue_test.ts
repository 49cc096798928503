/** The controllers' keyed work queue: dedup, re-run when added mid-sync, retry, addAfter, stop. */
import { assertEquals } from "../../assert.ts";
import { WorkQueue } from "../../../controllers/cluster/workqueue.ts";
import { waitUntil } from "../../wait.ts";

Deno.test("workqueue: a key queued twice runs once; added while running runs again; failures retry", async () => {
  const runs: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  let failOnce = true;
  const q = new WorkQueue("test", async (key) => {
    runs.push(key);
    if (key === "slow" && runs.filter((k) => k === "slow").length === 1) await gate;
    if (key === "flaky" && failOnce) {
      failOnce = false;
      throw new Error("boom");
    }
  }, { retryBaseMs: 1 });
  q.add("a");
  q.add("a");
  q.start();
  await waitUntil(() => runs.includes("a"), "a ran");
  q.add("slow");
  await waitUntil(() => runs.includes("slow"), "slow started");
  q.add("slow"); // while it runs: once more afterwards
  q.add("slow");
  release();
  await waitUntil(() => runs.filter((k) => k === "slow").length === 2, "slow ran again");
  q.add("flaky");
  await waitUntil(() => runs.filter((k) => k === "flaky").length === 2, "flaky retried");
  q.addAfter("later", 5);
  await waitUntil(() => runs.includes("later"), "later ran");
  q.addAfter("never", 60_000);
  await q.stop(); // clears the pending timer (the sanitizer would fail otherwise)
  assertEquals(runs.filter((k) => k === "a").length, 1);
  assertEquals(runs.filter((k) => k === "slow").length, 2);
  assertEquals(runs.includes("never"), false);
});
