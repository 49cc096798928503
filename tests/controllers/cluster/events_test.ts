/**
 * The event recorder against the embedded API, read back with kubectl: repeats bump count and
 * lastTimestamp of one Event (re-created when it was deleted), the 10th distinct message of a
 * reason is folded into "(combined from similar events)", and the spam filter lets 25 events per
 * object through, then one per 5 minutes.
 */
import { assertEquals } from "../../assert.ts";
import { EventRecorder, type EventSubject } from "../../../controllers/cluster/events.ts";
import { kubectlOk, startCluster, type TestCluster } from "./helpers.ts";

interface EventView {
  metadata: { name: string };
  reason: string;
  message: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source: { component: string };
  involvedObject: { name: string; uid?: string };
}

async function events(c: TestCluster, name: string): Promise<EventView[]> {
  const out = await kubectlOk(c.api, [
    "get",
    "events",
    "--field-selector",
    `involvedObject.name=${name}`,
    "-o",
    "json",
  ]);
  return (JSON.parse(out) as { items: EventView[] }).items;
}

const subject = (name: string): EventSubject => ({
  kind: "Pod",
  apiVersion: "v1",
  namespace: "default",
  name,
  uid: `uid-${name}`,
});

Deno.test("events: repeats are counted on one Event, and re-created after deletion", async () => {
  let t = Date.parse("2026-01-01T00:00:00Z");
  const c = await startCluster(() => [], { kubelet: false });
  try {
    const rec = new EventRecorder(c.kube, "test-controller", () => new Date(t));
    await rec.record(subject("a"), "Warning", "Failed", "it broke");
    t += 5_000;
    await rec.record(subject("a"), "Warning", "Failed", "it broke");
    t += 5_000;
    await rec.record(subject("a"), "Warning", "Failed", "it broke");
    let list = await events(c, "a");
    assertEquals(list.length, 1);
    assertEquals(list[0].count, 3);
    assertEquals(list[0].firstTimestamp, "2026-01-01T00:00:00Z");
    assertEquals(list[0].lastTimestamp, "2026-01-01T00:00:10Z");
    assertEquals(list[0].source.component, "test-controller");
    assertEquals(list[0].involvedObject.uid, "uid-a");
    // Another message is another Event.
    await rec.record(subject("a"), "Warning", "Failed", "it broke again");
    assertEquals((await events(c, "a")).length, 2);
    // Deleted meanwhile (events expire): written again, with the count going on.
    await kubectlOk(c.api, ["delete", "events", "--all"]);
    await rec.record(subject("a"), "Warning", "Failed", "it broke");
    list = await events(c, "a");
    assertEquals(list.map((e) => e.count), [4]);
    assertEquals(list[0].firstTimestamp, "2026-01-01T00:00:00Z");
  } finally {
    await c.close();
  }
});

Deno.test("events: the 10th distinct message is combined; the spam filter caps an object", async () => {
  let t = Date.parse("2026-01-01T00:00:00Z");
  const c = await startCluster(() => [], { kubelet: false });
  try {
    const rec = new EventRecorder(c.kube, "test-controller", () => new Date(t));
    for (let i = 1; i <= 11; i++) {
      await rec.record(subject("b"), "Warning", "BackOff", `attempt ${i}`);
    }
    const list = await events(c, "b");
    assertEquals(list.length, 10);
    const combined = list.filter((e) => e.message.startsWith("(combined from similar events): "));
    assertEquals(combined.length, 1);
    assertEquals(combined[0].message, "(combined from similar events): attempt 11");
    assertEquals(combined[0].count, 2);
    // 25 per object (11 used above), then nothing until the bucket refills.
    for (let i = 0; i < 20; i++) await rec.record(subject("b"), "Warning", `R${i}`, "x");
    assertEquals((await events(c, "b")).length, 10 + 14);
    t += 5 * 60_000;
    await rec.record(subject("b"), "Warning", "Later", "x");
    await rec.record(subject("b"), "Warning", "Later2", "x");
    const reasons = (await events(c, "b")).map((e) => e.reason);
    assertEquals(reasons.includes("Later"), true);
    assertEquals(reasons.includes("Later2"), false);
  } finally {
    await c.close();
  }
});
