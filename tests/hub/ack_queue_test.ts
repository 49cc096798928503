import { assert, assertEquals } from "../assert.ts";
import { buildMessage, type Message } from "../../modules/message.ts";
import { AckQueue } from "../../hub/ack_queue.ts";
import { ManualClock } from "../../lib/clock.ts";
import { MemorySyncStore, objectSyncName } from "../../kube/objectsync.ts";

// KubeEdge's test framework constants (cloud/pkg/cloudhub/common/testing).
const NODE = "foo-node";
const NS = "foo-ns";
const UID = "c7399134-f4fb-43e6-8088-c273bfffe7af";
const DIFF_UID = "d8400245-05fc-54f7-9199-d384c00ff8b0";

function podMessage(uid: string, rv: string, operation: string, name = "foo-pod"): Message {
  const pod = {
    kind: "Pod",
    apiVersion: "v1",
    metadata: { name, namespace: NS, uid, resourceVersion: rv },
  };
  return buildMessage(
    {
      source: "edgecontroller",
      group: "resource",
      operation,
      resource: `node/${NODE}/${NS}/pod/${name}`,
    },
    pod,
    { resourceVersion: rv },
  );
}

const syncKey = (uid: string) => ({ namespace: NS, name: objectSyncName(NODE, uid) });
const spec = { objectAPIVersion: "v1", objectKind: "Pod", objectName: "foo-pod" };

async function setup(initialSyncRv?: string, initial: Message[] = []) {
  const store = new MemorySyncStore();
  if (initialSyncRv !== undefined) await store.upsertStatus(syncKey(UID), spec, initialSyncRv);
  const q = new AckQueue({ nodeId: NODE, syncStore: store, clock: new ManualClock() });
  for (const m of initial) await q.enqueue(m);
  return { store, q };
}

async function syncRvs(store: MemorySyncStore): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const r of await store.list()) out[r.name] = r.resourceVersion;
  return out;
}

// KubeEdge's TestEnqueueAckMessage table.
Deno.test("enqueue: invalid message (empty RV) is dropped, no ObjectSync", async () => {
  const { store, q } = await setup();
  assertEquals(await q.enqueue(podMessage(UID, "", "update")), "dropped");
  assertEquals(await store.list(), []);
  assertEquals(q.entry(UID), undefined);
});

Deno.test("enqueue: delete is stored, ObjectSync untouched", async () => {
  const { store, q } = await setup("1");
  const del = podMessage(UID, "4", "delete");
  assertEquals(await q.enqueue(del), "queued");
  assertEquals(q.entry(UID)?.msg, del);
  assertEquals(await syncRvs(store), { [objectSyncName(NODE, UID)]: "1" });
});

Deno.test("enqueue: response is stored, ObjectSync untouched", async () => {
  const { store, q } = await setup("1");
  const resp = podMessage(UID, "5", "response");
  assertEquals(await q.enqueue(resp), "queued");
  assertEquals(q.entry(UID)?.msg, resp);
  assertEquals(await syncRvs(store), { [objectSyncName(NODE, UID)]: "1" });
});

Deno.test("enqueue: first arrival creates the ObjectSync with RV 0", async () => {
  const { store, q } = await setup();
  const m1 = podMessage(UID, "1", "update");
  assertEquals(await q.enqueue(m1), "queued");
  assertEquals(q.entry(UID)?.msg, m1);
  const rec = await store.get(syncKey(UID));
  assertEquals(rec?.resourceVersion, "0");
  assertEquals(rec?.spec, spec);
});

Deno.test("enqueue: larger RV than the ObjectSync is queued", async () => {
  const { store, q } = await setup("1");
  const m2 = podMessage(UID, "2", "update");
  assertEquals(await q.enqueue(m2), "queued");
  assertEquals(q.entry(UID)?.msg, m2);
  assertEquals(await syncRvs(store), { [objectSyncName(NODE, UID)]: "1" });
});

Deno.test("enqueue: smaller RV than the ObjectSync is dropped", async () => {
  const { q } = await setup("2");
  assertEquals(await q.enqueue(podMessage(UID, "1", "update")), "dropped");
  assertEquals(q.entry(UID)?.msg ?? null, null);
});

Deno.test("enqueue: stored message replaced by a larger RV, kept against a smaller one", async () => {
  const m1 = podMessage(UID, "1", "update");
  const m2 = podMessage(UID, "2", "update");
  const { q } = await setup(undefined, [m1]);
  assertEquals(await q.enqueue(m2), "replaced");
  assertEquals(q.entry(UID)?.msg, m2);
  assertEquals(await q.enqueue(m1), "dropped");
  assertEquals(q.entry(UID)?.msg, m2);
});

