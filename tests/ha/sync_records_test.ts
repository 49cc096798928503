/**
 * SyncRecordIndex / WatchedSyncStore against the embedded API: a record written by another
 * replica's store is seen here (KubeSyncStore's own list-once copy would not see it).
 */
import { startEmbeddedApi } from "../../apiserver/mod.ts";
import { KubeClient } from "../../kube/mod.ts";
import { SyncRecordIndex, WatchedSyncStore } from "../../ha/sync_records.ts";
import { KubeSyncStore } from "../../kube/objectsync_kube.ts";
import { setLogSink } from "../../lib/log.ts";
import { assertEquals } from "../assert.ts";
import { waitUntil } from "../wait.ts";

setLogSink(() => {});

function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  return waitUntil(probe, "the record", { defined: true }) as Promise<T>;
}

Deno.test("WatchedSyncStore: reads follow writes made by another replica", async () => {
  const dir = await Deno.makeTempDir();
  const api = await startEmbeddedApi({ dataDir: dir, port: 0 });
  const kube = KubeClient.fromYaml(api.kubeconfigYaml);
  const index = new SyncRecordIndex(kube);
  try {
    const spec = { objectAPIVersion: "v1", objectKind: "Pod", objectName: "web" };
    const key = { namespace: "default", name: "edge-1.uid-1" };
    const here = new KubeSyncStore(kube.http);
    const other = new KubeSyncStore(kube.http);
    assertEquals(await here.get(key), null); // loads KubeSyncStore's copy
    await index.start();
    const watched = new WatchedSyncStore(index, here);

    await other.upsertStatus(key, spec, "7");
    assertEquals(await here.get(key), null, "KubeSyncStore's own copy misses the other's write");
    const rec = await until(async () => (await watched.get(key)) ?? undefined);
    assertEquals(rec.resourceVersion, "7");
    await until(async () => (await watched.get(key))?.resourceVersion === "7" ? true : undefined);
    assertEquals(index.forNode("edge-1").map((r) => r.name), ["edge-1.uid-1"]);
    assertEquals(index.forNode("edge-2"), []);

    await watched.upsertStatus(key, spec, "9"); // writes go through `here`
    await until(async () => (await watched.get(key))?.resourceVersion === "9" ? true : undefined);
    await other.delete(key);
    await until(async () => (await watched.get(key)) === null ? true : undefined);
    assertEquals((await watched.list()).length, 0);
    assertEquals(index.forNode("edge-1"), [], "the per-node index follows deletes");
  } finally {
    await index.stop();
    await kube.close();
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test('KubeSyncStore: the ack queue\'s create ("0") never moves an acknowledged RV back', async () => {
  const dir = await Deno.makeTempDir();
  const api = await startEmbeddedApi({ dataDir: dir, port: 0 });
  const kube = KubeClient.fromYaml(api.kubeconfigYaml);
  try {
    const spec = { objectAPIVersion: "v1", objectKind: "Pod", objectName: "web" };
    const key = { namespace: "default", name: "edge-1.uid-2" };
    const holder = new KubeSyncStore(kube.http, { cache: false });
    const stale = new KubeSyncStore(kube.http, { cache: false });
    await stale.upsertStatus(key, spec, "0");
    assertEquals((await holder.get(key))?.resourceVersion, "0");
    await holder.upsertStatus(key, spec, "12");
    await stale.upsertStatus(key, spec, "0"); // a replica that thought the record was missing
    assertEquals((await holder.get(key))?.resourceVersion, "12");
  } finally {
    await kube.close();
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
});
