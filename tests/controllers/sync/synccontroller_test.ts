import { assert, assertEquals } from "../../assert.ts";
import { startEmbeddedApi } from "../../../apiserver/mod.ts";
import { Bus } from "../../../modules/mod.ts";
import {
  compareResourceVersion,
  isNotFound,
  KubeClient,
  type KubeObject,
} from "../../../kube/mod.ts";
import {
  kindToResource,
  SyncController,
  type SyncControllerOptions,
} from "../../../controllers/sync/mod.ts";
import { HubRecorder } from "../edge/harness.ts";
import { EdgeController } from "../../../controllers/edge/mod.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const API = "/apis/reliablesyncs.kubeedge.io/v1alpha1";

async function objectSync(
  kube: KubeClient,
  ns: string | null,
  name: string,
  spec: Record<string, string>,
  rv: string,
): Promise<void> {
  const base = ns ? `${API}/namespaces/${ns}/objectsyncs` : `${API}/clusterobjectsyncs`;
  const created: Json = await kube.create(base, {
    apiVersion: "reliablesyncs.kubeedge.io/v1alpha1",
    kind: ns ? "ObjectSync" : "ClusterObjectSync",
    metadata: { name, ...(ns ? { namespace: ns } : {}) },
    spec,
  });
  created.status = { objectResourceVersion: rv };
  await kube.update(`${base}/${name}/status`, created);
}

