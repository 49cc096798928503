/** The KV store: atomic monotonic resourceVersions under concurrency, change log, reopen. */
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { Store } from "../../apiserver/store.ts";
import { ApiError, conflict } from "../../apiserver/errors.ts";

Deno.test("store: concurrent writes get unique, gap-free resourceVersions; events arrive in RV order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgecloud-store-" });
  const store = await Store.open({ path: `${dir}/s.kv` });
  try {
    const seen: number[] = [];
    store.subscribe(store.resourceVersion, (ev) => seen.push(ev.rv));
    const outs = await Promise.all(
      Array.from(
        { length: 300 },
        (_, i) =>
          store.mutate(
            "things",
            "ns",
            `t${i % 50}`,
            () => ({ kind: "put", obj: { metadata: { name: `t${i % 50}` }, n: i } }),
          ),
      ),
    );
    const rvs = outs.map((o) => o.object!.rv);
    assertEquals(new Set(rvs).size, 300);
    assertEquals(Math.max(...rvs), store.resourceVersion);
    assertEquals(seen, [...seen].sort((a, b) => a - b));
    assertEquals(seen.length, 300);
    for (let i = 1; i < seen.length; i++) assertEquals(seen[i], seen[i - 1] + 1);
    assertEquals(store.list("things", "ns").length, 50);
    // A failing mutation rejects alone; a dry run changes nothing.
    const before = store.resourceVersion;
    await assertRejects(
      () =>
        store.mutate("things", "ns", "t1", () => {
          throw conflict({ group: "", resource: "things" }, "t1");
        }),
      ApiError,
    );
    const dry = await store.mutate(
      "things",
      "ns",
      "new",
      () => ({ kind: "put", obj: { metadata: { name: "new" } } }),
      true,
    );
    assert(dry.object);
    assertEquals(store.get("things", "ns", "new"), undefined);
    assertEquals(store.resourceVersion, before);
  } finally {
    await store.close();
  }
  const again = await Store.open({ path: `${dir}/s.kv` });
  try {
    assertEquals(again.list("things", "ns").length, 50);
    assertEquals(again.resourceVersion, 300);
    // The persisted change log lets a watcher resume from before the reopen.
    const replay: number[] = [];
    again.subscribe(290, (ev) => replay.push(ev.rv));
    assertEquals(replay, [291, 292, 293, 294, 295, 296, 297, 298, 299, 300]);
  } finally {
    await again.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: objects larger than one KV value are chunked and shrink cleanly", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgecloud-store-" });
  let store = await Store.open({ path: `${dir}/s.kv` });
  try {
    await store.mutate(
      "blobs",
      "",
      "b",
      () => ({ kind: "put", obj: { metadata: { name: "b" }, data: "x".repeat(300_000) } }),
    );
    await store.mutate(
      "blobs",
      "",
      "b",
      () => ({ kind: "put", obj: { metadata: { name: "b" }, data: "y".repeat(70_000) } }),
    );
    await store.close();
    store = await Store.open({ path: `${dir}/s.kv` });
    assertEquals((store.get("blobs", "", "b")!.obj.data as string).length, 70_000);
    await store.mutate("blobs", "", "b", () => ({ kind: "delete" }));
    await store.close();
    store = await Store.open({ path: `${dir}/s.kv` });
    assertEquals(store.get("blobs", "", "b"), undefined);
    const kv = await Deno.openKv(`${dir}/s.kv`);
    let chunks = 0;
    for await (const _ of kv.list({ prefix: ["c"] })) chunks++;
    kv.close();
    assertEquals(chunks, 0);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
