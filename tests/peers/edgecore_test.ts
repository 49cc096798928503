/**
 * Real edgecore (EDGECORE_BIN, edged off: no container runtime here) against edgecloud on the
 * embedded API: it bootstraps with a token from `edgecloud token` (`/ca.crt`, `/edge.crt`),
 * connects over mTLS WebSocket and stays connected through its keepalives; a v1beta1 Device
 * bound to it reaches its device twin database, and a twin report published on its MQTT bus
 * (as a mapper does) lands in the DeviceStatus, as cloudcore v1.23 writes it; a request to its
 * MetaServer that goes to the cloud gets the hub's Rejected answer (no DynamicController yet).
 */
import { assert, assertEquals } from "../assert.ts";
import {
  eventually,
  exclusively,
  freePort,
  getJson,
  joinToken,
  kubectl,
  LoggedProcess,
  peerTest,
  removeDir,
  startHub,
} from "./harness.ts";
import {
  devicesOnEdge,
  edgecoreConfig,
  metric,
  type Obj,
  publishTwinReport,
  twinsOnEdge,
  v1beta1Device,
} from "./edgecore.ts";

const NODE = "ec-peer-1";

const DEVICE = v1beta1Device("thermo-1", NODE);

peerTest("edgecore bootstraps, stays connected, and carries v1beta1 device twins", [
  "EDGECORE_BIN",
], async ({ EDGECORE_BIN }, t) => {
  await exclusively(async () => {
    const dir = await Deno.makeTempDir({ prefix: "edgecloud-peer-ec-" });
    const hub = await startHub(dir);
    const kc = hub.kubeconfig;
    const edgeDir = `${dir}/edge`;
    await Deno.mkdir(edgeDir, { recursive: true });
    const mqttPort = freePort();
    const metaServerPort = freePort();
    let edge: LoggedProcess | undefined;
    try {
      const monitorLine = hub.main.lines.find((l) => l.includes("monitor listening"))!;
      const monitorPort = Number(/ port=(\d+)/.exec(monitorLine)![1]);

      await t.step("it bootstraps with a join token and connects over mTLS WebSocket", async () => {
        const config = await edgecoreConfig(
          EDGECORE_BIN,
          edgeDir,
          NODE,
          hub,
          await joinToken(hub.dataDir),
          { mqtt: mqttPort, metaServer: metaServerPort },
        );
        edge = new LoggedProcess(EDGECORE_BIN, ["--config", config], `${edgeDir}/edgecore.log`);
        await hub.main.waitForLine(`node connected node=${NODE} transport=websocket`);
        const cert = await Deno.readTextFile(`${edgeDir}/certs/server.crt`);
        assert(cert.includes("BEGIN CERTIFICATE"), "edgecore stored the certificate it was given");
      });

      await t.step("it stays connected through its keepalives", async () => {
        await eventually(
          async () =>
            await metric(
              monitorPort,
              'edgecloud_cloudhub_messages_in_total{operation="keepalive"}',
            ) >=
              3,
          "three keepalives",
        );
        assertEquals(await metric(monitorPort, "edgecloud_cloudhub_connected_nodes"), 1);
        assertEquals(hub.main.lines.filter((l) => l.includes("node disconnected")), []);
      });

      await t.step(
        "a v1beta1 Device bound to the node reaches the edge's twin database",
        async () => {
          await kubectl(kc, ["apply", "-f", "-"], { stdin: DEVICE });
          const devices = await eventually(
            () =>
              devicesOnEdge(`${edgeDir}/edgecore.db`).length > 0 &&
              devicesOnEdge(`${edgeDir}/edgecore.db`),
            "device on the edge",
          );
          assertEquals(devices, [{ id: "default/thermo-1", name: "thermo-1" }]);
          await eventually(
            async () => await getJson(kc, ["devicestatus", "thermo-1"]),
            "DeviceStatus",
          );
        },
      );

      await t.step("a twin report on the edge's MQTT bus lands in the DeviceStatus", async () => {
        await publishTwinReport(mqttPort, "default/thermo-1", "23");
        const twin = await eventually(async () => {
          const status = (await getJson(kc, ["devicestatus", "thermo-1"]))?.status as
            | { twins?: { propertyName: string; reported?: { value: string; metadata: Obj } }[] }
            | undefined;
          return status?.twins?.find((tw) => tw.propertyName === "temperature" && tw.reported);
        }, "reported twin");
        assertEquals(twin.reported!.value, "23");
        assertEquals(twin.reported!.metadata.type, "int");
        assert(/^\d+$/.test(String(twin.reported!.metadata.timestamp)));
        const edgeTwin = twinsOnEdge(`${edgeDir}/edgecore.db`).find((r) =>
          r.name === "temperature"
        );
        assertEquals(edgeTwin?.actual, "23");
      });

      await t.step(
        "a MetaServer request is answered Rejected by the hub, then served locally",
        async () => {
          const url =
            `http://127.0.0.1:${metaServerPort}/api/v1/namespaces/default/configmaps/no-such-cm`;
          const res = await eventually(async () => {
            const r = await fetch(url);
            await r.body?.cancel();
            return r;
          }, "edgecore's MetaServer");
          assertEquals(res.status, 404); // the local fallback: not in the edge's cache
          // edgecore read the hub's Rejected Application and its Status as sent.
          await eventually(
            () => edge!.log().includes("edgecloud serves no DynamicController yet"),
            "edgecore logging the hub's 503",
          );
        },
      );

      await t.step("every frame edgecore sent was accepted", () => {
        assertEquals(hub.main.lines.filter((l) => l.includes("malformed")), []);
      });
    } finally {
      await edge?.stop();
      await hub.stop();
      await removeDir(dir);
    }
  });
});
