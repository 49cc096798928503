import { assertEquals } from "../assert.ts";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { KubeHttp } from "../../kube/http.ts";
import { startEmbeddedApi } from "../../apiserver/mod.ts";
import { CloudCoreAnnotation, kubeNodeAnnotator } from "../../kube/node_annotation.ts";
import { startHub, until } from "../hub/hub_fixture.ts";

Deno.test("a connecting node gets the annotation cloudcore: <advertise address>", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "hub-annotation-" });
  const api = await startEmbeddedApi({ dataDir, port: 0 });
  try {
    const kc = new KubeConfig();
    kc.loadFromString(api.kubeconfigYaml);
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNode({
      body: { apiVersion: "v1", kind: "Node", metadata: { name: "edge-1" } },
    });
    const http = new KubeHttp(kc);
    const t = await startHub({
      advertiseAddress: "10.1.2.3",
      annotateNode: kubeNodeAnnotator(http),
    });
    try {
      await t.connect("edge-1");
      const node = await until(
        async () => {
          const n = await core.readNode({ name: "edge-1" });
          return n.metadata?.annotations?.[CloudCoreAnnotation] ? n : undefined;
        },
        5_000,
        "annotation",
      );
      assertEquals(node?.metadata?.annotations?.[CloudCoreAnnotation], "10.1.2.3");
    } finally {
      await t.close();
      http.close();
    }
  } finally {
    await api.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
