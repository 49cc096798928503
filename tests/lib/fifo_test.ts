import { assertEquals } from "../assert.ts";
import { Fifo } from "../../lib/fifo.ts";

Deno.test("Fifo: first in, first out across compactions, with withdrawals and drain", () => {
  const q = new Fifo<number>();
  assertEquals(q.shift(), undefined);
  let next = 0;
  let expected = 0;
  // Interleave so the consumed prefix crosses the compaction threshold many times.
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 300; i++) q.push(next++);
    for (let i = 0; i < 250; i++) assertEquals(q.shift(), expected++);
  }
  assertEquals(q.length, next - expected);
  const withdrawn = expected + 5;
  assertEquals(q.remove(withdrawn), true);
  assertEquals(q.remove(withdrawn), false);
  assertEquals(q.remove(-1), false);
  const rest = q.drain();
  assertEquals(rest.length, next - expected - 1);
  assertEquals(rest[0], expected);
  assertEquals(rest.includes(withdrawn), false);
  assertEquals(rest.at(-1), next - 1);
  assertEquals(q.length, 0);
  q.push(7);
  q.clear();
  assertEquals(q.shift(), undefined);
});

Deno.test("Fifo: an item already shifted cannot be removed", () => {
  const q = new Fifo<string>();
  q.push("a");
  q.push("b");
  assertEquals(q.shift(), "a");
  assertEquals(q.remove("a"), false);
  assertEquals(q.length, 1);
});
