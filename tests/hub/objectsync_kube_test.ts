import { assertEquals } from "../assert.ts";
import { KubeConfig } from "@kubernetes/client-node";
import { startEmbeddedApi } from "../../apiserver/mod.ts";
import { KubeSyncStore } from "../../hub/objectsync_kube.ts";
import { buildMessage, type Message } from "../../modules/message.ts";
import { startHub, until } from "./hub_fixture.ts";

async function withApi(fn: (kc: KubeConfig, kubeconfigPath: string) => Promise<void>) {
  const dataDir = await Deno.makeTempDir({ prefix: "hub-objectsync-" });
  const api = await startEmbeddedApi({ dataDir, port: 0 });
  try {
    const kc = new KubeConfig();
    kc.loadFromString(api.kubeconfigYaml);
    await fn(kc, api.kubeconfigPath);
  } finally {
    await api.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

async function kubectl(kubeconfig: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("kubectl", { args: ["--kubeconfig", kubeconfig, ...args] })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`kubectl ${args.join(" ")} failed: ${text}`);
  return text;
}

Deno.test("KubeSyncStore: ObjectSync and ClusterObjectSync through the status subresource, read back by kubectl", async () => {
  await withApi(async (kc, kubeconfig) => {
    const store = new KubeSyncStore(kc);
    const ns = { namespace: "default", name: "n1.uid-1" };
    const cluster = { namespace: null, name: "n1.uid-2" };
    assertEquals(await store.get(ns), null);
    await store.upsertStatus(
      ns,
      { objectAPIVersion: "v1", objectKind: "Pod", objectName: "p" },
      "0",
    );
    await store.upsertStatus(
      ns,
      { objectAPIVersion: "v1", objectKind: "Pod", objectName: "p" },
      "42",
    );
    await store.upsertStatus(cluster, {
      objectAPIVersion: "v1",
      objectKind: "Node",
      objectName: "n1",
    }, "7");
    assertEquals(await store.get(ns), {
      namespace: "default",
      name: "n1.uid-1",
      spec: { objectAPIVersion: "v1", objectKind: "Pod", objectName: "p" },
      resourceVersion: "42",
    });
    assertEquals((await store.get(cluster))?.resourceVersion, "7");
    const json = JSON.parse(
      await kubectl(
        kubeconfig,
        "get",
        "objectsyncs.reliablesyncs.kubeedge.io",
        "-n",
        "default",
        "n1.uid-1",
        "-o",
        "json",
      ),
    );
    assertEquals(json.kind, "ObjectSync");
    assertEquals(json.status.objectResourceVersion, "42");
    assertEquals(json.spec.objectKind, "Pod");
    assertEquals((await store.list()).length, 2);
    await store.delete(ns);
    await store.delete(ns); // missing is fine
    assertEquals(await store.get(ns), null);
  });
});

Deno.test("KubeSyncStore: writes to one record coalesce to the newest state; get is served from the cache", async () => {
  await withApi(async (kc) => {
    const store = new KubeSyncStore(kc, { writeConcurrency: 2 });
    const spec = { objectAPIVersion: "v1", objectKind: "Pod", objectName: "p" };
    const key = { namespace: "default", name: "n1.uid-c" };
    const writes = [];
    for (let rv = 1; rv <= 20; rv++) writes.push(store.upsertStatus(key, spec, String(rv)));
    writes.push(store.upsertStatus({ namespace: null, name: "n1.uid-d" }, spec, "5"));
    assertEquals((await store.get(key))?.resourceVersion, "20"); // cache, before the writes land
    await Promise.all(writes);
    const direct = new KubeSyncStore(kc, { cache: false });
    assertEquals((await direct.get(key))?.resourceVersion, "20");
    assertEquals((await direct.get({ namespace: null, name: "n1.uid-d" }))?.resourceVersion, "5");
    await Promise.all([store.upsertStatus(key, spec, "21"), store.delete(key)]);
    assertEquals(await direct.get(key), null);
    assertEquals(await store.get(key), null);
  });
});

function pod(name: string, uid: string, rv: string): Message {
  return buildMessage({
    source: "edgecontroller",
    group: "resource",
    operation: "update",
    resource: `node/n1/default/pod/${name}`,
  }, {
    kind: "Pod",
    apiVersion: "v1",
    metadata: { name, namespace: "default", uid, resourceVersion: rv },
  }, { resourceVersion: rv });
}

Deno.test("hub restart over the embedded API: unacknowledged objects resent, acknowledged ones not", async () => {
  await withApi(async (kc) => {
    const first = await startHub({ syncStore: new KubeSyncStore(kc) });
    try {
      const edge = await first.connect("n1");
      await first.hub.dispatcher.downstream(pod("acked", "uid-1", "10"));
      await edge.waitFor((m) => m.route.resource === "default/pod/acked");
      await until(async () =>
        (await first.hub.syncStore.get({ namespace: "default", name: "n1.uid-1" }))
          ?.resourceVersion === "10"
      );
      await edge.close();
      await until(() => first.hub.sessions.count === 0);
      await first.hub.dispatcher.downstream(pod("pending", "uid-2", "11"));
      await first.hub.dispatcher.flush();
    } finally {
      await first.close();
    }
    const second = await startHub({ syncStore: new KubeSyncStore(kc) });
    try {
      assertEquals(
        (await second.hub.syncStore.get({ namespace: "default", name: "n1.uid-2" }))
          ?.resourceVersion,
        "0",
      );
      await second.hub.dispatcher.downstream(pod("acked", "uid-1", "10"));
      await second.hub.dispatcher.downstream(pod("pending", "uid-2", "11"));
      await second.hub.dispatcher.flush();
      const edge = await second.connect("n1");
      await edge.waitFor((m) => m.route.resource === "default/pod/pending");
      await until(async () =>
        (await second.hub.syncStore.get({ namespace: "default", name: "n1.uid-2" }))
          ?.resourceVersion === "11"
      );
      assertEquals(edge.received.filter((m) => m.route.resource === "default/pod/acked").length, 0);
    } finally {
      await second.close();
    }
  });
});
