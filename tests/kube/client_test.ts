import { assert, assertEquals, assertRejects } from "../assert.ts";
import { startEmbeddedApi } from "../../apiserver/mod.ts";
import {
  isNotFound,
  KubeApiError,
  KubeClient,
  type KubeObject,
  KubeUnavailableError,
  TokenBucket,
} from "../../kube/mod.ts";
import { waitUntil } from "../wait.ts";

async function withApi(fn: (kube: KubeClient, api: { kubeconfigYaml: string }) => Promise<void>) {
  const dataDir = await Deno.makeTempDir({ prefix: "kube-test-" });
  const api = await startEmbeddedApi({ dataDir, port: 0 });
  const kube = KubeClient.fromYaml(api.kubeconfigYaml);
  try {
    await fn(kube, api);
  } finally {
    await kube.close();
    await api.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

async function until(pred: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  await waitUntil(pred, what, { timeoutMs, intervalMs: 10 });
}

Deno.test("informer: hasSynced after the initial list, then add/update/delete from the watch", async () => {
  await withApi(async (kube) => {
    await kube.create("/api/v1/namespaces/default/configmaps", {
      metadata: { name: "before" },
      data: { a: "1" },
    });
    const events: string[] = [];
    const inf = kube.informer<KubeObject>("/api/v1/namespaces/default/configmaps", undefined, {
      kind: "ConfigMap",
      apiVersion: "v1",
    });
    inf.on({
      add: (o) => void events.push(`add ${o.metadata?.name}`),
      update: (o, old) =>
        void events.push(
          `update ${o.metadata?.name} ${
            old.metadata?.resourceVersion !== o.metadata?.resourceVersion
          }`,
        ),
      delete: (o) => void events.push(`delete ${o.metadata?.name}`),
    });
    assert(!inf.hasSynced());
    inf.start();
    await inf.synced;
    assert(inf.hasSynced());
    assertEquals(events, ["add before"]);
    assertEquals(inf.get("before", "default")?.kind, "ConfigMap");
    await kube.create("/api/v1/namespaces/default/configmaps", { metadata: { name: "after" } });
    await kube.patch(
      "/api/v1/namespaces/default/configmaps/before",
      { data: { a: "2" } },
      "application/merge-patch+json",
    );
    await kube.delete("/api/v1/namespaces/default/configmaps/after");
    await until(() => events.length >= 4, "watch events");
    assertEquals(events, ["add before", "add after", "update before true", "delete after"]);
    await inf.stop();
  });
});

Deno.test("raw calls: typed KubeApiError with the Status; typed client-node APIs work", async () => {
  await withApi(async (kube) => {
    const err = await assertRejects(
      () => kube.get("/api/v1/namespaces/default/secrets/nope"),
      KubeApiError,
    );
    assert(isNotFound(err));
    assertEquals((err as KubeApiError).status.reason, "NotFound");
    const ns = await kube.core.readNamespace({ name: "default" });
    assertEquals(ns.metadata?.name, "default");
  });
});

Deno.test("unreachable API: retries with back-off, then KubeUnavailableError; informer keeps retrying and stops cleanly", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const yaml = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`;
  const kube = KubeClient.fromYaml(yaml, { maxAttempts: 3, backoffMs: 5, maxBackoffMs: 20 });
  try {
    await assertRejects(() => kube.get("/api/v1/nodes"), KubeUnavailableError);
    const inf = kube.informer("/api/v1/nodes").start();
    await new Promise((r) => setTimeout(r, 50));
    assert(!inf.hasSynced());
  } finally {
    await kube.close();
  }
});

Deno.test("token bucket: burst is free, then callers wait qps-spaced", () => {
  let t = 0;
  const b = new TokenBucket(10, 2, () => t);
  assertEquals(b.reserve(), 0);
  assertEquals(b.reserve(), 0);
  assertEquals(b.reserve(), 100);
  t = 1000;
  assertEquals(b.reserve(), 0);
});

Deno.test("informer: a 410 on watch re-lists, and objects gone meanwhile are delivered as deletes", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "kube-test-" });
  const api = await startEmbeddedApi({ dataDir, port: 0, watchLogSize: 5 });
  const kube = KubeClient.fromYaml(api.kubeconfigYaml);
  try {
    const path = "/api/v1/namespaces/default/configmaps";
    await kube.create(path, { metadata: { name: "doomed" } });
    // Push the change log past the informer's (stale) starting point.
    for (let i = 0; i < 10; i++) await kube.create(path, { metadata: { name: `filler-${i}` } });
    let lists = 0;
    const deleted: string[] = [];
    const inf = kube.informer<KubeObject>(path, async (query, signal) => {
      lists++;
      if (lists === 1) {
        // A stale snapshot: "doomed" still there, RV far behind the log.
        return {
          items: [{ metadata: { name: "doomed", namespace: "default", resourceVersion: "1" } }],
          metadata: { resourceVersion: "1" },
        };
      }
      return await kube.get(path, { signal, query }) as never;
    });
    await kube.delete(`${path}/doomed`);
    inf.on({ delete: (o) => void deleted.push(o.metadata?.name ?? "") }).start();
    await inf.synced;
    await until(() => lists >= 2 && deleted.includes("doomed"), "re-list after 410");
    await until(() => inf.list().length === 10, "fresh list in the cache");
    await inf.stop();
  } finally {
    await kube.close();
    await api.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("informer: a watch ended by its timeout is re-opened from the last RV without a re-list", async () => {
  await withApi(async (kube) => {
    let lists = 0;
    const path = "/api/v1/namespaces/default/configmaps";
    const added: string[] = [];
    const inf = kube.informer<KubeObject>(path, async (query, signal) => {
      lists++;
      return await kube.get(path, { signal, query }) as never;
    }, { watchTimeoutSeconds: 1 });
    inf.on({ add: (o) => void added.push(o.metadata?.name ?? "") }).start();
    await inf.synced;
    await until(() => inf.watchCount >= 2, "a second watch after the server timeout");
    await kube.create(path, { metadata: { name: "after-rewatch" } });
    await until(() => added.includes("after-rewatch"), "event on the new watch");
    assertEquals(lists, 1);
    await inf.stop();
  });
});

Deno.test("KubeHttp.send: a write whose answer is discarded unread; failures are still KubeApiError", async () => {
  await withApi(async (kube) => {
    const path = "/api/v1/namespaces/default/configmaps";
    await kube.http.send("POST", path, { body: { metadata: { name: "sent" }, data: { a: "1" } } });
    await kube.http.send("PATCH", `${path}/sent`, {
      body: { data: { a: "2" } },
      contentType: "application/merge-patch+json",
    });
    const got = await kube.get<KubeObject & { data: Record<string, string> }>(`${path}/sent`);
    assertEquals(got.data, { a: "2" });
    const err = await assertRejects(() => kube.http.send("DELETE", `${path}/nope`), KubeApiError);
    assertEquals((err as KubeApiError).code, 404);
  });
});