Deno.test("sync: newer RV → update; gone or other UID → delete with name/namespace/uid; deleted node → record removed; deletes are event-driven", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "sync-test-" });
  const api = await startEmbeddedApi({ dataDir, port: 0 });
  const kube = KubeClient.fromYaml(api.kubeconfigYaml);
  const bus = new Bus();
  const hub = new HubRecorder(bus);
  bus.addModule("synccontroller");
  const sc = new SyncController({ kube, intervalMs: 0 });
  try {
    await kube.create("/api/v1/nodes", { metadata: { name: "edge-1" } });
    const cm: KubeObject = await kube.create("/api/v1/namespaces/default/configmaps", {
      metadata: { name: "cfg" },
      data: { a: "1" },
    });
    const acked: KubeObject = await kube.create("/api/v1/namespaces/default/configmaps", {
      metadata: { name: "acked" },
    });
    const cmSpec = { objectAPIVersion: "v1", objectKind: "ConfigMap", objectName: "cfg" };
    await objectSync(kube, "default", `edge-1.${cm.metadata!.uid}`, cmSpec, "1");
    await objectSync(kube, "default", `edge-1.${acked.metadata!.uid}`, {
      ...cmSpec,
      objectName: "acked",
    }, acked.metadata!.resourceVersion!);
    await objectSync(kube, "default", "edge-1.00000000-dead-beef-0000-000000000000", {
      objectAPIVersion: "v1",
      objectKind: "Pod",
      objectName: "was-deleted-while-down",
    }, "5");
    await objectSync(kube, null, "ghost-node.1234", {
      objectAPIVersion: "v1",
      objectKind: "Node",
      objectName: "ghost-node",
    }, "3");

    await sc.start({ bus });
    await sc.settled;
    assertEquals(sc.stats.passes, 1);

    const upd = await hub.waitFor(
      (m) => m.route.resource === "node/edge-1/default/configmap/cfg",
      "update",
    );
    assertEquals(upd.route.operation, "update");
    assertEquals(upd.route.source, "edgecontroller");
    assertEquals(upd.route.group, "resource");
    assertEquals(upd.header.resourceVersion, cm.metadata!.resourceVersion);
    assertEquals((upd.content as Json).kind, "ConfigMap");
    assertEquals(hub.find("update", "node/edge-1/default/configmap/acked"), []);

    const del = await hub.waitFor(
      (m) => m.route.resource === "node/edge-1/default/pod/was-deleted-while-down",
      "delete of a missing pod",
    );
    assertEquals(del.route.operation, "delete");
    assertEquals((del.content as Json).metadata, {
      name: "was-deleted-while-down",
      uid: "00000000-dead-beef-0000-000000000000",
      namespace: "default",
    });
    const gone = await kube.get(`${API}/clusterobjectsyncs/ghost-node.1234`).then(
      () => false,
      isNotFound,
    );
    assert(gone, "record of a deleted node is removed");

    // A delete while running reaches the edge without waiting for a pass.
    await kube.delete("/api/v1/namespaces/default/configmaps/cfg");
    const cmDel = await hub.waitFor(
      (m) =>
        m.route.operation === "delete" && m.route.resource === "node/edge-1/default/configmap/cfg",
      "event-driven delete",
    );
    assertEquals((cmDel.content as Json).metadata.uid, cm.metadata!.uid);
    assertEquals(sc.stats.passes, 1);
  } finally {
    await sc.stop();
    bus.close();
    await hub.done();
    await kube.close();
    await api.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("sync: resourceVersion comparison is uint64 and kinds pluralise like UnsafeGuessKindToResource", () => {
  assertEquals(compareResourceVersion("10", "9"), 1);
  assertEquals(compareResourceVersion("18446744073709551615", "18446744073709551614"), 1);
  assertEquals(compareResourceVersion("7", "7"), 0);
  assertEquals(kindToResource("Endpoints"), "endpoints");
  assertEquals(kindToResource("ConfigMap"), "configmaps");
  assertEquals(kindToResource("NetworkPolicy"), "networkpolicies");
  assertEquals(kindToResource("Ingress"), "ingresses");
});

Deno.test("sync: periodic passes run at the configured interval and stop cleanly", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "sync-test-" });
  const api = await startEmbeddedApi({ dataDir, port: 0 });
  const kube = KubeClient.fromYaml(api.kubeconfigYaml);
  const bus = new Bus();
  const hub = new HubRecorder(bus);
  const sc = new SyncController({ kube, intervalMs: 10 });
  try {
    await kube.create("/api/v1/nodes", { metadata: { name: "edge-1" } });
    await sc.start({ bus });
    // Created after start: only a periodic pass (not an informer event) sends it.
    const cm: KubeObject = await kube.create("/api/v1/namespaces/default/configmaps", {
      metadata: { name: "late" },
    });
    await objectSync(kube, "default", `edge-1.${cm.metadata!.uid}`, {
      objectAPIVersion: "v1",
      objectKind: "ConfigMap",
      objectName: "late",
    }, "0");
    const upd = await hub.waitFor(
      (m) => m.route.resource === "node/edge-1/default/configmap/late",
      "periodic update",
    );
    assertEquals(upd.route.operation, "update");
    assert(sc.stats.passes >= 2);
  } finally {
    await sc.stop();
    bus.close();
    await hub.done();
    await kube.close();
    await api.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("sync: shares EdgeController's informer caches instead of listing twice", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "sync-test-" });
  const api = await startEmbeddedApi({ dataDir, port: 0 });
  const kube = KubeClient.fromYaml(api.kubeconfigYaml);
  const bus = new Bus();
  const hub = new HubRecorder(bus);
  bus.addModule("edgecontroller");
  const ec = new EdgeController({ kube, sendServicesToEdges: false });
  const sc = new SyncController({ kube, intervalMs: 0, caches: () => ec.sharedCaches() });
  try {
    await kube.create("/api/v1/nodes", { metadata: { name: "edge-1" } });
    const cm: KubeObject = await kube.create("/api/v1/namespaces/default/configmaps", {
      metadata: { name: "cfg" },
    });
    await objectSync(kube, "default", `edge-1.${cm.metadata!.uid}`, {
      objectAPIVersion: "v1",
      objectKind: "ConfigMap",
      objectName: "cfg",
    }, "0");
    await ec.start({ bus });
    await sc.start({ bus });
    assertEquals(Object.keys(ec.sharedCaches()).sort(), ["ConfigMap", "Pod", "Secret"]);
    await hub.waitFor((m) => m.route.resource === "node/edge-1/default/configmap/cfg", "update");
    await kube.delete("/api/v1/namespaces/default/configmaps/cfg");
    await hub.waitFor(
      (m) =>
        m.route.operation === "delete" && m.route.resource === "node/edge-1/default/configmap/cfg",
      "event-driven delete through the shared informer",
    );
  } finally {
    await sc.stop();
    await ec.stop();
    bus.close();
    await hub.done();
    await kube.close();
    await api.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

interface SyncEnv {
  kube: KubeClient;
  bus: Bus;
  hub: HubRecorder;
  /** A SyncController on this API, stopped when the test ends. */
  controller(opts: Omit<SyncControllerOptions, "kube">): SyncController;
}

/** Embedded API (reached in process, as `serve` does), bus, recording hub, and node `edge-1`. */
async function withSyncEnv(fn: (env: SyncEnv) => Promise<void>): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "sync-test-" });
  const api = await startEmbeddedApi({ dataDir, port: 0 });
  const kube = KubeClient.fromYaml(api.kubeconfigYaml, { transport: api.handle, qps: 0 });
  const bus = new Bus();
  const hub = new HubRecorder(bus);
  const controllers: SyncController[] = [];
  try {
    await kube.create("/api/v1/nodes", { metadata: { name: "edge-1" } });
    await fn({
      kube,
      bus,
      hub,
      controller(opts) {
        const sc = new SyncController({ kube, ...opts });
        controllers.push(sc);
        return sc;
      },
    });
  } finally {
    for (const sc of controllers) await sc.stop();
    bus.close();
    await hub.done();
    await kube.close();
    await api.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

/**
 * ConfigMaps `cm-0` … `cm-<count-1>` with a record each on `edge-1`, created 50 at a time; the
 * record's status RV is `statusRv`, or the ConfigMap's own RV (in sync) when omitted.
 */
async function configMapRecords(kube: KubeClient, count: number, statusRv?: string) {
  for (let i = 0; i < count; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, count - i) }, async (_, k) => {
      const name = `cm-${i + k}`;
      const cm: KubeObject = await kube.create("/api/v1/namespaces/default/configmaps", {
        metadata: { name },
      });
      await objectSync(kube, "default", `edge-1.${cm.metadata!.uid}`, {
        objectAPIVersion: "v1",
        objectKind: "ConfigMap",
        objectName: name,
      }, statusRv ?? cm.metadata!.resourceVersion!);
    }));
  }
}

