/**
 * Real cloudcore on edgecloud's embedded API: cloudcore v1.23 (client-go with its protobuf content
 * type, informers on every KubeEdge CRD, its own token secret and CA) starts against an
 * API-only edgecloud and serves a real edgemark node: join, Lease, a pod with ConfigMap and Secret
 * volumes Running and deleted, a v1beta1 Device. Every request cloudcore makes that the embedded
 * API refuses as malformed (400, 415, 422) or fails on (5xx) is a failure of this test.
 */
import { parse as yamlParse, stringify as yamlStringify } from "yaml";
import { assertEquals } from "../assert.ts";
import {
  condition,
  eventually,
  exclusively,
  freePort,
  getJson,
  type Hub,
  kubectl,
  LoggedProcess,
  peerTest,
  removeDir,
  startEdgemark,
  startHub,
} from "./harness.ts";
import { v1beta1Device } from "./edgecore.ts";

const NODE = "cc-peer-1";

/** edgecloud with only the embedded API (and leader election) running. */
const API_ONLY = `    enable: false
  edgeController:
    enable: false
  deviceController:
    enable: false
  syncController:
    enable: false
`;

const WORKLOAD = `apiVersion: v1
kind: ConfigMap
metadata: {name: cc-cm, namespace: default}
data: {k: v}
---
apiVersion: v1
kind: Secret
metadata: {name: cc-secret, namespace: default}
stringData: {p: q}
---
apiVersion: v1
kind: Pod
metadata: {name: cc-app, namespace: default}
spec:
  nodeName: ${NODE}
  automountServiceAccountToken: false
  containers:
  - name: app
    image: nginx:1.27
    volumeMounts: [{name: cm, mountPath: /cm}, {name: s, mountPath: /s}]
  volumes:
  - {name: cm, configMap: {name: cc-cm}}
  - {name: s, secret: {secretName: cc-secret}}
---
${v1beta1Device("cc-thermo", NODE)}`;

interface CloudcorePorts {
  ws: number;
  https: number;
}

/** cloudcore's own default config, pointed at the embedded API, on loopback ports of its own. */
async function cloudcoreConfig(
  bin: string,
  dir: string,
  kubeconfig: string,
): Promise<[string, CloudcorePorts]> {
  const out = await new Deno.Command(bin, { args: ["--defaultconfig"], stdout: "piped" }).output();
  // deno-lint-ignore no-explicit-any
  const c = yamlParse(new TextDecoder().decode(out.stdout)) as any;
  const ports = { ws: freePort(), https: freePort() };
  c.kubeAPIConfig.kubeConfig = kubeconfig; // contentType stays protobuf, cloudcore's default
  c.commonConfig.monitorServer.bindAddress = `127.0.0.1:${freePort()}`;
  c.commonConfig.tunnelPort = freePort();
  const hub = c.modules.cloudHub;
  hub.advertiseAddress = ["127.0.0.1"];
  hub.websocket = { ...hub.websocket, address: "127.0.0.1", port: ports.ws };
  hub.https = { ...hub.https, address: "127.0.0.1", port: ports.https };
  hub.quic = { ...hub.quic, enable: false, address: "127.0.0.1", port: freePort() };
  hub.unixsocket = { enable: true, address: `unix://${dir}/kubeedge.sock` };
  hub.tlsCAFile = `${dir}/ca/rootCA.crt`;
  hub.tlsCAKeyFile = `${dir}/ca/rootCA.key`;
  hub.tlsCertFile = `${dir}/certs/server.crt`;
  hub.tlsPrivateKeyFile = `${dir}/certs/server.key`;
  c.modules.iptablesManager.enable = false; // needs iptables and root's netfilter
  c.modules.router.enable = false;
  const path = `${dir}/cloudcore.yaml`;
  await Deno.writeTextFile(path, yamlStringify(c));
  return [path, ports];
}

/** Requests the embedded API refused as malformed or failed on, from its debug log. */
function refused(hub: Hub): string[] {
  return hub.main.lines.filter((l) =>
    (l.includes("request failed") && !/ status=(404|409)\b/.test(l)) ||
    l.includes("request crashed")
  );
}

