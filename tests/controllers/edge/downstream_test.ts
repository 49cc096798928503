import { assert, assertEquals } from "../../assert.ts";
import { edgeNode, pod, withEnv } from "./harness.ts";

Deno.test("downstream: kubectl-applied pod reaches its edge node with RV; configmap only to that node; edit once; delete shrinks", async () => {
  await withEnv(async ({ kube, hub, kubectl, ec }) => {
    await kube.create("/api/v1/nodes", edgeNode("edge-a"));
    await kube.create("/api/v1/nodes", edgeNode("edge-b"));
    await kube.create("/api/v1/nodes", { metadata: { name: "cloud-1" } });
    await hub.waitFor((m) => m.route.resource === "node/edge-b/null/node/edge-b", "node update");
    await kube.create("/api/v1/namespaces/default/configmaps", {
      metadata: { name: "cfg" },
      data: { k: "v" },
    });
    const manifest = JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web", namespace: "default" },
      spec: {
        nodeName: "edge-a",
        initContainers: [{
          name: "init",
          image: "busybox",
          env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "cfg", key: "k" } } }],
        }],
        containers: [{ name: "c", image: "nginx" }],
      },
    });
    const f = await Deno.makeTempFile({ suffix: ".json" });
    await Deno.writeTextFile(f, manifest);
    await kubectl("apply", "-f", f);
    await Deno.remove(f);

    const ins = await hub.waitFor(
      (m) => m.route.operation === "insert" && m.route.resource === "node/edge-a/default/pod/web",
      "pod insert",
    );
    assertEquals(ins.route.source, "edgecontroller");
    assertEquals(ins.route.group, "resource");
    // deno-lint-ignore no-explicit-any
    const content = ins.content as any;
    assertEquals(content.kind, "Pod");
    assertEquals(content.apiVersion, "v1");
    assert(ins.header.resourceVersion);
    assertEquals(ins.header.resourceVersion, content.metadata.resourceVersion);
    // The configmap (referenced by an init container) reached edge-a, and before the pod.
    const cmIns = hub.find("insert", "node/edge-a/default/configmap/cfg");
    assertEquals(cmIns.length, 1);
    assert(hub.messages.indexOf(cmIns[0]) < hub.messages.indexOf(ins));
    assertEquals(
      hub.messages.filter((m) => m.route.resource?.startsWith("node/edge-b/default/")),
      [],
    );
    assertEquals(hub.messages.filter((m) => m.route.resource?.startsWith("node/cloud-1/")), []);

    // An edit reaches edge-a exactly once.
    await kubectl("patch", "configmap", "cfg", "--type=merge", "-p", '{"data":{"k":"v2"}}');
    const upd = await hub.waitFor(
      (m) =>
        m.route.operation === "update" && m.route.resource === "node/edge-a/default/configmap/cfg",
      "configmap update",
    );
    // deno-lint-ignore no-explicit-any
    assertEquals((upd.content as any).data.k, "v2");

    // A status-only change of the pod is not sent.
    const before = hub.find("update", "node/edge-a/default/pod/web").length;
    await kube.patch(
      "/api/v1/namespaces/default/pods/web/status",
      { status: { phase: "Running" } },
      "application/merge-patch+json",
    );
    // A labels change is sent (and proves the status change was processed before it).
    await kubectl("label", "pod", "web", "tier=front");
    await hub.waitFor(
      (m) =>
        m.route.operation === "update" &&
        (m.content as { metadata?: { labels?: Record<string, string> } })?.metadata?.labels
            ?.tier === "front",
      "pod label update",
    );
    assertEquals(hub.find("update", "node/edge-a/default/pod/web").length, before + 1);
    assertEquals(hub.find("update", "node/edge-a/default/configmap/cfg").length, 1);

    // Deleting the pod: delete to edge-a, cache shrinks, configmap delete to edge-a.
    await kubectl("delete", "pod", "web", "--grace-period=0", "--force", "--wait=false");
    await hub.waitFor(
      (m) => m.route.operation === "delete" && m.route.resource === "node/edge-a/default/pod/web",
      "pod delete",
    );
    const cmDel = await hub.waitFor(
      (m) =>
        m.route.operation === "delete" && m.route.resource === "node/edge-a/default/configmap/cfg",
      "configmap delete after shrink",
    );
    // deno-lint-ignore no-explicit-any
    assert((cmDel.content as any).metadata.uid);
    assertEquals(ec.location.configMapNodes("default", "cfg"), []);
    // Further edits go nowhere.
    const count = hub.messages.length;
    await kubectl("patch", "configmap", "cfg", "--type=merge", "-p", '{"data":{"k":"v3"}}');
    await kube.create("/api/v1/namespaces/default/configmaps", { metadata: { name: "marker" } });
    await kube.create("/api/v1/namespaces/default/pods", pod("marker", "edge-b"));
    await hub.waitFor((m) => m.route.resource === "node/edge-b/default/pod/marker", "marker pod");
    assertEquals(
      hub.messages.slice(count).filter((m) => m.route.resource?.includes("configmap/cfg")),
      [],
    );
  }, { sendServicesToEdges: false });
});

