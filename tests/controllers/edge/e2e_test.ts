/**
 * End to end: embedded API + CloudHub (mTLS WebSocket) + EdgeController, driven by the edge
 * client speaking edgecore's protocol.
 */
import { assert, assertEquals } from "../../assert.ts";
import { startEmbeddedApi } from "../../../apiserver/mod.ts";
import { buildMessage, Bus } from "../../../modules/mod.ts";
import { KubeClient, KubeSyncStore } from "../../../kube/mod.ts";
import { EdgeController } from "../../../controllers/edge/mod.ts";
import { startHub } from "../../hub/hub_fixture.ts";
import { edgeNode } from "./harness.ts";
import { waitUntil } from "../../wait.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test("e2e: kubectl pod → edge frame over mTLS WebSocket; edge queries answered; non-edge node gets nothing", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "ec-e2e-" });
  const api = await startEmbeddedApi({ dataDir, port: 0 });
  const kube = KubeClient.fromYaml(api.kubeconfigYaml);
  const bus = new Bus();
  const hub = await startHub({ bus, syncStore: new KubeSyncStore(kube.http) });
  bus.addModule("edgecontroller");
  const ec = new EdgeController({ kube, localIp: "127.0.0.1" });
  try {
    await kube.create("/api/v1/nodes", edgeNode("edge-e2e"));
    await kube.create("/api/v1/nodes", { metadata: { name: "plain" } });
    await ec.start({ bus });
    const edge = await hub.connect("edge-e2e");
    const plain = await hub.connect("plain");

    await kube.create("/api/v1/namespaces/default/configmaps", {
      metadata: { name: "cfg" },
      data: { k: "v" },
    });
    const f = await Deno.makeTempFile({ suffix: ".json" });
    await Deno.writeTextFile(
      f,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "web", namespace: "default" },
        spec: {
          nodeName: "edge-e2e",
          containers: [{ name: "c", image: "nginx", envFrom: [{ configMapRef: { name: "cfg" } }] }],
        },
      }),
    );
    const out = await new Deno.Command("kubectl", {
      args: ["--kubeconfig", api.kubeconfigPath, "apply", "-f", f],
      stdout: "piped",
      stderr: "piped",
    }).output();
    await Deno.remove(f);
    assert(out.success, new TextDecoder().decode(out.stderr));

    const ins = await edge.waitFor(
      (m) => m.route.operation === "insert" && m.route.resource === "default/pod/web",
    );
    assertEquals(ins.route.source, "edgecontroller");
    assertEquals(ins.route.group, "resource");
    assertEquals((ins.content as Json).kind, "Pod");
    assert(ins.header.resourceVersion);
    assertEquals(ins.header.resourceVersion, (ins.content as Json).metadata.resourceVersion);
    await edge.waitFor((m) => m.route.resource === "default/configmap/cfg");

    // Upstream: node query and configmap query, exactly as edged/metamanager send them.
    const q = buildMessage(
      { source: "edged", group: "meta", operation: "query", resource: "default/node/edge-e2e" },
      null,
    );
    await edge.send(q);
    const nodeResp = await edge.waitFor((m) => m.header.parentId === q.header.id);
    assertEquals(nodeResp.route.operation, "response");
    assertEquals(nodeResp.route.resource, "default/node/edge-e2e");
    assertEquals((nodeResp.content as Json).metadata.name, "edge-e2e");

    const cq = buildMessage(
      {
        source: "metamanager",
        group: "meta",
        operation: "query",
        resource: "default/configmap/cfg",
      },
      null,
    );
    await edge.send(cq);
    const cmResp = await edge.waitFor((m) => m.header.parentId === cq.header.id);
    assertEquals((cmResp.content as Json).data.k, "v");
    assert(cmResp.header.resourceVersion);

    // Upstream write: pod status from the edge lands in the API.
    const pod: Json = await kube.get("/api/v1/namespaces/default/pods/web");
    const ps = buildMessage(
      { source: "edged", group: "meta", operation: "update", resource: "default/podstatus/web" },
      { UID: pod.metadata.uid, Name: "web", Status: { phase: "Running" } },
    );
    await edge.send(ps);
    const psResp = await edge.waitFor((m) => m.header.parentId === ps.header.id);
    assertEquals(psResp.content, "OK");
    assertEquals(
      ((await kube.get("/api/v1/namespaces/default/pods/web")) as Json).status.phase,
      "Running",
    );

    assertEquals(plain.received.filter((m) => m.route.resource?.includes("/pod/")), []);
  } finally {
    await ec.stop();
    await hub.close();
    bus.close();
    await kube.close();
    await api.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("e2e: an EdgeController restart resends nothing the edge already acknowledged (ObjectSync RV)", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "ec-e2e-" });
  const api = await startEmbeddedApi({ dataDir, port: 0 });
  const kube = KubeClient.fromYaml(api.kubeconfigYaml);
  const bus = new Bus();
  const hub = await startHub({ bus, syncStore: new KubeSyncStore(kube.http) });
  bus.addModule("edgecontroller");
  let ec = new EdgeController({ kube, localIp: "127.0.0.1", sendServicesToEdges: false });
  try {
    await kube.create("/api/v1/nodes", edgeNode("edge-r"));
    await ec.start({ bus });
    const edge = await hub.connect("edge-r");
    const pod: Json = await kube.create("/api/v1/namespaces/default/pods", {
      metadata: { name: "web" },
      spec: { nodeName: "edge-r", containers: [{ name: "c", image: "nginx" }] },
    });
    await edge.waitFor((m) =>
      m.route.operation === "insert" && m.route.resource === "default/pod/web"
    );
    // The ACK is recorded as the ObjectSync's RV.
    const syncPath =
      `/apis/reliablesyncs.kubeedge.io/v1alpha1/namespaces/default/objectsyncs/edge-r.${pod.metadata.uid}`;
    await waitUntil(async () => {
      const s: Json = await kube.get(syncPath).catch(() => null);
      return s?.status?.objectResourceVersion === pod.metadata.resourceVersion;
    }, "the ObjectSync recording the ACK");

    // Restart: a new EdgeController replays its caches; the hub drops what was acknowledged.
    await ec.stop();
    bus.removeModule("edgecontroller");
    bus.addModule("edgecontroller");
    ec = new EdgeController({ kube, localIp: "127.0.0.1", sendServicesToEdges: false });
    await ec.start({ bus });
    await kube.create("/api/v1/namespaces/default/pods", {
      metadata: { name: "marker" },
      spec: { nodeName: "edge-r", containers: [{ name: "c", image: "nginx" }] },
    });
    await edge.waitFor((m) => m.route.resource === "default/pod/marker");
    assertEquals(
      edge.received.filter((m) =>
        m.route.operation === "insert" && m.route.resource === "default/pod/web"
      )
        .length,
      1,
    );
  } finally {
    await ec.stop();
    await hub.close();
    bus.close();
    await kube.close();
    await api.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
