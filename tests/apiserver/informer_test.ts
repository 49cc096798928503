/** client-node informers (list + watch) against the embedded API. */
import { CoreV1Api, KubeConfig, makeInformer, type V1ConfigMap } from "@kubernetes/client-node";
import { assertEquals } from "../assert.ts";
import { startTestApi, waitFor } from "./helpers.ts";

function configMap(name: string, data: Record<string, string> = {}): V1ConfigMap {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data };
}

Deno.test("client-node informer sees adds, updates and deletes in order and survives a watch restart", async () => {
  const api = await startTestApi();
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfigYaml);
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedConfigMap({
    namespace: "default",
    body: configMap("pre", { a: "0" }),
  });
  const informer = makeInformer<V1ConfigMap>(
    kc,
    "/api/v1/namespaces/default/configmaps",
    () => core.listNamespacedConfigMap({ namespace: "default" }),
  );
  const events: string[] = [];
  informer.on("add", (o) => events.push(`add:${o.metadata!.name}:${o.data?.a ?? ""}`));
  informer.on("update", (o) => events.push(`update:${o.metadata!.name}:${o.data?.a ?? ""}`));
  informer.on("delete", (o) => events.push(`delete:${o.metadata!.name}`));
  const errors: unknown[] = [];
  informer.on("error", (e) => errors.push(e));
  try {
    await informer.start();
    await waitFor(() => events.length >= 1, "initial list");
    await core.createNamespacedConfigMap({
      namespace: "default",
      body: configMap("a", { a: "1" }),
    });
    await core.replaceNamespacedConfigMap({
      name: "a",
      namespace: "default",
      body: configMap("a", { a: "2" }),
    });
    await core.deleteNamespacedConfigMap({ name: "a", namespace: "default" });
    await waitFor(() => events.length >= 4, "watch events");
    assertEquals(events, ["add:pre:0", "add:a:1", "update:a:2", "delete:a"]);

    // The server ends the watch; the informer re-watches from its last resourceVersion.
    assertEquals(api.endWatches() >= 1, true);
    await core.createNamespacedConfigMap({
      namespace: "default",
      body: configMap("b", { a: "3" }),
    });
    await waitFor(() => events.length >= 5, "event after watch restart");
    assertEquals(events[4], "add:b:3");
    assertEquals(informer.list().map((o) => o.metadata!.name).sort(), ["b", "pre"]);
    assertEquals(errors, []);
  } finally {
    await informer.stop();
    await api.dispose();
  }
});

Deno.test("client-node informer relists after 410 Gone when its resourceVersion fell out of the change log", async () => {
  const first = await startTestApi({ watchLogSize: 5 });
  const dir = first.dir;
  const port = first.port;
  const kc = new KubeConfig();
  kc.loadFromString(first.kubeconfigYaml);
  const core = kc.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1ConfigMap>(
    kc,
    "/api/v1/namespaces/default/configmaps",
    () => core.listNamespacedConfigMap({ namespace: "default" }),
  );
  const names = () => informer.list().map((o) => o.metadata!.name).sort();
  const errors: unknown[] = [];
  informer.on("error", (e) => errors.push(e));
  let api = first;
  try {
    await core.createNamespacedConfigMap({ namespace: "default", body: configMap("old") });
    await informer.start();
    await waitFor(() => names().length === 1, "initial list");
    // Take the server away: the informer's watch fails and it stops with an error.
    await first.close();
    await waitFor(() => errors.length > 0, "informer error after server stop");
    // Restart on the same port with more writes than the change log holds.
    api = await startTestApi({ dir, port, watchLogSize: 5 });
    const core2 = kc.makeApiClient(CoreV1Api);
    await core2.deleteNamespacedConfigMap({ name: "old", namespace: "default" });
    for (let i = 0; i < 8; i++) {
      await core2.createNamespacedConfigMap({ namespace: "default", body: configMap(`n${i}`) });
    }
    // Restarting the informer re-watches from its old resourceVersion: 410, then a relist.
    await informer.start();
    await waitFor(() => names().length === 8 && !names().includes("old"), "relist after 410");
    assertEquals(names(), ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7"]);
  } finally {
    await informer.stop();
    await api.dispose();
  }
});
