import { assertEquals } from "../assert.ts";
import { NodeRateLimiter } from "../../kube/mod.ts";

Deno.test("NodeRateLimiter: each node gets qps/nodeLimit and burst/nodeLimit; a chatty node does not slow the others", () => {
  let t = 0;
  const lim = new NodeRateLimiter({ qps: 2500, burst: 5000, nodeLimit: 500 }, () => t);
  assertEquals(lim.nodeQps, 5);
  assertEquals(lim.nodeBurst, 10);
  const waits = Array.from({ length: 11 }, () => lim.reserve("chatty"));
  assertEquals(waits.slice(0, 10), Array(10).fill(0)); // burst of 10
  assertEquals(waits[10], 200); // then 5 per second
  assertEquals(lim.reserve("quiet"), 0);
  assertEquals(lim.reserve(), 0); // calls not made for a node only use the overall budget
  t += 1000;
  assertEquals(lim.reserve("chatty"), 0);
});

Deno.test("NodeRateLimiter: qps 0 disables limiting", () => {
  const lim = new NodeRateLimiter({ qps: 0, burst: 0, nodeLimit: 500 });
  for (let i = 0; i < 100; i++) assertEquals(lim.reserve("n"), 0);
});
