import { assert, assertEquals } from "../assert.ts";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeHttp } from "../../kube/http.ts";
import { startEmbeddedApi } from "../../apiserver/mod.ts";
import { KubeSyncStore } from "../../kube/objectsync_kube.ts";
import { buildMessage, type Message } from "../../modules/message.ts";
import { startHub, until } from "../hub/hub_fixture.ts";
import { waitUntil } from "../wait.ts";

async function withApi(fn: (http: KubeHttp, kubeconfigPath: string) => Promise<void>) {
  const dataDir = await Deno.makeTempDir({ prefix: "hub-objectsync-" });
  const api = await startEmbeddedApi({ dataDir, port: 0 });
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfigYaml);
  const http = new KubeHttp(kc);
  try {
    await fn(http, api.kubeconfigPath);
  } finally {
    http.close();
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
  await withApi(async (http, kubeconfig) => {
    const store = new KubeSyncStore(http);
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
  await withApi(async (http) => {
    const store = new KubeSyncStore(http, { writeConcurrency: 2 });
    const spec = { objectAPIVersion: "v1", objectKind: "Pod", objectName: "p" };
    const key = { namespace: "default", name: "n1.uid-c" };
    const writes = [];
    for (let rv = 1; rv <= 20; rv++) writes.push(store.upsertStatus(key, spec, String(rv)));
    writes.push(store.upsertStatus({ namespace: null, name: "n1.uid-d" }, spec, "5"));
    assertEquals((await store.get(key))?.resourceVersion, "20"); // cache, before the writes land
    await Promise.all(writes);
    const direct = new KubeSyncStore(http, { cache: false });
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
  await withApi(async (http) => {
    const first = await startHub({ syncStore: new KubeSyncStore(http) });
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
    const second = await startHub({ syncStore: new KubeSyncStore(http) });
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

/**
 * A minimal objectsyncs API (plain HTTP, 127.0.0.1) whose status patches (the ACK success
 * points; a create is a POST alone) hang until released: the background writes of a slow API.
 */
function blockingSyncApi() {
  const records = new Map<string, Record<string, unknown>>();
  const held: Array<() => void> = [];
  let release: (() => void) | undefined;
  const released = new Promise<void>((r) => (release = r));
  let heldChanged: () => void = () => {};
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const name = path.replace(/\/status$/, "").split("/").pop() ?? "";
    if (req.method === "GET" && path.endsWith("/objectsyncs")) {
      return Response.json({ items: [...records.values()] });
    }
    if (req.method === "GET" && path.endsWith("/clusterobjectsyncs")) {
      return Response.json({ items: [] });
    }
    if (req.method === "GET") {
      const rec = records.get(name);
      if (rec) return Response.json(rec);
      return Response.json({ kind: "Status", code: 404, reason: "NotFound" }, { status: 404 });
    }
    const body = await req.json();
    if (req.method === "POST") {
      const created = { ...body, metadata: { ...body.metadata, resourceVersion: "1" } };
      records.set(body.metadata.name, created);
      return Response.json(created, { status: 201 });
    }
    if (req.method === "PATCH" && path.endsWith("/status")) {
      const rec = records.get(name);
      if (!rec) {
        return Response.json({ kind: "Status", code: 404, reason: "NotFound" }, { status: 404 });
      }
      held.push(() => {});
      heldChanged();
      await released;
      const next = { ...rec, status: { ...(rec.status as object), ...body.status } };
      records.set(name, next);
      return Response.json(next);
    }
    return new Response("unexpected", { status: 405 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    /** Resolves once `n` status writes are hanging. */
    held(n: number): Promise<void> {
      return new Promise((resolve) => {
        heldChanged = () => held.length >= n && resolve();
        heldChanged();
      });
    },
    release: () => release!(),
    close: () => server.shutdown(),
  };
}

Deno.test("KubeSyncStore: a create on the send path does not wait behind blocked ACK status writes", async () => {
  const api = blockingSyncApi();
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: api.url, skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  const http = new KubeHttp(kc);
  try {
    const store = new KubeSyncStore(http, { writeConcurrency: 2, createConcurrency: 2 });
    const spec = { objectAPIVersion: "v1", objectKind: "Pod", objectName: "p" };
    // Six ACK success points: two hang at the API, four more wait for the background lane.
    const acks = [];
    for (let i = 0; i < 6; i++) {
      acks.push(store.upsertStatus({ namespace: "default", name: `n1.acked-${i}` }, spec, "7"));
    }
    await api.held(2);
    // The create an enqueue awaits before its message may be sent completes regardless.
    const fresh = { namespace: "default", name: "n1.fresh" };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const created = await Promise.race([
      store.upsertStatus(fresh, spec, "0").then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 10_000))),
    ]);
    clearTimeout(timer);
    assert(created, "the create waited behind the blocked background writes");
    assertEquals((await store.get(fresh))?.resourceVersion, "0");
    api.release();
    await Promise.all(acks);
    assertEquals(
      (await store.get({ namespace: "default", name: "n1.acked-5" }))?.resourceVersion,
      "7",
    );
    // #4925: a create merged behind a pending acknowledged RV does not move it back.
    const key = { namespace: "default", name: "n1.acked-0" };
    await Promise.all([store.upsertStatus(key, spec, "9"), store.upsertStatus(key, spec, "0")]);
    assertEquals((await store.get(key))?.resourceVersion, "9");
  } finally {
    api.release();
    http.close();
    await api.close();
  }
});

Deno.test("KubeSyncStore: a create is the record alone; no status reads as 0, and a later ACK RV is kept", async () => {
  await withApi(async (http, kubeconfig) => {
    const store = new KubeSyncStore(http, { cache: false });
    const key = { namespace: "default", name: "n1.uid-9" };
    const spec = { objectAPIVersion: "v1", objectKind: "Pod", objectName: "p" };
    await store.upsertStatus(key, spec, "0");
    const raw = JSON.parse(
      await kubectl(
        kubeconfig,
        "get",
        "objectsyncs.reliablesyncs.kubeedge.io",
        "n1.uid-9",
        "-o",
        "json",
      ),
    );
    assertEquals(raw.spec, spec);
    assertEquals(raw.status?.objectResourceVersion, undefined);
    assertEquals((await store.get(key))?.resourceVersion, "0");
    await store.upsertStatus(key, spec, "12");
    // A second "create" (another replica, a stale copy) finds the record and leaves it alone.
    await store.upsertStatus(key, spec, "0");
    assertEquals((await store.get(key))?.resourceVersion, "12");
  });
});

Deno.test("KubeSyncStore: success points within the delay fold into one write; creates never wait; flush writes at once", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "hub-objectsync-" });
  const api = await startEmbeddedApi({ dataDir, port: 0 });
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfigYaml);
  const calls: string[] = [];
  const http = new KubeHttp(kc, {
    transport: (req) => {
      calls.push(`${req.method} ${new URL(req.url).pathname.split("/").pop()}`);
      return api.handle(req);
    },
  });
  try {
    const store = new KubeSyncStore(http, { successPointDelayMs: 60_000 });
    const reader = new KubeSyncStore(http, { cache: false });
    const key = { namespace: "default", name: "n1.uid-7" };
    const spec = { objectAPIVersion: "v1", objectKind: "Pod", objectName: "p" };
    await store.get(key); // the first get lists once; count writes from here on
    calls.length = 0;
    const writes = () => calls.filter((c) => !c.startsWith("GET"));
    await store.upsertStatus(key, spec, "0"); // on the send path: written now
    assertEquals(writes(), ["POST objectsyncs"]);
    const acks = ["5", "6", "7"].map((rv) => store.upsertStatus(key, spec, rv));
    // Held back for the delay, not started: the store says so.
    await waitUntil(() => store.heldBack === 1, "the success points held back");
    assertEquals(writes(), ["POST objectsyncs"], "success points wait for the delay");
    assertEquals((await store.get(key))?.resourceVersion, "7", "reads see the newest at once");
    assertEquals((await reader.get(key))?.resourceVersion, "0");
    await store.flush();
    await Promise.all(acks);
    assertEquals(writes(), ["POST objectsyncs", "PATCH status"], "three success points, one write");
    assertEquals((await reader.get(key))?.resourceVersion, "7");
    // A delete is a background write too; flush writes it.
    const gone = store.delete(key);
    await store.flush();
    await gone;
    assertEquals(await reader.get(key), null);
  } finally {
    http.close();
    await api.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("KubeSyncStore: success points are paced; ACKs that arrive while one waits fold into it", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "hub-objectsync-" });
  const api = await startEmbeddedApi({ dataDir, port: 0 });
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfigYaml);
  const patches = new Map<string, number>();
  const http = new KubeHttp(kc, {
    transport: (req) => {
      if (req.method === "PATCH") {
        const name = new URL(req.url).pathname.split("/").at(-2)!;
        patches.set(name, (patches.get(name) ?? 0) + 1);
      }
      return api.handle(req);
    },
  });
  try {
    const store = new KubeSyncStore(http, {
      successPointDelayMs: 0,
      successPointQps: 5,
      successPointBurst: 1,
    });
    const spec = { objectAPIVersion: "v1", objectKind: "Pod", objectName: "p" };
    const keys = [1, 2, 3, 4, 5, 6].map((i) => ({ namespace: "default", name: `n${i}.uid-${i}` }));
    const t0 = performance.now();
    await Promise.all(keys.map((k) => store.upsertStatus(k, spec, "0")));
    // Paced, six creates would take a second.
    assert(performance.now() - t0 < 800, "creates are on the send path and never paced");
    const t1 = performance.now();
    await Promise.all(
      keys.flatMap((k) => ["5", "6", "7"].map((rv) => store.upsertStatus(k, spec, rv))),
    );
    // A burst of 1, then 5/s: the other 5 records wait 200 ms each.
    assert(performance.now() - t1 >= 900, "paced");
    assertEquals([...patches.values()], [1, 1, 1, 1, 1, 1], "three ACKs per record, one write");
    const reader = new KubeSyncStore(http, { cache: false });
    for (const k of keys) assertEquals((await reader.get(k))?.resourceVersion, "7");
  } finally {
    http.close();
    await api.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("CloudHub close writes the success points it was holding back", async () => {
  await withApi(async (http) => {
    const t = await startHub({
      syncStore: new KubeSyncStore(http, { successPointDelayMs: 60_000 }),
    });
    const key = { namespace: "default", name: "n1.uid-1" };
    try {
      const edge = await t.connect("n1");
      await t.hub.dispatcher.downstream(pod("acked", "uid-1", "10"));
      await edge.waitFor((m) => m.route.resource === "default/pod/acked");
      await until(async () => (await t.hub.syncStore.get(key))?.resourceVersion === "10");
    } finally {
      await t.close();
    }
    const reader = new KubeSyncStore(http, { cache: false });
    assertEquals((await reader.get(key))?.resourceVersion, "10");
  });
});

Deno.test("KubeSyncStore: a SyncKey object reused with another name reaches that name's record", async () => {
  await withApi(async (http) => {
    const store = new KubeSyncStore(http, { successPointDelayMs: 0 });
    const spec = { objectAPIVersion: "v1", objectKind: "Pod", objectName: "p" };
    const key = { namespace: "default" as string | null, name: "n1.uid-a" };
    await store.upsertStatus(key, spec, "0");
    await store.upsertStatus(key, spec, "3");
    // The store remembers the string it built for this object; new fields must not hit it.
    key.name = "n1.uid-b";
    await store.upsertStatus(key, spec, "0");
    await store.upsertStatus(key, spec, "4");
    key.namespace = null;
    await store.upsertStatus(key, spec, "5");
    assertEquals(store.pendingRv(key), undefined);
    const reader = new KubeSyncStore(http, { cache: false });
    assertEquals(
      (await reader.get({ namespace: "default", name: "n1.uid-a" }))?.resourceVersion,
      "3",
    );
    assertEquals(
      (await reader.get({ namespace: "default", name: "n1.uid-b" }))?.resourceVersion,
      "4",
    );
    assertEquals((await reader.get({ namespace: null, name: "n1.uid-b" }))?.resourceVersion, "5");
    assertEquals((await store.get(key))?.resourceVersion, "5");
  });
});

Deno.test("KubeSyncStore: paced writes on a shared grid still write each record's newest RV once", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "hub-objectsync-" });
  const api = await startEmbeddedApi({ dataDir, port: 0 });
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfigYaml);
  const patches = new Map<string, number>();
  const http = new KubeHttp(kc, {
    transport: (req) => {
      if (req.method === "PATCH") {
        const name = new URL(req.url).pathname.split("/").at(-2)!;
        patches.set(name, (patches.get(name) ?? 0) + 1);
      }
      return api.handle(req);
    },
  });
  try {
    const store = new KubeSyncStore(http, {
      successPointDelayMs: 0,
      successPointQps: 200,
      successPointBurst: 1,
      successPointTickMs: 25,
      writeConcurrency: 3,
    });
    const spec = { objectAPIVersion: "v1", objectKind: "Pod", objectName: "p" };
    const keys = Array.from({ length: 10 }, (_, i) => ({ namespace: "default", name: `n${i}.u` }));
    await Promise.all(keys.map((k) => store.upsertStatus(k, spec, "0")));
    await Promise.all(
      keys.flatMap((k) => ["5", "6", "7"].map((rv) => store.upsertStatus(k, spec, rv))),
    );
    assertEquals([...patches.values()], keys.map(() => 1), "three ACKs per record, one write");
    const reader = new KubeSyncStore(http, { cache: false });
    for (const k of keys) assertEquals((await reader.get(k))?.resourceVersion, "7");
    for (const k of keys) assertEquals(store.pendingRv(k), undefined);
  } finally {
    http.close();
    await api.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
