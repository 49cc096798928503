/**
 * v1alpha2 walk-through on the bus against the embedded API with kubectl: profile ConfigMap with
 * the exact JSON, membership with twins, desired → twin/cloud_updated, edge_updated → reported +
 * "OK", move, delete.
 */
import { assert, assertEquals } from "../../assert.ts";
import type { Message } from "../../../modules/mod.ts";
import { ProfileLabel } from "../../../controllers/device/mod.ts";
import {
  classicDevice,
  classicModel,
  desiredTwins,
  edgeUpdated,
  kubectl,
  kubectlOk,
  nodeSelector,
  startHarness,
  waitFor,
} from "./harness.ts";

const isMembership = (node: string) => (m: Message) =>
  m.route.resource === `node/${node}/membership`;

Deno.test("v1alpha2 walk-through: profile, membership, desired, reported, move, delete", async () => {
  const h = await startHarness();
  try {
    await h.k(["apply", "-f", "-"], classicModel());
    // Twins live in status (a subresource here): create unbound, set desired, then bind.
    await h.k(["apply", "-f", "-"], classicDevice("counter"));
    await h.k([
      "patch",
      "device.v1alpha2.devices.kubeedge.io",
      "counter",
      "--type=merge",
      "-p",
      JSON.stringify(desiredTwins("20")),
    ]);
    await h.k([
      "patch",
      "device.v1alpha2.devices.kubeedge.io",
      "counter",
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { nodeSelector: nodeSelector("edge-1") } }),
    ]);

    // Membership with twins, exactly as §8.5.
    const mem = await h.waitSent(isMembership("edge-1"), "membership add");
    assertEquals(mem.route, {
      source: "devicecontroller",
      group: "twin",
      operation: "update",
      resource: "node/edge-1/membership",
    });
    const content = mem.content as Record<string, unknown>;
    assertEquals(Object.keys(content), [
      "event_id",
      "timestamp",
      "added_devices",
      "removed_devices",
    ]);
    assertEquals(content.removed_devices, null);
    const added = content.added_devices as Record<string, unknown>[];
    assertEquals(added.length, 1);
    const dev = JSON.parse(
      await h.k(["get", "device.v1alpha2.devices.kubeedge.io", "counter", "-o", "json"]),
    );
    const rv = Number(dev.metadata.resourceVersion);
    const twin = (added[0].twin as Record<string, Record<string, unknown>>).temperature;
    assertEquals(added[0].id, "counter");
    assertEquals(added[0].name, "counter");
    assertEquals(added[0].description, "counter");
    assertEquals(twin.expected, {
      value: "20",
      metadata: {
        timestamp: (twin.expected as { metadata: { timestamp: number } }).metadata.timestamp,
      },
    });
    assertEquals(twin.optional, false);
    assertEquals(twin.metadata, { type: "int" });
    assertEquals(twin.expected_version, { cloud: rv, edge: 0 });

    // The profile ConfigMap, exact JSON.
    const cm = await waitFor(async () => {
      const r = await kubectl(h.api, [
        "get",
        "configmap",
        "device-profile-config-edge-1",
        "-o",
        "json",
      ]);
      return r.code === 0 ? JSON.parse(r.stdout) : undefined;
    }, "profile configmap");
    assertEquals(Object.keys(cm.data), ["deviceProfile.json"]);
    // Keys in Go struct order where cloudcore has structs; protocol and visitor configs pass
    // through as the API stored them (compared as values).
    const profile = JSON.parse(cm.data["deviceProfile.json"]);
    assertEquals(Object.keys(profile), ["deviceInstances", "deviceModels", "protocols"]);
    assertEquals(Object.keys(profile.deviceInstances[0]), [
      "id",
      "name",
      "protocol",
      "model",
      "twins",
      "propertyVisitors",
    ]);
    assertEquals(Object.keys(profile.deviceModels[0].properties[0]), [
      "name",
      "dataType",
      "description",
      "accessMode",
      "defaultValue",
      "minimum",
      "maximum",
      "unit",
    ]);
    assertEquals(Object.keys(profile.protocols[0]), [
      "name",
      "protocol",
      "protocolConfig",
      "protocolCommonConfig",
    ]);
    assertEquals(
      profile,
      {
        deviceInstances: [{
          id: "counter",
          name: "counter",
          protocol: "modbus-counter",
          model: "sensor-model",
          twins: [{
            propertyName: "temperature",
            desired: { value: "20", metadata: { type: "int" } },
            reported: { value: "0" },
          }],
          propertyVisitors: [{
            name: "temperature",
            propertyName: "temperature",
            modelName: "sensor-model",
            protocol: "modbus",
            reportCycle: 1000,
            visitorConfig: { register: "HoldingRegister", offset: 2, limit: 1 },
          }],
        }],
        deviceModels: [{
          name: "sensor-model",
          properties: [
            {
              name: "temperature",
              dataType: "int",
              description: "temperature in degree celsius",
              accessMode: "ReadWrite",
              defaultValue: 0,
              minimum: 0,
              maximum: 100,
              unit: "degree celsius",
            },
            { name: "switch", dataType: "boolean", accessMode: "ReadWrite", defaultValue: false },
          ],
        }],
        protocols: [{
          name: "modbus-counter",
          protocol: "modbus",
          protocolConfig: { slaveID: 1 },
          protocolCommonConfig: { com: { serialPort: "/dev/ttyS0", baudRate: 9600 } },
        }],
      },
    );

    // kubectl patch desired → twin/cloud_updated with the new value.
    await h.k([
      "patch",
      "device.v1alpha2.devices.kubeedge.io",
      "counter",
      "--type=merge",
      "-p",
      JSON.stringify(desiredTwins("42")),
    ]);
    const cu = await h.waitSent(
      (m) => m.route.resource === "node/edge-1/device/counter/twin/cloud_updated",
      "cloud_updated",
    );
    assertEquals(cu.route.group, "twin");
    assertEquals(cu.route.operation, "update");
    const cuTwin = (cu.content as { twin: Record<string, { expected: { value: string } }> }).twin;
    assertEquals(cuTwin.temperature.expected.value, "42");

    // edge_updated → reported in the API and one "OK".
    const req = await h.upstream(
      "edge-1",
      "device/counter/twin/edge_updated",
      edgeUpdated({ temperature: "37" }),
    );
    const ok = await h.waitSent((m) => m.header.parentId === req.header.id, "OK response");
    assertEquals(ok.route, {
      source: "devicecontroller",
      group: "twin",
      operation: "response",
      resource: "node/edge-1/twin",
    });
    assertEquals(ok.content, "OK");
    const after = JSON.parse(
      await h.k(["get", "device.v1alpha2.devices.kubeedge.io", "counter", "-o", "json"]),
    );
    assertEquals(after.status.twins, [{
      propertyName: "temperature",
      desired: { value: "42", metadata: { type: "int" } },
      reported: { value: "37", metadata: { timestamp: "1700000000123", type: "int" } },
    }]);

    // Move to edge-2: removal on edge-1, addition on edge-2, both profiles rewritten.
    const before = h.sent.length;
    await h.k([
      "patch",
      "device.v1alpha2.devices.kubeedge.io",
      "counter",
      "--type=json",
      "-p",
      JSON.stringify([{
        op: "replace",
        path: "/spec/nodeSelector/nodeSelectorTerms/0/matchExpressions/0/values/0",
        value: "edge-2",
      }]),
    ]);
    const removal = await h.waitSent(
      (m) => h.sent.indexOf(m) >= before && isMembership("edge-1")(m),
      "removal on edge-1",
    );
    assertEquals((removal.content as Record<string, unknown>).added_devices, null);
    const removed = (removal.content as { removed_devices: { id: string }[] }).removed_devices;
    assertEquals(removed.map((d) => d.id), ["counter"]);
    const addition = await h.waitSent(
      (m) => h.sent.indexOf(m) >= before && isMembership("edge-2")(m),
      "addition on edge-2",
    );
    assertEquals(
      (addition.content as { added_devices: { id: string }[] }).added_devices.map((d) => d.id),
      ["counter"],
    );
    await waitFor(async () => {
      const old = await kubectl(h.api, ["get", "configmap", "device-profile-config-edge-1"]);
      const neu = await kubectl(h.api, ["get", "configmap", "device-profile-config-edge-2"]);
      return old.code !== 0 && neu.code === 0;
    }, "profile moved from edge-1 to edge-2");

    // Delete: removal, profile deleted because it is empty.
    const beforeDelete = h.sent.length;
    await h.k(["delete", "device.v1alpha2.devices.kubeedge.io", "counter"]);
    await h.waitSent(
      (m) =>
        h.sent.indexOf(m) >= beforeDelete && isMembership("edge-2")(m) &&
        (m.content as { removed_devices: unknown }).removed_devices !== null,
      "removal on delete",
    );
    await waitFor(async () => {
      const r = await kubectl(h.api, ["get", "configmap", "device-profile-config-edge-2"]);
      return r.code !== 0;
    }, "empty profile deleted");
    assert(h.dc.state.devices.size === 0);
  } finally {
    await h.close();
  }
});