peerTest("real cloudcore on the embedded API serves an edgemark node", [
  "CLOUDCORE_BIN",
  "EDGEMARK_BIN",
], async ({ CLOUDCORE_BIN, EDGEMARK_BIN }, t) => {
  await exclusively(async () => {
    const dir = await Deno.makeTempDir({ prefix: "edgecloud-peer-cc-" });
    const api = await startHub(`${dir}/edgecloud`, {
      extra: API_ONLY,
      args: ["--log-level", "debug"],
    });
    const kc = api.kubeconfig;
    let cloudcore: LoggedProcess | undefined;
    let edge: LoggedProcess | undefined;
    try {
      await Deno.mkdir(`${dir}/cloudcore`);
      const [config, ports] = await cloudcoreConfig(CLOUDCORE_BIN, `${dir}/cloudcore`, kc);
      cloudcore = new LoggedProcess(
        CLOUDCORE_BIN,
        ["--config", config, "--v=2"],
        `${dir}/cloudcore/cloudcore.log`,
      );

      let tokenData = "";
      await t.step("cloudcore starts and writes its token secret", async () => {
        await eventually(
          () => cloudcore!.log().includes("Starting cloudhub websocket server"),
          "cloudcore's websocket server",
        );
        const secret = await getJson(kc, ["secret", "tokensecret", "-n", "kubeedge"]);
        tokenData = (secret!.data as { tokendata: string }).tokendata;
      });

      edge = await startEdgemark({
        bin: EDGEMARK_BIN,
        name: NODE,
        token: new TextDecoder().decode(
          Uint8Array.from(atob(tokenData), (c) => c.charCodeAt(0)),
        ),
        wsPort: ports.ws,
        httpsPort: ports.https,
        dir: `${dir}/edge`,
      });

      await t.step("the node joins through cloudcore and is Ready, with its Lease", async () => {
        await eventually(async () => {
          const node = await getJson(kc, ["node", NODE]);
          return condition(node, "Ready")?.status === "True";
        }, `node ${NODE} Ready`);
        await eventually(
          () => getJson(kc, ["lease", NODE, "-n", "kube-node-lease"]),
          "the node's Lease",
        );
      });

      await t.step("a pod with ConfigMap and Secret volumes runs, then is deleted", async () => {
        await kubectl(kc, ["create", "serviceaccount", "default", "-n", "default"], {
          allowFail: true,
        });
        await kubectl(kc, ["apply", "-f", "-"], { stdin: WORKLOAD });
        await eventually(async () => {
          const pod = await getJson(kc, ["pod", "cc-app", "-n", "default"]);
          const status = pod?.status as { phase?: string; containerStatuses?: unknown[] };
          return status?.phase === "Running" && status.containerStatuses?.length === 1;
        }, "pod cc-app Running");
        await kubectl(kc, ["delete", "pod", "cc-app", "-n", "default", "--timeout=60s"]);
        assertEquals(await getJson(kc, ["pod", "cc-app", "-n", "default"]), undefined);
      });

      await t.step("cloudcore sends the Device to the node, which acknowledges it", async () => {
        const dev = await getJson(kc, ["devices.devices.kubeedge.io", "cc-thermo"]);
        const uid = (dev!.metadata as { uid: string }).uid;
        // cloudcore records what the edge ACKed in the ObjectSync `<node>.<uid>`.
        const sync = await eventually(async () => {
          const s = await getJson(kc, ["objectsyncs.reliablesyncs.kubeedge.io", `${NODE}.${uid}`]);
          return (s?.status as { objectResourceVersion?: string })?.objectResourceVersion && s;
        }, "the Device's ObjectSync with the acknowledged version");
        assertEquals((sync.spec as { objectKind: string }).objectKind, "Device");
      });

      await t.step("no request cloudcore made was refused or failed by the API", () => {
        assertEquals(refused(api), []);
      });
    } finally {
      await edge?.stop();
      await cloudcore?.stop();
      await api.stop();
      await removeDir(dir);
    }
  });
});
