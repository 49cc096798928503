/**
 * v1alpha2 devices as KubeEdge v1.15 ran them: a real kube-apiserver serving KubeEdge v1.15.0's
 * own v1alpha2 Device and DeviceModel CRDs (no v1beta1), edgecloud on it with `--kubeconfig`, and
 * a real edgecore v1.15. A Device bound by nodeSelector reaches the edge's twin database with its
 * desired value; a twin report on the edge's MQTT bus lands in the Device's `status.twins`; a new
 * desired value set on the main resource (as `kubectl edit device` does: these CRDs have no
 * status subresource) reaches the edge.
 */
import { parse as parseYaml } from "yaml";
import { assertEquals } from "../assert.ts";
import { KUBEEDGE_CRDS } from "../../apiserver/mod.ts";
import {
  eventually,
  exclusively,
  freePort,
  getJson,
  type Hub,
  joinToken,
  kubectl,
  kubeedgeCrdsDir,
  LoggedProcess,
  peerTest,
  removeDir,
  startHub,
  startRealCluster,
} from "./harness.ts";
import {
  devicesOnEdge,
  edgecoreConfig,
  type Obj,
  publishTwinReport,
  twinsOnEdge,
} from "./edgecore.ts";

const NODE = "ec115-peer-1";
const CRDS = kubeedgeCrdsDir("v1.15.0");

const DEVICE = `apiVersion: devices.kubeedge.io/v1alpha2
kind: DeviceModel
metadata: {name: thermo-model, namespace: default}
spec:
  properties:
  - name: temperature
    type: {int: {accessMode: ReadWrite, maximum: 100}}
---
apiVersion: devices.kubeedge.io/v1alpha2
kind: Device
metadata: {name: thermo-1, namespace: default}
spec:
  deviceModelRef: {name: thermo-model}
  nodeSelector:
    nodeSelectorTerms:
    - matchExpressions: [{key: "", operator: In, values: [${NODE}]}]
status:
  twins:
  - propertyName: temperature
    desired: {value: "20", metadata: {type: int}}
`;

type Twin = { propertyName: string; desired?: Obj; reported?: { value: string; metadata: Obj } };

async function twinsOf(kc: string): Promise<Twin[]> {
  const dev = await getJson(kc, ["devices.v1alpha2.devices.kubeedge.io", "thermo-1"]);
  return ((dev?.status as { twins?: Twin[] } | undefined)?.twins) ?? [];
}

/** The desired value of the temperature twin in the edge's database (a plain string). */
function expectedOnEdge(db: string): string | undefined {
  const row = twinsOnEdge(db).find((r) => r.name === "temperature");
  return row?.expected as string | undefined;
}

peerTest(
  "edgecore v1.15 with v1alpha2 devices on a real kube-apiserver",
  ["EDGECORE_V1_15_BIN", "KUBE_APISERVER_BIN", "ETCD_BIN"],
  async ({ EDGECORE_V1_15_BIN, KUBE_APISERVER_BIN, ETCD_BIN }, t) => {
    await exclusively(async () => {
      const dir = await Deno.makeTempDir({ prefix: "edgecloud-peer-v1alpha2-" });
      const cluster = await startRealCluster(`${dir}/cluster`, {
        etcd: ETCD_BIN,
        kubeApiserver: KUBE_APISERVER_BIN,
      });
      const kc = cluster.kubeconfig;
      let hub: Hub | undefined;
      let edge: LoggedProcess | undefined;
      try {
        await t.step("the cluster serves KubeEdge v1.15.0's v1alpha2 device CRDs", async () => {
          const own = KUBEEDGE_CRDS.filter((c) =>
            (c.spec as { group: string }).group === "reliablesyncs.kubeedge.io"
          );
          const items: unknown[] = [...own];
          for (
            const file of ["devices_v1alpha2_device.yaml", "devices_v1alpha2_devicemodel.yaml"]
          ) {
            items.push(parseYaml(await Deno.readTextFile(`${CRDS}/${file}`)));
          }
          await kubectl(kc, ["apply", "-f", "-"], {
            stdin: JSON.stringify({ apiVersion: "v1", kind: "List", items }),
          });
          for (const name of ["devices", "devicemodels", "objectsyncs", "clusterobjectsyncs"]) {
            const group = name.endsWith("objectsyncs") ? "reliablesyncs" : "devices";
            await kubectl(kc, [
              "wait",
              "--for=condition=Established",
              `crd/${name}.${group}.kubeedge.io`,
              "--timeout=30s",
            ]);
          }
          await kubectl(kc, ["create", "namespace", "kubeedge"]);
        });

        const args = ["--kubeconfig", kc];
        hub = await startHub(`${dir}/hub`, { args, kubeconfig: kc });
        const edgeDir = `${dir}/edge`;
        await Deno.mkdir(edgeDir, { recursive: true });
        const mqttPort = freePort();
        const db = `${edgeDir}/edgecore.db`;

        await t.step("edgecore v1.15 joins", async () => {
          const config = await edgecoreConfig(
            EDGECORE_V1_15_BIN,
            edgeDir,
            NODE,
            hub!,
            await joinToken(hub!.dataDir, args),
            { mqtt: mqttPort, metaServer: freePort() },
          );
          edge = new LoggedProcess(
            EDGECORE_V1_15_BIN,
            ["--config", config],
            `${edgeDir}/edgecore.log`,
          );
          await hub!.main.waitForLine(`node connected node=${NODE} transport=websocket`);
        });

        await t.step("a v1alpha2 Device reaches the edge with its desired value", async () => {
          await kubectl(kc, ["apply", "-f", "-"], { stdin: DEVICE });
          await eventually(() => devicesOnEdge(db).length > 0, "device on the edge");
          assertEquals(devicesOnEdge(db), [{ id: "thermo-1", name: "thermo-1" }]);
          const expected = await eventually(() => expectedOnEdge(db), "desired twin on the edge");
          assertEquals(expected, "20");
        });

        await t.step("a twin report on the MQTT bus lands in the Device's status", async () => {
          await publishTwinReport(mqttPort, "thermo-1", "23");
          const twin = await eventually(
            async () => (await twinsOf(kc)).find((tw) => tw.reported),
            "reported twin",
          );
          assertEquals(twin.reported!.value, "23");
          assertEquals((twin.desired as { value: string }).value, "20");
        });

        await t.step("a desired value edited on the main resource reaches the edge", async () => {
          const twins = await twinsOf(kc);
          twins[0].desired = { value: "30", metadata: { type: "int" } };
          await kubectl(kc, [
            "patch",
            "devices.v1alpha2.devices.kubeedge.io",
            "thermo-1",
            "--type=merge",
            "-p",
            JSON.stringify({ status: { twins } }),
          ]);
          await eventually(
            () => expectedOnEdge(db) === "30",
            "the new desired value on the edge",
          );
        });

        await t.step("every frame edgecore sent was accepted", () => {
          assertEquals(hub!.main.lines.filter((l) => l.includes("malformed")), []);
        });
      } finally {
        await edge?.stop();
        await hub?.stop();
        await cluster.stop();
        await removeDir(dir);
      }
    });
  },
  CRDS ? [] : ["KubeEdge v1.15.0's CRD manifests (KUBEEDGE_CRDS_DIR)"],
);
