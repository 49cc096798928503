/**
 * Real edgemark (KubeEdge's edgecore with a fake container runtime, EDGEMARK_BIN) against
 * edgecloud on the embedded API: join with a token, node Ready, Lease renewals, a pod with
 * ConfigMap and Secret volumes Running, delete online and after the edge was offline.
 */
import { assert, assertEquals } from "../assert.ts";
import {
  condition,
  eventually,
  exclusively,
  getJson,
  joinToken,
  kubectl,
  type LoggedProcess,
  peerTest,
  removeDir,
  startEdgemark,
  startHub,
} from "./harness.ts";

const NODE = "em-peer-1";

function podYaml(name: string): string {
  return `apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}-cm, namespace: default}
data: {greeting: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: ${name}-s, namespace: default}
stringData: {password: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default}
spec:
  nodeName: ${NODE}
  containers:
  - name: app
    image: busybox:1.36
    volumeMounts:
    - {name: cm, mountPath: /cm}
    - {name: s, mountPath: /s}
  volumes:
  - {name: cm, configMap: {name: ${name}-cm}}
  - {name: s, secret: {secretName: ${name}-s}}
`;
}

async function running(kubeconfig: string, name: string): Promise<Record<string, unknown>> {
  return await eventually(async () => {
    const pod = await getJson(kubeconfig, ["pod", name]);
    const status = pod?.status as
      | { phase?: string; containerStatuses?: { ready?: boolean; state?: object }[] }
      | undefined;
    const c = status?.containerStatuses?.[0];
    return status?.phase === "Running" && c?.ready && "running" in (c.state ?? {}) && pod;
  }, `pod ${name} Running`);
}

async function volumeFile(dir: string, uid: string, plugin: string, path: string) {
  return await Deno.readTextFile(
    `${dir}/root/var/lib/kubelet/pods/${uid}/volumes/kubernetes.io~${plugin}/${path}`,
  );
}

peerTest("edgemark joins, runs a pod with volumes, deletes online and offline", [
  "EDGEMARK_BIN",
], async ({ EDGEMARK_BIN }, t) => {
  await exclusively(async () => {
    const dir = await Deno.makeTempDir({ prefix: "edgecloud-peer-em-" });
    const hub = await startHub(dir);
    let edge: LoggedProcess | undefined;
    const startEdge = async () =>
      edge = await startEdgemark({
        bin: EDGEMARK_BIN,
        name: NODE,
        token: await joinToken(hub.dataDir),
        wsPort: hub.wsPort,
        httpsPort: hub.httpsPort,
        dir: `${dir}/edge`,
      });
    const kc = hub.kubeconfig;
    try {
      await startEdge();
      await t.step("the node registers and is Ready", async () => {
        const node = await eventually(async () => {
          const n = await getJson(kc, ["node", NODE]);
          return condition(n, "Ready")?.status === "True" && n;
        }, "node Ready");
        const info = (node.status as { nodeInfo: Record<string, string> }).nodeInfo;
        assert(info.containerRuntimeVersion.startsWith("fakeRuntime"), JSON.stringify(info));
        const annotations = (node.metadata as { annotations: Record<string, string> }).annotations;
        assertEquals(annotations.cloudcore, "127.0.0.1");
      });

      await t.step("the node Lease is created and renewed", async () => {
        const first = await eventually(
          async () =>
            (await getJson(kc, ["lease", "-n", "kube-node-lease", NODE]))?.spec as
              | { renewTime: string }
              | undefined,
          "node lease",
        );
        await eventually(async () => {
          const l = await getJson(kc, ["lease", "-n", "kube-node-lease", NODE]);
          return (l?.spec as { renewTime: string }).renewTime !== first.renewTime;
        }, "lease renewal");
      });

      await t.step("a pod with ConfigMap and Secret volumes runs with their data", async () => {
        await kubectl(kc, ["apply", "-f", "-"], { stdin: podYaml("web") });
        const pod = await running(kc, "web");
        const uid = (pod.metadata as { uid: string }).uid;
        assertEquals(await volumeFile(`${dir}/edge`, uid, "configmap", "cm/greeting"), "hello");
        assertEquals(await volumeFile(`${dir}/edge`, uid, "secret", "s/password"), "s3cret");
      });

      await t.step("delete while the edge is online", async () => {
        await kubectl(kc, ["delete", "pod", "web", "--wait=false"]);
        await eventually(async () => !(await getJson(kc, ["pod", "web"])), "pod web gone");
      });

      await t.step("delete while the edge is offline lands when it returns", async () => {
        await kubectl(kc, ["apply", "-f", "-"], { stdin: podYaml("batch") });
        await running(kc, "batch");
        await edge!.stop();
        await kubectl(kc, ["delete", "pod", "batch", "--wait=false"]);
        const pending = await getJson(kc, ["pod", "batch"]);
        assert(pending, "the pod waits for its node while the node is offline");
        await startEdge();
        await eventually(async () => !(await getJson(kc, ["pod", "batch"])), "pod batch gone");
      });

      await t.step("every frame edgecore sent was accepted", () => {
        const refused = hub.main.lines.filter((l) => l.includes("malformed"));
        assertEquals(refused, []);
      });
    } finally {
      await edge?.stop();
      await hub.stop();
      await removeDir(dir);
    }
  });
});
