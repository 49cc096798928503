/**
 * End to end: embedded API + CloudHub (mTLS WebSocket) + EdgeController + DeviceController,
 * driven by kubectl and by the edge client speaking edgecore's protocol.
 */
import { assert, assertEquals } from "../../assert.ts";
import { buildMessage, Bus, type Message } from "../../../modules/mod.ts";
import { KubeClient, KubeSyncStore } from "../../../kube/mod.ts";
import { EdgeController } from "../../../controllers/edge/mod.ts";
import { DeviceController } from "../../../controllers/device/mod.ts";
import { startHub } from "../../hub/hub_fixture.ts";
import { startTestApi } from "../../apiserver/helpers.ts";
import {
  classicDevice,
  classicModel,
  currentDevice,
  currentModel,
  desiredTwins,
  edgeUpdated,
  kubectlOk,
  nodeSelector,
  waitFor,
} from "./harness.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const edgeNode = (name: string) => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name, labels: { "node-role.kubernetes.io/edge": "" } },
  status: {},
});

/** A twin message as the edge twin module sends it (source twin, group resource). */
function twinMsg(resource: string, content: unknown): Message {
  return buildMessage(
    { source: "twin", group: "resource", operation: "update", resource },
    content,
  );
}

Deno.test("e2e over mTLS WebSocket: v1alpha2 profile via EdgeController, membership, twins; v1beta1 resources with ACKs", async () => {
  const api = await startTestApi();
  const kube = KubeClient.fromYaml(api.kubeconfigYaml);
  const bus = new Bus();
  const hub = await startHub({ bus, syncStore: new KubeSyncStore(kube.http) });
  bus.addModule("edgecontroller");
  bus.addModule("devicecontroller");
  const ec = new EdgeController({ kube, localIp: "127.0.0.1" });
  const dc = new DeviceController({ kube, coalesceWindowMs: 20 });
  const k = (args: string[], stdin?: string) => kubectlOk(api, args, stdin);
  try {
    for (const n of ["edge-1", "edge-2"]) await kube.create("/api/v1/nodes", edgeNode(n));
    await ec.start({ bus });
    await dc.start({ bus });
    const e1 = await hub.connect("edge-1");
    const e2 = await hub.connect("edge-2");

    // A mapper pod on edge-1 mounts the profile ConfigMap, so EdgeController ships it there.
    await kube.create("/api/v1/namespaces/default/pods", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "mapper", namespace: "default" },
      spec: {
        nodeName: "edge-1",
        containers: [{
          name: "m",
          image: "modbus-mapper",
          volumeMounts: [{ name: "p", mountPath: "/opt/kubeedge" }],
        }],
        volumes: [{ name: "p", configMap: { name: "device-profile-config-edge-1" } }],
      },
    });

    // ---- v1alpha2 ----
    await k(["apply", "-f", "-"], classicModel());
    await k(["apply", "-f", "-"], classicDevice("counter"));
    await k([
      "patch",
      "device.v1alpha2.devices.kubeedge.io",
      "counter",
      "--type=merge",
      "-p",
      JSON.stringify(desiredTwins("20")),
    ]);
    await k([
      "patch",
      "device.v1alpha2.devices.kubeedge.io",
      "counter",
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { nodeSelector: nodeSelector("edge-1") } }),
    ]);

    const mem = await e1.waitFor((m) => m.route.resource === "membership");
    assertEquals(mem.route.source, "devicecontroller");
    assertEquals(mem.route.group, "twin");
    assertEquals((mem.content as Json).added_devices[0].id, "counter");
    assertEquals((mem.content as Json).added_devices[0].twin.temperature.expected.value, "20");

    const cm = await e1.waitFor((m) =>
      m.route.resource === "default/configmap/device-profile-config-edge-1"
    );
    assertEquals(cm.route.source, "edgecontroller");
    const profile = JSON.parse((cm.content as Json).data["deviceProfile.json"]);
    assertEquals(profile.deviceInstances[0].id, "counter");
    assertEquals(profile.deviceModels[0].name, "sensor-model");

    await k([
      "patch",
      "device.v1alpha2.devices.kubeedge.io",
      "counter",
      "--type=merge",
      "-p",
      JSON.stringify(desiredTwins("42")),
    ]);
    const cu = await e1.waitFor((m) => m.route.resource === "device/counter/twin/cloud_updated");
    assertEquals((cu.content as Json).twin.temperature.expected.value, "42");

    const up = twinMsg("device/counter/twin/edge_updated", edgeUpdated({ temperature: "37" }));
    await e1.send(up);
    const ok = await e1.waitFor((m) => m.header.parentId === up.header.id);
    assertEquals(ok.content, "OK");
    assertEquals(ok.route, {
      source: "devicecontroller",
      group: "twin",
      operation: "response",
      resource: "twin",
    });
    const dev = JSON.parse(
      await k(["get", "device.v1alpha2.devices.kubeedge.io", "counter", "-o", "json"]),
    );
    assertEquals(dev.status.twins[0].reported.value, "37");

    // Bad input reaches the edge as an error response (no-ack path through CloudHub).
    const bad = twinMsg("device/counter/twin/edge_updated", edgeUpdated({ pressure: "1" }));
    await e1.send(bad);
    const err = await e1.waitFor((m) => m.header.parentId === bad.header.id);
    assertEquals(err.route.operation, "response");
    assertEquals((err.content as Json).ErrStatus.code, 400);

    // Move to edge-2, then delete.
    await k([
      "patch",
      "device.v1alpha2.devices.kubeedge.io",
      "counter",
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { nodeSelector: nodeSelector("edge-2") } }),
    ]);
    await e1.waitFor((m) =>
      m.route.resource === "membership" &&
      (m.content as Json).removed_devices?.[0]?.id === "counter"
    );
    await e2.waitFor((m) =>
      m.route.resource === "membership" && (m.content as Json).added_devices?.[0]?.id === "counter"
    );
    await k(["delete", "device.v1alpha2.devices.kubeedge.io", "counter"]);
    await e2.waitFor((m) =>
      m.route.resource === "membership" &&
      (m.content as Json).removed_devices?.[0]?.id === "counter"
    );

    // ---- v1beta1 ----
    await k(["apply", "-f", "-"], currentModel());
    await k(["apply", "-f", "-"], currentDevice("thermo", "edge-2"));
    const model = await e2.waitFor((m) => m.route.resource === "default/devicemodel/thermo-model");
    const device = await e2.waitFor((m) => m.route.resource === "default/device/thermo");
    assertEquals(model.route.operation, "insert");
    assertEquals((device.content as Json).kind, "Device");
    // The edge ACKed both (metamanager rule); CloudHub records them in ObjectSyncs.
    await waitFor(async () => {
      const list = JSON.parse(await k(["get", "objectsyncs", "-o", "json"])).items as Json[];
      const acked = list.filter((o) => o.status?.objectResourceVersion);
      const kinds = new Set(acked.map((o) => o.spec.objectKind));
      return kinds.has("Device") && kinds.has("DeviceModel");
    }, "ObjectSyncs for the acked Device and DeviceModel");
    assert(e2.acksSent >= 2);

    const up2 = twinMsg(
      "device/default/thermo/twin/edge_updated",
      edgeUpdated({ temperature: "23" }, 5, { temperature: "22" }),
    );
    await e2.send(up2);
    await e2.waitFor((m) => m.header.parentId === up2.header.id && m.content === "OK");
    const ds = JSON.parse(await k(["get", "devicestatus", "thermo", "-o", "json"]));
    assertEquals(ds.status.twins[0].reported.value, "23");
    assertEquals(ds.status.twins[0].observedDesired.value, "22");

    await k(["delete", "device", "thermo"]);
    await e2.waitFor((m) =>
      m.route.resource === "default/device/thermo" && m.route.operation === "delete"
    );
    await e2.waitFor((m) =>
      m.route.resource === "default/devicemodel/thermo-model" && m.route.operation === "delete"
    );
  } finally {
    await dc.stop();
    await ec.stop();
    await hub.close();
    bus.close();
    await kube.close();
    await api.dispose();
  }
});