Deno.test("downstream: secrets go to referencing nodes with update; node delete sends delete; services to every edge node when sendServicesToEdges is on", async () => {
  await withEnv(async ({ kube, hub }) => {
    await kube.create("/api/v1/nodes", edgeNode("e1"));
    await kube.create("/api/v1/nodes", edgeNode("e2"));
    await hub.waitFor((m) => m.route.resource === "node/e2/null/node/e2", "e2 update");
    await kube.create(
      "/api/v1/namespaces/default/pods",
      pod("p", "e1", { imagePullSecrets: [{ name: "pull" }] }),
    );
    await hub.waitFor((m) => m.route.resource === "node/e1/default/pod/p", "pod");
    await kube.create("/api/v1/namespaces/default/secrets", {
      metadata: { name: "pull" },
      data: { x: btoa("y") },
    });
    const s = await hub.waitFor(
      (m) => m.route.resource === "node/e1/default/secret/pull",
      "secret",
    );
    assertEquals(s.route.operation, "update");
    // deno-lint-ignore no-explicit-any
    assertEquals((s.content as any).kind, "Secret");

    await kube.create("/api/v1/namespaces/default/services", {
      metadata: { name: "svc" },
      spec: { ports: [{ port: 80 }] },
    });
    await hub.waitFor((m) => m.route.resource === "node/e1/default/service/svc", "svc e1");
    await hub.waitFor((m) => m.route.resource === "node/e2/default/service/svc", "svc e2");

    await kube.delete("/api/v1/nodes/e2");
    const del = await hub.waitFor(
      (m) => m.route.operation === "delete" && m.route.resource === "node/e2/null/node/e2",
      "node delete",
    );
    assertEquals(del.content, null);
    assertEquals(
      hub.messages.filter((m) => m.route.resource === "node/e2/default/secret/pull"),
      [],
    );
  }, { sendServicesToEdges: true });
});

Deno.test("downstream: by default no Service or Endpoints goes to edges, as cloudcore v1.23", async () => {
  await withEnv(async ({ kube, hub }) => {
    await kube.create("/api/v1/nodes", edgeNode("e1"));
    await hub.waitFor((m) => m.route.resource === "node/e1/null/node/e1", "e1 update");
    await kube.create("/api/v1/namespaces/default/services", {
      metadata: { name: "svc" },
      spec: { ports: [{ port: 80 }] },
    });
    await kube.create("/api/v1/namespaces/default/endpoints", {
      metadata: { name: "svc" },
      subsets: [],
    });
    // Something that does go to e1, after the Service: once it arrived, the Service would have.
    await kube.create("/api/v1/namespaces/default/pods", pod("after", "e1"));
    await hub.waitFor((m) => m.route.resource === "node/e1/default/pod/after", "pod");
    assertEquals(
      hub.messages.filter((m) => /\/(service|endpoints)\//.test(m.route.resource ?? "")),
      [],
    );
  });
});

Deno.test("startup: objects existing before start are replayed once after every informer synced", async () => {
  await withEnv(
    async ({ hub, ec }) => {
      assert(ec.downstream?.ready);
      await hub.waitFor((m) => m.route.resource === "node/pre/default/pod/p0", "replayed pod");
      assertEquals(hub.find("insert", "node/pre/default/pod/p0").length, 1);
      assertEquals(hub.find("insert", "node/pre/default/configmap/c0").length, 1);
      assertEquals(hub.find("update", "node/pre/null/node/pre").length, 1);
      assert(
        hub.messages.indexOf(hub.find("insert", "node/pre/default/configmap/c0")[0]) <
          hub.messages.indexOf(hub.find("insert", "node/pre/default/pod/p0")[0]),
      );
    },
    { sendServicesToEdges: false },
    async (kube) => {
      await kube.create("/api/v1/nodes", edgeNode("pre"));
      await kube.create("/api/v1/namespaces/default/configmaps", { metadata: { name: "c0" } });
      await kube.create(
        "/api/v1/namespaces/default/pods",
        pod("p0", "pre", { volumes: [{ name: "v", configMap: { name: "c0" } }] }),
      );
    },
  );
});