Deno.test("a profile left behind while edgecloud was down is deleted at start; live ones stay", async () => {
  const stale = JSON.stringify({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: "device-profile-config-gone",
      namespace: "default",
      labels: { [ProfileLabel]: "true" },
    },
    data: { "deviceProfile.json": "{}" },
  });
  const foreign = stale.replace("device-profile-config-gone", "device-profile-config-manual")
    .replace(`"${ProfileLabel}":"true"`, `"app":"x"`);
  const h = await startHarness({
    before: async ({ api }) => {
      await kubectlOk(api, ["apply", "-f", "-"], stale);
      await kubectlOk(api, ["apply", "-f", "-"], foreign);
      await kubectlOk(api, ["apply", "-f", "-"], classicModel());
      await kubectlOk(api, ["apply", "-f", "-"], classicDevice("live", "edge-7"));
    },
  });
  try {
    await waitFor(
      async () =>
        (await kubectl(h.api, ["get", "configmap", "device-profile-config-gone"])).code !== 0,
      "stale profile deleted",
    );
    await h.dc.idle();
    assertEquals(
      (await kubectl(h.api, ["get", "configmap", "device-profile-config-edge-7"])).code,
      0,
    );
    assertEquals(
      (await kubectl(h.api, ["get", "configmap", "device-profile-config-manual"])).code,
      0,
    );
    const cm = JSON.parse(
      await h.k(["get", "configmap", "device-profile-config-edge-7", "-o", "json"]),
    );
    assertEquals(cm.metadata.labels[ProfileLabel], "true");
  } finally {
    await h.close();
  }
});
