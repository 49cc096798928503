/**
 * v1beta1 walk-through on the bus against the embedded API: membership with `<ns>/<name>` ids,
 * devicemodel/device resource messages (RV and GVK set), edge_updated → DeviceStatus reported +
 * observedDesired, state/update → state + lastOnlineTime, move, delete.
 */
import { assert, assertEquals } from "../../assert.ts";
import type { Message } from "../../../modules/mod.ts";
import {
  currentDevice,
  currentModel,
  edgeUpdated,
  kubectl,
  startHarness,
  waitFor,
} from "./harness.ts";

const after = (sent: Message[], n: number) => (pred: (m: Message) => boolean) => (m: Message) =>
  sent.indexOf(m) >= n && pred(m);

Deno.test("v1beta1 walk-through: membership, resource messages, DeviceStatus, move, delete", async () => {
  const h = await startHarness();
  try {
    assertEquals(h.dc.deviceVersion, "v1beta1");
    assert(h.dc.usesDeviceStatus);
    await h.k(["apply", "-f", "-"], currentModel());
    await h.k(["apply", "-f", "-"], currentDevice("thermo", "edge-1"));

    const mem = await h.waitSent(
      (m) => m.route.resource === "node/edge-1/membership",
      "membership",
    );
    assertEquals(mem.route.group, "twin");
    assertEquals((mem.content as { added_devices: unknown[] }).added_devices, [
      { id: "default/thermo", name: "thermo" },
    ]);
    const model = await h.waitSent(
      (m) => m.route.resource === "node/edge-1/default/devicemodel/thermo-model",
      "devicemodel insert",
    );
    const apiModel = JSON.parse(await h.k(["get", "devicemodel", "thermo-model", "-o", "json"]));
    assertEquals(model.route, {
      source: "devicecontroller",
      group: "resource",
      operation: "insert",
      resource: "node/edge-1/default/devicemodel/thermo-model",
    });
    assertEquals(model.header.resourceVersion, apiModel.metadata.resourceVersion);
    const mc = model.content as Record<string, unknown>;
    assertEquals(mc.apiVersion, "devices.kubeedge.io/v1beta1");
    assertEquals(mc.kind, "DeviceModel");
    assertEquals(mc.spec, apiModel.spec);
    const device = await h.waitSent(
      (m) => m.route.resource === "node/edge-1/default/device/thermo",
      "device insert",
    );
    assertEquals(device.route.operation, "insert");
    assertEquals((device.content as { kind: string }).kind, "Device");
    assert(device.header.resourceVersion);
    // Order on the wire: membership, model, device.
    assert(
      h.sent.indexOf(mem) < h.sent.indexOf(model) && h.sent.indexOf(model) < h.sent.indexOf(device),
    );

    // A second device with the same model on the same node: no second model message.
    await h.k(["apply", "-f", "-"], currentDevice("thermo2", "edge-1"));
    await h.waitSent((m) => m.route.resource === "node/edge-1/default/device/thermo2", "device 2");
    assertEquals(
      h.sent.filter((m) => m.route.resource === "node/edge-1/default/devicemodel/thermo-model")
        .length,
      1,
    );

    // edge_updated → DeviceStatus reported + observedDesired, and "OK".
    const req = await h.upstream(
      "edge-1",
      "device/default/thermo/twin/edge_updated",
      edgeUpdated({ temperature: "25" }, 1_700_000_000_500, { temperature: "22" }),
    );
    const ok = await h.waitSent((m) => m.header.parentId === req.header.id, "OK");
    assertEquals(ok.content, "OK");
    assertEquals(ok.route.resource, "node/edge-1/twin");
    const ds = JSON.parse(await h.k(["get", "devicestatus", "thermo", "-o", "json"]));
    assertEquals(ds.status.twins, [{
      propertyName: "temperature",
      reported: { value: "25", metadata: { timestamp: "1700000000500", type: "int" } },
      observedDesired: { value: "22", metadata: { timestamp: "1700000000500", type: "int" } },
    }]);
    assertEquals(ds.metadata.ownerReferences[0].kind, "Device");

    // state/update: content is a string holding JSON.
    const st = await h.upstream(
      "edge-1",
      "device/default/thermo/state/update",
      JSON.stringify({
        event_id: "e1",
        timestamp: 1,
        device: { name: "thermo", state: "online", lastOnlineTime: "2026-11-24T10:00:00Z" },
      }),
    );
    await h.waitSent((m) => m.header.parentId === st.header.id && m.content === "OK", "state OK");
    const ds2 = JSON.parse(await h.k(["get", "devicestatus", "thermo", "-o", "json"]));
    assertEquals(ds2.status.state, "online");
    assertEquals(ds2.status.lastOnlineTime, "2026-11-24T10:00:00Z");
    assertEquals(ds2.status.twins[0].reported.value, "25");

    // A deleted DeviceStatus is recreated by the next report.
    await h.k(["delete", "devicestatus", "thermo"]);
    const again = await h.upstream(
      "edge-1",
      "device/default/thermo/twin/edge_updated",
      edgeUpdated({ temperature: "26" }),
    );
    await h.waitSent(
      (m) => m.header.parentId === again.header.id && m.content === "OK",
      "OK again",
    );
    const ds3 = JSON.parse(await h.k(["get", "devicestatus", "thermo", "-o", "json"]));
    assertEquals(ds3.status.twins[0].reported.value, "26");

    // Spec change → device update.
    let n = h.sent.length;
    await h.k([
      "patch",
      "device",
      "thermo",
      "--type=merge",
      "-p",
      '{"spec":{"protocol":{"protocolName":"opcua"}}}',
    ]);
    await h.waitSent(
      after(h.sent, n)((m) =>
        m.route.resource === "node/edge-1/default/device/thermo" && m.route.operation === "update"
      ),
      "device update",
    );

    // Move thermo to edge-2: removal + device delete on edge-1 (model stays: thermo2 uses it),
    // membership + model + device on edge-2.
    n = h.sent.length;
    await h.k([
      "patch",
      "device",
      "thermo",
      "--type=merge",
      "-p",
      '{"spec":{"nodeName":"edge-2"}}',
    ]);
    const a = after(h.sent, n);
    await h.waitSent(
      a((m) => m.route.resource === "node/edge-2/default/device/thermo"),
      "device on edge-2",
    );
    await h.waitSent(
      a((m) => m.route.resource === "node/edge-2/default/devicemodel/thermo-model"),
      "model on edge-2",
    );
    const rem = await h.waitSent(
      a((m) => m.route.resource === "node/edge-1/membership"),
      "removal on edge-1",
    );
    assertEquals((rem.content as { removed_devices: unknown[] }).removed_devices, [
      { id: "default/thermo", name: "thermo" },
    ]);
    await h.waitSent(
      a((m) =>
        m.route.resource === "node/edge-1/default/device/thermo" && m.route.operation === "delete"
      ),
      "device delete on edge-1",
    );
    assert(
      !h.sent.some(a((m) => m.route.resource === "node/edge-1/default/devicemodel/thermo-model")),
    );

    // Delete thermo2: the last user of the model on edge-1 → model delete there.
    n = h.sent.length;
    await h.k(["delete", "device", "thermo2"]);
    const b = after(h.sent, n);
    const md = await h.waitSent(
      b((m) => m.route.resource === "node/edge-1/default/devicemodel/thermo-model"),
      "model delete on edge-1",
    );
    assertEquals(md.route.operation, "delete");
    await h.waitSent(
      b((m) =>
        m.route.resource === "node/edge-1/default/device/thermo2" && m.route.operation === "delete"
      ),
      "device2 delete",
    );
    await waitFor(
      async () => (await kubectl(h.api, ["get", "devicestatus", "thermo2"])).code !== 0,
      "status gone",
    );
  } finally {
    await h.close();
  }
});

Deno.test("v1beta1 without DeviceStatus: reports are patched into Device.status", async () => {
  const h = await startHarness({ useDeviceStatus: false });
  try {
    await h.k(["apply", "-f", "-"], currentModel());
    await h.k(["apply", "-f", "-"], currentDevice("thermo", "edge-1"));
    await h.waitSent(
      (m) => m.route.resource === "node/edge-1/default/device/thermo",
      "device insert",
    );
    const req = await h.upstream(
      "edge-1",
      "device/default/thermo/twin/edge_updated",
      edgeUpdated({ temperature: "30" }),
    );
    await h.waitSent((m) => m.header.parentId === req.header.id, "OK");
    const dev = JSON.parse(await h.k(["get", "device", "thermo", "-o", "json"]));
    assertEquals(dev.status.twins[0].reported.value, "30");
    assertEquals((await kubectl(h.api, ["get", "devicestatus", "thermo"])).code !== 0, true);
  } finally {
    await h.close();
  }
});