Deno.test("enqueue: delete replaces a stored update and wins over later updates", async () => {
  const m2 = podMessage(UID, "2", "update");
  const del = podMessage(UID, "4", "delete");
  const { q } = await setup(undefined, [m2]);
  assertEquals(await q.enqueue(del), "replaced");
  assertEquals(q.entry(UID)?.msg, del);
  assertEquals(await q.enqueue(podMessage(UID, "9", "update")), "dropped");
  assertEquals(q.entry(UID)?.msg, del);
});

Deno.test("enqueue: later versions of a terminating object replace a pending delete", async () => {
  // A pending delete only drops an update that lacks deletionTimestamp: the API never clears
  // one, so every later version of the same UID (finalizers removed, status) is a delete too
  // and takes the delete's place, as in cloudcore's enqueueAckMessage.
  const terminating = (rv: string) => {
    const m = podMessage(UID, rv, "update");
    (m.content as { metadata: Record<string, unknown> }).metadata.deletionTimestamp =
      "2026-01-01T00:00:00Z";
    return m;
  };
  const { q } = await setup(undefined, [terminating("4")]);
  const later = terminating("6");
  assertEquals(await q.enqueue(later), "replaced");
  assertEquals(q.entry(UID)?.msg, later);
  const gone = podMessage(UID, "7", "delete");
  assertEquals(await q.enqueue(gone), "replaced");
  assertEquals(q.entry(UID)?.msg, gone);
});

Deno.test("enqueue: same name, different UID is a separate object with its own ObjectSync", async () => {
  const { store, q } = await setup("2", [podMessage(UID, "2", "update")]);
  const m3 = podMessage(DIFF_UID, "3", "update");
  assertEquals(await q.enqueue(m3), "queued");
  assertEquals(q.entry(DIFF_UID)?.msg, m3);
  assertEquals((await store.get(syncKey(DIFF_UID)))?.resourceVersion, "0");
});

Deno.test("enqueue: deletionTimestamp counts as a delete", async () => {
  const { q } = await setup();
  const m = podMessage(UID, "", "update");
  (m.content as { metadata: Record<string, unknown> }).metadata.deletionTimestamp =
    "2026-01-01T00:00:00Z";
  assertEquals(await q.enqueue(m), "queued");
});

Deno.test("enqueue: a non-numeric RV is dropped, never thrown", async () => {
  const { q } = await setup();
  assertEquals(await q.enqueue(podMessage(UID, "abc", "update")), "dropped");
  assertEquals(await q.enqueue(podMessage(UID, "18446744073709551616", "update")), "dropped");
});

Deno.test("enqueue: RVs compare as unsigned 64-bit numbers, not strings", async () => {
  const { q } = await setup(undefined, [podMessage(UID, "9", "update")]);
  assertEquals(await q.enqueue(podMessage(UID, "10", "update")), "replaced");
  assertEquals(await q.enqueue(podMessage(UID, "18446744073709551615", "update")), "replaced");
});

Deno.test("enqueue: messages of other groups or without a UID are dropped", async () => {
  const { q } = await setup();
  const twin = buildMessage(
    {
      source: "devicecontroller",
      group: "twin",
      operation: "update",
      resource: `node/${NODE}/twin`,
    },
    {},
    { resourceVersion: "1" },
  );
  assertEquals(await q.enqueue(twin), "dropped");
  const noUid = buildMessage(
    {
      source: "edgecontroller",
      group: "resource",
      operation: "update",
      resource: `node/${NODE}/${NS}/pod/x`,
    },
    "text",
    { resourceVersion: "1" },
  );
  assertEquals(await q.enqueue(noUid), "dropped");
});

Deno.test("next: pending messages come out lowest RV first", async () => {
  const { q } = await setup();
  await q.enqueue(podMessage("u3", "30", "update", "c"));
  await q.enqueue(podMessage("u1", "10", "update", "a"));
  await q.enqueue(podMessage("u2", "20", "update", "b"));
  const signal = new AbortController().signal;
  const order = [];
  for (let i = 0; i < 3; i++) order.push((await q.next(signal)).msg.header.resourceVersion);
  assertEquals(order, ["10", "20", "30"]);
});

Deno.test("acked saves the success point; delete ACK removes the ObjectSync and the entry", async () => {
  const { store, q } = await setup();
  const signal = new AbortController().signal;
  await q.enqueue(podMessage(UID, "7", "update"));
  const lease = await q.next(signal);
  await q.acked(lease);
  assertEquals((await store.get(syncKey(UID)))?.resourceVersion, "7");
  assertEquals(q.entry(UID)?.state, "delivered");
  assertEquals(q.depth, 0);
  // an older or equal RV is now stale
  assertEquals(await q.enqueue(podMessage(UID, "7", "update")), "dropped");
  await q.enqueue(podMessage(UID, "8", "delete"));
  await q.acked(await q.next(signal));
  assertEquals(await store.get(syncKey(UID)), null);
  assertEquals(q.entry(UID), undefined);
});

