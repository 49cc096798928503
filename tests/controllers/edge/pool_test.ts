import { assertEquals, assertRejects } from "../../assert.ts";
import { WorkerPool } from "../../../controllers/edge/pool.ts";
import { BusClosedError } from "../../../modules/mod.ts";

/** A handler whose calls wait until released, recording the order they started in. */
function gated() {
  const started: number[] = [];
  const gates = new Map<number, () => void>();
  let active = 0;
  let maxActive = 0;
  const handler = async (n: number) => {
    started.push(n);
    active++;
    maxActive = Math.max(maxActive, active);
    await new Promise<void>((resolve) => gates.set(n, resolve));
    active--;
  };
  const release = (n: number) => gates.get(n)?.();
  const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
  return { started, handler, release, tick, max: () => maxActive };
}

Deno.test("a pool runs at most `workers` handlers at once and buffers the rest in order", async () => {
  const g = gated();
  const pool = new WorkerPool<number>("t", 10, 3, g.handler);
  for (let i = 0; i < 8; i++) await pool.push(i);
  await g.tick();
  assertEquals(g.started, [0, 1, 2]);
  assertEquals(pool.running, 3);
  assertEquals(pool.size, 5);
  for (let i = 0; i < 8; i++) {
    g.release(i);
    await g.tick();
  }
  assertEquals(g.started, [0, 1, 2, 3, 4, 5, 6, 7]);
  assertEquals(g.max(), 3);
  assertEquals(pool.processed, 8);
  assertEquals(pool.running, 0);
  await pool.stop();
});

Deno.test("a pool of one worker handles items one at a time in arrival order", async () => {
  const order: number[] = [];
  const pool = new WorkerPool<number>("t", 100, 1, async (n) => {
    await new Promise((resolve) => setTimeout(resolve, n % 3));
    order.push(n);
  });
  for (let i = 0; i < 20; i++) await pool.push(i);
  while (pool.processed < 20) await new Promise((resolve) => setTimeout(resolve, 1));
  assertEquals(order, Array.from({ length: 20 }, (_, i) => i));
  await pool.stop();
});

Deno.test("push waits while the buffer is full and goes on when a worker frees a slot", async () => {
  const g = gated();
  const pool = new WorkerPool<number>("t", 2, 1, g.handler);
  await pool.push(0); // running
  await g.tick();
  await pool.push(1);
  await pool.push(2); // buffer full
  let third = false;
  const blocked = pool.push(3).then(() => (third = true));
  await g.tick();
  assertEquals(third, false);
  g.release(0);
  await blocked;
  assertEquals(third, true);
  for (const n of [1, 2, 3]) {
    await g.tick();
    g.release(n);
  }
  await g.tick();
  assertEquals(g.started, [0, 1, 2, 3]);
  await pool.stop();
});

Deno.test("stop drops buffered items, waits for running handlers, then refuses pushes", async () => {
  const g = gated();
  const pool = new WorkerPool<number>("t", 10, 1, g.handler);
  await pool.push(0);
  await pool.push(1);
  await g.tick();
  let stopped = false;
  const stopping = pool.stop().then(() => (stopped = true));
  await g.tick();
  assertEquals(stopped, false);
  g.release(0);
  await stopping;
  assertEquals(g.started, [0]);
  await assertRejects(() => pool.push(2), BusClosedError);
});

Deno.test("a failing handler is counted and the pool goes on; an idle pool holds no handler", async () => {
  const pool = new WorkerPool<number>("t", 10, 1_000_000, (n) => {
    if (n === 1) return Promise.reject(new Error("boom"));
    return Promise.resolve();
  });
  assertEquals(pool.running, 0);
  for (const n of [0, 1, 2]) await pool.push(n);
  while (pool.processed + pool.failed < 3) await new Promise((resolve) => setTimeout(resolve, 1));
  assertEquals([pool.processed, pool.failed, pool.running], [2, 1, 0]);
  await pool.stop();
});
