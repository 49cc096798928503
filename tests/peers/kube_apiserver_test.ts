/**
 * edgecloud against a real kube-apiserver and etcd (`--kubeconfig`), with a real edgemark node:
 * KubeEdge's CRDs as edgecloud preinstalls them are accepted by the real server, then replaced by
 * KubeEdge's own manifests (when KUBEEDGE_CRDS_DIR gives them), the node joins
 * and is Ready, a pod runs with its volumes and gets its ObjectSync record, and two edgecloud
 * replicas share the work through the leader Lease.
 */
import { assert, assertEquals } from "../assert.ts";
import {
  applyKubeEdgeCrds,
  condition,
  eventually,
  exclusively,
  getJson,
  type Hub,
  joinToken,
  kubectl,
  kubeedgeCrdsDir,
  type LoggedProcess,
  peerTest,
  removeDir,
  startEdgemark,
  startHub,
  startRealCluster,
  waitKubeEdgeCrds,
} from "./harness.ts";

const NODE = "kas-peer-1";

const POD = `apiVersion: v1
kind: ConfigMap
metadata: {name: app-cm, namespace: default}
data: {k: v}
---
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: default}
spec:
  nodeName: ${NODE}
  containers:
  - {name: app, image: nginx:1.27, volumeMounts: [{name: cm, mountPath: /cm}]}
  volumes:
  - {name: cm, configMap: {name: app-cm}}
`;

function leaseHolder(lease: Record<string, unknown> | undefined): string | undefined {
  return (lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
}

peerTest("edgecloud on a real kube-apiserver: CRDs, join, pods, ObjectSync, two replicas", [
  "KUBE_APISERVER_BIN",
  "ETCD_BIN",
  "EDGEMARK_BIN",
], async ({ KUBE_APISERVER_BIN, ETCD_BIN, EDGEMARK_BIN }, t) => {
  await exclusively(async () => {
    const dir = await Deno.makeTempDir({ prefix: "edgecloud-peer-kas-" });
    const cluster = await startRealCluster(`${dir}/cluster`, {
      etcd: ETCD_BIN,
      kubeApiserver: KUBE_APISERVER_BIN,
    });
    const kc = cluster.kubeconfig;
    const hubs: Hub[] = [];
    let edge: LoggedProcess | undefined;
    try {
      await t.step(
        "the real server accepts edgecloud's CRDs, then KubeEdge's own manifests over them",
        async () => {
          await applyKubeEdgeCrds(kc);
          // What `keadm init` installs, when the manifests are given: edgecloud must work on them.
          const own = kubeedgeCrdsDir("v1.23.1");
          if (own) await kubectl(kc, ["apply", "--server-side", "--force-conflicts", "-f", own]);
          else console.log("KubeEdge's own CRD manifests not given (KUBEEDGE_CRDS_DIR): ours only");
          await waitKubeEdgeCrds(kc);
          await kubectl(kc, ["create", "namespace", "kubeedge"]);
          // No controller-manager runs here, so the service account it would create is made by hand.
          await kubectl(kc, ["create", "serviceaccount", "default", "-n", "default"]);
          await kubectl(kc, [
            "create",
            "configmap",
            "kube-root-ca.crt",
            "-n",
            "default",
            `--from-file=ca.crt=${dir}/cluster/ca.crt`,
          ]);
        },
      );

      const args = ["--kubeconfig", kc];
      hubs.push(await startHub(`${dir}/hub-a`, { args, kubeconfig: kc }));
      const hub = hubs[0];
      // A real cluster has its own scheduler and controllers: ours stay off.
      assert(hub.main.lines.some((l) => l.includes("embedded control plane off")));

      await t.step("edgemark joins through edgecloud and its node is Ready", async () => {
        edge = await startEdgemark({
          bin: EDGEMARK_BIN,
          name: NODE,
          token: await joinToken(hub.dataDir, args),
          wsPort: hub.wsPort,
          httpsPort: hub.httpsPort,
          dir: `${dir}/edge`,
        });
        await eventually(
          async () => condition(await getJson(kc, ["node", NODE]), "Ready")?.status === "True",
          "node Ready",
        );
        await eventually(
          async () => await getJson(kc, ["lease", "-n", "kube-node-lease", NODE]),
          "node lease",
        );
      });

      await t.step("a pod runs and its ObjectSync records the acknowledged version", async () => {
        await kubectl(kc, ["apply", "-f", "-"], { stdin: POD });
        const pod = await eventually(async () => {
          const p = await getJson(kc, ["pod", "app"]);
          return (p?.status as { phase?: string })?.phase === "Running" && p;
        }, "pod Running");
        const uid = (pod.metadata as { uid: string }).uid;
        // The success point is written a moment after the edge's ACK (successPointDelay).
        const sync = await eventually(async () => {
          const s = await getJson(kc, ["objectsyncs.reliablesyncs.kubeedge.io", `${NODE}.${uid}`]);
          return (s?.status as { objectResourceVersion?: string })?.objectResourceVersion && s;
        }, "ObjectSync for the pod with the acknowledged version");
        const spec = sync.spec as { objectKind: string; objectName: string };
        assertEquals([spec.objectKind, spec.objectName], ["Pod", "app"]);
      });

      await t.step("a second replica waits; when the leader stops, it takes over", async () => {
        const first = await eventually(
          async () =>
            leaseHolder(await getJson(kc, ["lease", "-n", "kubeedge", "edgecloud-controllers"])),
          "leader lease",
        );
        hubs.push(await startHub(`${dir}/hub-b`, { args, kubeconfig: kc }));
        await hubs[0].stop();
        hubs.shift();
        await eventually(
          async () => {
            const holder = leaseHolder(
              await getJson(kc, ["lease", "-n", "kubeedge", "edgecloud-controllers"]),
            );
            return holder !== undefined && holder !== first;
          },
          "the second replica leading",
          90_000,
        );
      });
    } finally {
      await edge?.stop();
      for (const h of hubs) await h.stop();
      await cluster.stop();
      await removeDir(dir);
    }
  });
});
