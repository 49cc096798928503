/** NodeOwnership: which nodes a replica queues for, and when it drops a node's pool. */
import { NodeOwnership } from "../../ha/ownership.ts";
import { setLogSink } from "../../lib/log.ts";
import { assertEquals } from "../assert.ts";

setLogSink(() => {});

function fixture(self = "10.0.0.1") {
  const sessions = new Set<string>();
  const annotations = new Map<string, string>();
  const pools = new Set<string>(["n1", "n2", "n3"]);
  const dropped: string[] = [];
  const own = new NodeOwnership({
    self,
    hasSession: (id) => sessions.has(id),
    annotationOf: (id) => annotations.get(id),
    dropPool: (id) => {
      if (!pools.delete(id)) return false;
      dropped.push(id);
      return true;
    },
  });
  return { own, sessions, annotations, pools, dropped };
}

Deno.test("ownership: unclaimed, own and locally connected nodes are accepted; others skipped", () => {
  const { own, sessions, annotations } = fixture();
  assertEquals(own.accepts("n1"), true, "no annotation: nobody else serves it");
  annotations.set("n1", "10.0.0.1");
  assertEquals(own.accepts("n1"), true, "ours");
  annotations.set("n2", "10.0.0.2");
  assertEquals(own.accepts("n2"), false, "served by another replica");
  sessions.add("n2");
  assertEquals(own.accepts("n2"), true, "a live session here wins over a lagging annotation");
  annotations.set("n3", "");
  assertEquals(own.accepts("n3"), true);
});

Deno.test("ownership: a node claimed elsewhere loses its pool here once, and not while connected here", () => {
  const { own, sessions, annotations, dropped } = fixture();
  annotations.set("n1", "10.0.0.1");
  own.observe("n1");
  assertEquals(dropped, [], "still ours");

  annotations.set("n1", "10.0.0.2");
  sessions.add("n1");
  own.observe("n1");
  assertEquals(dropped, [], "half-open session here: pool kept until it ends");
  sessions.delete("n1");
  own.disconnected("n1");
  assertEquals(dropped, ["n1"]);
  own.observe("n1");
  assertEquals(dropped, ["n1"], "nothing left to drop");
  assertEquals(own.dropped, 1);

  annotations.set("n2", "10.0.0.3");
  own.observe("n2");
  assertEquals(dropped, ["n1", "n2"]);

  annotations.set("n3", "10.0.0.1");
  own.disconnected("n3");
  assertEquals(dropped, ["n1", "n2"], "disconnected from us, still ours: the backlog stays");
});
