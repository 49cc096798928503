import { assert, assertEquals, assertRejects } from "../assert.ts";
import { startEmbeddedApi } from "../../apiserver/mod.ts";
import { renderKubeconfig } from "../../apiserver/kubeconfig.ts";
import { KubeApiError, KubeClient, type KubeObject } from "../../kube/mod.ts";
import { until } from "../hub/hub_fixture.ts";

/**
 * A client whose kubeconfig points at a port nothing listens on: every call that works went
 * through the in-process transport, not the network.
 */
async function withInProcess(
  fn: (kube: KubeClient, api: Awaited<ReturnType<typeof startEmbeddedApi>>) => Promise<void>,
  token?: string,
) {
  const dataDir = await Deno.makeTempDir({ prefix: "kube-transport-" });
  const api = await startEmbeddedApi({ dataDir, port: 0 });
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = probe.addr.port;
  probe.close();
  const yaml = renderKubeconfig(`https://127.0.0.1:${deadPort}`, api.caPem, token ?? api.token);
  const kube = KubeClient.fromYaml(yaml, { transport: api.handle, maxAttempts: 1 });
  try {
    await fn(kube, api);
  } finally {
    await kube.close();
    await api.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

Deno.test("in-process transport: raw calls, errors and patches are the embedded API's own answers", async () => {
  await withInProcess(async (kube, api) => {
    const path = "/api/v1/namespaces/default/configmaps";
    const created = await kube.create<KubeObject>(path, { metadata: { name: "a" }, data: {} });
    assertEquals(created.metadata?.name, "a");
    await kube.patch(`${path}/a`, { data: { k: "v" } }, "application/merge-patch+json");
    const got = await kube.get<KubeObject & { data: Record<string, string> }>(`${path}/a`);
    assertEquals(got.data, { k: "v" });
    const err = await assertRejects(() => kube.get(`${path}/missing`), KubeApiError);
    assertEquals((err as KubeApiError).code, 404);
    // The same object is what an HTTPS client (kubectl's path) sees.
    const https = KubeClient.fromYaml(api.kubeconfigYaml);
    try {
      const viaNet = await https.get<KubeObject>(`${path}/a`);
      assertEquals(viaNet.metadata?.resourceVersion, got.metadata?.resourceVersion);
    } finally {
      await https.close();
    }
  });
});

Deno.test("in-process transport: authentication still applies", async () => {
  await withInProcess(async (kube) => {
    const err = await assertRejects(() => kube.get("/api/v1/namespaces"), KubeApiError);
    assertEquals((err as KubeApiError).code, 401);
  }, "not-the-token");
});

Deno.test("in-process transport: informers list and watch; endWatches re-opens the watch; stop and close leave nothing open", async () => {
  await withInProcess(async (kube, api) => {
    const path = "/api/v1/namespaces/default/configmaps";
    const added: string[] = [];
    const inf = kube.informer<KubeObject>(path, undefined, { kind: "ConfigMap", apiVersion: "v1" });
    inf.on({ add: (o) => void added.push(o.metadata?.name ?? "") }).start();
    await inf.synced;
    await kube.create(path, { metadata: { name: "first" } });
    await until(() => added.includes("first"), 10_000, "watch event");
    assertEquals(api.endWatches(), 1);
    await until(
      () => inf.watchCount >= 2,
      10_000,
      "a new watch after the server ended the old one",
    );
    await kube.create(path, { metadata: { name: "second" } });
    await until(() => added.includes("second"), 10_000, "event on the re-opened watch");
    // A second informer left running: kube.close() must end its in-process stream.
    const other = kube.informer<KubeObject>("/api/v1/nodes", undefined, { kind: "Node" });
    other.start();
    await other.synced;
    await inf.stop();
  });
});

Deno.test("in-process transport: an aborted call rejects at once, like fetch", async () => {
  await withInProcess(async (kube) => {
    const ctl = new AbortController();
    ctl.abort(new Error("caller gave up"));
    await assertRejects(
      () => kube.http.request("GET", "/api/v1/namespaces", { signal: ctl.signal }),
      Error,
      "caller gave up",
    );
    const ok = await kube.http.request<{ items: unknown[] }>("GET", "/api/v1/namespaces");
    assert(ok.items.length > 0);
  });
});

Deno.test("in-process transport: a write that races the API's shutdown is a 503, not a crash", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "kube-transport-" });
  const api = await startEmbeddedApi({ dataDir, port: 0 });
  const kube = KubeClient.fromYaml(api.kubeconfigYaml, { transport: api.handle, maxAttempts: 1 });
  try {
    await api.close();
    const err = await assertRejects(
      () =>
        kube.http.request("POST", "/api/v1/namespaces/default/configmaps", {
          body: { metadata: { name: "late" } },
        }),
      KubeApiError,
    );
    assertEquals((err as KubeApiError).code, 503);
    assertEquals((err as KubeApiError).reason, "ServiceUnavailable");
  } finally {
    await kube.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
