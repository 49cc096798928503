/**
 * The benches' cloudcore side (harness/cloudcore_hub.ts) drives real cloudcore as the scale
 * scenarios do: cloudcore with an API-only edgecloud beside it, its join token read from the API,
 * edge-sim nodes bootstrapped through cloudcore's cert server, registered as edge Nodes, and a
 * ConfigMap change reaching the node whose pod uses it; and the same against a real kube-apiserver
 * given as cloudcore's API (CLOUDCORE_KUBECONFIG in the benches). A failure here would make every
 * `--cloudcore` figure meaningless.
 */
import { assert, assertEquals } from "../assert.ts";
import {
  applyKubeEdgeCrds,
  eventually,
  exclusively,
  peerTest,
  removeDir,
  startRealCluster,
  waitKubeEdgeCrds,
} from "./harness.ts";
import { type CloudcoreHub, spawnCloudcoreHub } from "../../harness/cloudcore_hub.ts";
import { obtainCredentials } from "../../edge/sim/credentials.ts";
import { EdgeSimulator } from "../../edge/sim/mod.ts";
import { KubeApiError, KubeClient, type KubeObject } from "../../kube/mod.ts";
import type { Message } from "../../modules/mod.ts";

/** Bootstrap, registration and a ConfigMap change through the bench's cloudcore side. */
async function drive(hub: CloudcoreHub): Promise<void> {
  const kube = KubeClient.fromFile(hub.kubeconfigPath, { qps: 0 });
  let sim: EdgeSimulator | undefined;
  try {
    assert(hub.rss() > 0, "cloudcore's RSS is readable");
    const names = ["cch-0", "cch-1"];
    const creds = await obtainCredentials(names, { certServer: hub.certServer, token: hub.token });
    let seenRv = "";
    sim = new EdgeSimulator({
      nodes: 2,
      namePrefix: "cch-",
      server: hub.server,
      credentials: (n) => creds.get(n)!,
      heartbeat: 15,
      observe: (node: string, m: Message) => {
        if (node === "cch-1" && m.route.resource === "default/configmap/cch") {
          seenRv = m.header.resourceVersion ?? "";
        }
      },
    });
    await sim.start();
    await eventually(async () => {
      const list = await kube.get<KubeObject & { items: unknown[] }>(
        "/api/v1/nodes?labelSelector=node-role.kubernetes.io/edge",
      );
      return list.items.length === 2;
    }, "both nodes registered through cloudcore");
    // A bare kube-apiserver has no controller-manager to make the default ServiceAccount.
    await kube.create("/api/v1/namespaces/default/serviceaccounts", {
      metadata: { name: "default" },
    }).catch((err) => {
      if (!(err instanceof KubeApiError && err.code === 409)) throw err;
    });
    await kube.create("/api/v1/namespaces/default/configmaps", {
      metadata: { name: "cch" },
      data: { v: "0" },
    });
    await kube.create("/api/v1/namespaces/default/pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "cch-pod" },
      spec: {
        nodeName: "cch-1",
        containers: [{ name: "c", image: "x", envFrom: [{ configMapRef: { name: "cch" } }] }],
      },
    });
    await eventually(
      () => sim!.nodes[1].objects.has("default/pod/cch-pod"),
      "the pod reached its node",
    );
    const cm = await kube.patch<KubeObject>(
      "/api/v1/namespaces/default/configmaps/cch",
      { data: { v: "1" } },
      "application/merge-patch+json",
    );
    await eventually(
      () => seenRv === cm.metadata?.resourceVersion,
      "the ConfigMap change reached the pod's node",
    );
    assertEquals(sim.nodes[0].objects.has("default/configmap/cch"), false);
  } finally {
    await sim?.stop();
    await kube.close();
  }
}

peerTest("the benches drive real cloudcore: bootstrap, register, ConfigMap fan-out", [
  "CLOUDCORE_BIN",
], async ({ CLOUDCORE_BIN }) => {
  await exclusively(async () => {
    const dir = await Deno.makeTempDir({ prefix: "cc-hub-" });
    const hub = await spawnCloudcoreHub({ bin: CLOUDCORE_BIN, dataDir: dir, nodeLimit: 10 });
    try {
      await drive(hub);
    } finally {
      await hub.kill();
      await removeDir(dir);
    }
  });
});

peerTest("the benches drive real cloudcore on a real kube-apiserver (CLOUDCORE_KUBECONFIG)", [
  "CLOUDCORE_BIN",
  "KUBE_APISERVER_BIN",
  "ETCD_BIN",
], async ({ CLOUDCORE_BIN, KUBE_APISERVER_BIN, ETCD_BIN }) => {
  await exclusively(async () => {
    const dir = await Deno.makeTempDir({ prefix: "cc-hub-kas-" });
    const cluster = await startRealCluster(`${dir}/cluster`, {
      etcd: ETCD_BIN,
      kubeApiserver: KUBE_APISERVER_BIN,
    });
    let hub: CloudcoreHub | undefined;
    try {
      const kc = cluster.kubeconfig;
      await applyKubeEdgeCrds(kc);
      await waitKubeEdgeCrds(kc);
      hub = await spawnCloudcoreHub({
        bin: CLOUDCORE_BIN,
        dataDir: dir,
        nodeLimit: 10,
        kubeconfig: kc,
      });
      assertEquals(hub.apiPid, undefined);
      await drive(hub);
    } finally {
      await hub?.kill();
      await cluster.stop();
      await removeDir(dir);
    }
  });
});