Deno.test("sync: a full pass over many records lets timers and sockets run in between", async () => {
  await withSyncEnv(async ({ kube, bus, controller }) => {
    // 600 records in sync with their objects: a pass checks each one from the caches alone.
    await configMapRecords(kube, 600);
    const sc = controller({ intervalMs: 0 });
    await sc.start({ bus });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    await sc.reconcileNow();
    clearInterval(timer);
    assert(ticks >= 1, "the pass held the event loop from start to end");
    assertEquals(sc.stats.updatesSent + sc.stats.deletesSent, 0);
  });
});

Deno.test("sync: resends are paced (resendQps after resendBurst); stop() ends a paced pass quietly", async () => {
  await withSyncEnv(async ({ kube, bus, hub, controller }) => {
    // 20 records behind their objects (status RV "1"): each needs an update.
    await configMapRecords(kube, 20, "1");
    const sc = controller({ intervalMs: 0, resendQps: 50, resendBurst: 5 });
    const t0 = performance.now();
    await sc.start({ bus });
    // start() does not wait for the (paced) first pass.
    assert(sc.stats.updatesSent < 20, `${sc.stats.updatesSent} sent before start() returned`);
    await sc.settled;
    const took = performance.now() - t0;
    assertEquals(sc.stats.updatesSent, 20);
    await hub.waitFor(() => hub.messages.length >= 20, "20 updates");
    // 5 at once, then 15 at 50/s: at least 300 ms however fast the machine is.
    assert(took >= 290, `a pass of 20 resends at 50/s after a burst of 5 took ${took} ms`);

    // A pass waiting for its next token ends at stop() without an error.
    const late = controller({ intervalMs: 0, resendQps: 1, resendBurst: 1 });
    await late.start({ bus });
    await hub.waitFor(() => hub.messages.length >= 21, "the slow controller's first resend");
    await late.stop();
    await late.settled;
    assert(late.stats.updatesSent < 20, "the paced pass stopped early");
  });
});

Deno.test("sync: a success point the hub holds back (pendingRv) counts as synced; the API's status alone would resend", async () => {
  await withSyncEnv(async ({ kube, bus, hub, controller }) => {
    // 10 records whose API status is behind their objects ("1").
    await configMapRecords(kube, 10, "1");
    const records = (await kube.get<KubeObject & { items: KubeObject[] }>(
      "/apis/reliablesyncs.kubeedge.io/v1alpha1/objectsyncs",
    )).items;
    const pending = new Map<string, string>();
    for (const r of records.slice(0, 6)) {
      // The hub has acknowledged the current version of these but not written it yet.
      const cm = await kube.get(
        `/api/v1/namespaces/default/configmaps/${(r.spec as { objectName: string }).objectName}`,
      );
      pending.set(r.metadata!.name!, cm.metadata!.resourceVersion!);
    }
    const asked: Array<string | null> = [];
    const sc = controller({
      intervalMs: 0,
      pendingRv: (ns, name) => {
        asked.push(ns);
        return pending.get(name);
      },
    });
    await sc.start({ bus });
    await sc.settled;
    assertEquals(sc.stats.updatesSent, 4, "only the records with nothing pending are resent");
    await hub.waitFor(() => hub.messages.length >= 4, "4 updates");
    assert(asked.length >= 10 && asked.every((ns) => ns === "default"));
  });
});