/** A queue on a manual clock whose first back-off is 100 ms. */
function backoffQueue() {
  const clock = new ManualClock();
  const q = new AckQueue({
    nodeId: NODE,
    syncStore: new MemorySyncStore(),
    clock,
    backoffBaseMs: 100,
  });
  return { clock, q };
}

Deno.test("failed requeues with back-off; release and resetBackoff make it due again", async () => {
  const { clock, q } = backoffQueue();
  const ac = new AbortController();
  await q.enqueue(podMessage(UID, "1", "update"));
  const lease = await q.next(ac.signal);
  q.failed(lease);
  let got = false;
  const p = q.next(ac.signal).then((l) => {
    got = true;
    return l;
  });
  await Promise.resolve();
  assertEquals(got, false);
  clock.advance(100);
  const again = await p;
  assert(got);
  assertEquals(again.msg, lease.msg);
  q.failed(again); // second failure: 200 ms
  q.resetBackoff();
  const third = await q.next(ac.signal);
  assertEquals(third.msg.header.id, lease.msg.header.id);
  q.release(third);
  assertEquals((await q.next(ac.signal)).msg.header.id, lease.msg.header.id);
  q.close();
});

Deno.test("enqueue: a record with no status RV yet (created, never ACKed) counts as 0, not as an error", async () => {
  // KubeEdge drops such a message for good; the object would never reach the node.
  const { q } = await setup("");
  const m = podMessage(UID, "3", "update");
  assertEquals(await q.enqueue(m), "queued");
  assertEquals(q.entry(UID)?.msg, m);
});

Deno.test("onReady: one synchronous call per registration, on enqueue and when a back-off passes", async () => {
  const { clock, q } = backoffQueue();
  let calls = 0;
  const ready = () => calls++;
  q.onReady(ready);
  q.onReady(ready); // the same callback twice is registered once
  await q.enqueue(podMessage(UID, "1", "update"));
  assertEquals(calls, 1);
  await q.enqueue(podMessage("u2", "2", "update"));
  assertEquals(calls, 1, "one-shot: not called again until registered again");
  const lease = q.tryNext()!;
  q.failed(lease); // waits 100 ms
  q.tryNext(); // takes u2
  assertEquals(q.tryNext(), null);
  q.onReady(ready); // nothing due: registering does not call it
  assertEquals(calls, 1);
  clock.advance(99);
  assertEquals(calls, 1);
  clock.advance(1);
  assertEquals(calls, 2, "the back-off timer calls it");
  assertEquals(q.tryNext()?.msg.header.id, lease.msg.header.id);
  q.onReady(ready);
  q.offReady(ready);
  await q.enqueue(podMessage("u3", "3", "update"));
  assertEquals(calls, 2, "withdrawn");
  q.close();
});

Deno.test("enqueue: decided at once for a known object; in arrival order behind a lookup", async () => {
  const { q } = await setup();
  const first = q.enqueue(podMessage(UID, "1", "update"));
  assert(first instanceof Promise, "a first arrival reads the ObjectSync record");
  // Queued behind the lookup, even though this object needs none of its own.
  const del = q.enqueue(podMessage(DIFF_UID, "2", "delete", "other"));
  assert(del instanceof Promise);
  assertEquals(await first, "queued");
  assertEquals(await del, "queued");
  const newer = q.enqueue(podMessage(UID, "3", "update"));
  assertEquals(newer, "replaced", "a newer version of a known object: no promise");
  assertEquals(q.enqueue(podMessage(UID, "2", "update")), "dropped");
  assertEquals(q.tryNext()?.msg.header.resourceVersion, "2");
  assertEquals(q.tryNext()?.msg.header.resourceVersion, "3");
});

Deno.test("acked: an update's ACK after a delete replaced it saves the update's RV; the delete stays queued", async () => {
  const { store, q } = await setup();
  const signal = new AbortController().signal;
  await q.enqueue(podMessage(UID, "7", "update"));
  const lease = await q.next(signal);
  assertEquals(lease.isDelete, false);
  const del = podMessage(UID, "9", "delete");
  assertEquals(await q.enqueue(del), "replaced");
  await q.acked(lease);
  assertEquals((await store.get(syncKey(UID)))?.resourceVersion, "7");
  assertEquals(q.entry(UID)?.msg, del);
  const delLease = await q.next(signal);
  assertEquals(delLease.isDelete, true);
  await q.acked(delLease);
  assertEquals(await store.get(syncKey(UID)), null);
  assertEquals(q.entry(UID), undefined);
});
