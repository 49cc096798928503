/**
 * The KubeEdge gaps DeviceController fixes (issue 7, point 3), each as a behaviour on the bus
 * against the embedded API.
 */
import { assert, assertEquals } from "../../assert.ts";
import type { Message } from "../../../modules/mod.ts";
import { ModelMissingAnnotation } from "../../../controllers/device/mod.ts";
import {
  classicDevice,
  classicModel,
  currentDevice,
  currentModel,
  edgeUpdated,
  kubectl,
  kubectlOk,
  ManualClock,
  nodeSelector,
  startHarness,
  waitFor,
} from "./harness.ts";

const res = (r: string) => (m: Message) => m.route.resource === r;

async function profileOf(h: { api: Parameters<typeof kubectl>[0] }, node: string) {
  const r = await kubectl(h.api, [
    "get",
    "configmap",
    `device-profile-config-${node}`,
    "-o",
    "json",
  ]);
  return r.code === 0 ? JSON.parse(JSON.parse(r.stdout).data["deviceProfile.json"]) : undefined;
}

Deno.test("start() resolves after models synced: pre-existing devices are handled at once", async () => {
  const h = await startHarness({
    before: async ({ api }) => {
      // Created before the controller runs; the Device listed right after its model.
      await kubectlOk(api, ["apply", "-f", "-"], currentModel());
      await kubectlOk(api, ["apply", "-f", "-"], currentDevice("early", "edge-1"));
    },
  });
  try {
    // No waiting, no polling: by the time start() resolved the device was handled.
    assertEquals(h.dc.stats().downstream.waitingForModel, 0);
    assert(h.dc.state.devices.get("default/early")?.active);
    await h.waitSent(res("node/edge-1/default/devicemodel/thermo-model"), "model insert");
    await h.waitSent(res("node/edge-1/default/device/early"), "device insert");
  } finally {
    await h.close();
  }
});

Deno.test("a Device created before its DeviceModel is handled when the model arrives", async () => {
  const h = await startHarness();
  try {
    await h.k(["apply", "-f", "-"], currentDevice("late", "edge-1", "late-model"));
    await h.k(["apply", "-f", "-"], classicDevice("classic-late", "edge-2", "late-classic-model"));
    await waitFor(() => h.dc.state.devices.size === 2, "devices seen");
    await h.dc.idle();
    assertEquals(h.dc.stats().downstream.waitingForModel, 2);
    assertEquals(h.sent.length, 0, "nothing is sent while the model is missing");
    assertEquals(await profileOf(h, "edge-2"), undefined);

    await h.k(["apply", "-f", "-"], currentModel("late-model"));
    const mem = await h.waitSent(res("node/edge-1/membership"), "membership");
    const model = await h.waitSent(res("node/edge-1/default/devicemodel/late-model"), "model");
    const dev = await h.waitSent(res("node/edge-1/default/device/late"), "device");
    assert(
      h.sent.indexOf(mem) < h.sent.indexOf(model) && h.sent.indexOf(model) < h.sent.indexOf(dev),
    );

    await h.k(["apply", "-f", "-"], classicModel("late-classic-model"));
    await h.waitSent(res("node/edge-2/membership"), "classic membership");
    const p = await waitFor(() => profileOf(h, "edge-2"), "classic profile");
    assertEquals(p.deviceModels[0].name, "late-classic-model");
    assertEquals(h.dc.stats().downstream.waitingForModel, 0);
  } finally {
    await h.close();
  }
});

Deno.test("DeviceModel updated: every profile is rewritten and v1beta1 nodes get the update", async () => {
  const h = await startHarness();
  try {
    await h.k(["apply", "-f", "-"], classicModel());
    await h.k(["apply", "-f", "-"], classicDevice("c1", "edge-1"));
    await h.k(["apply", "-f", "-"], classicDevice("c2", "edge-2"));
    await h.k(["apply", "-f", "-"], currentModel());
    await h.k(["apply", "-f", "-"], currentDevice("t1", "edge-3"));
    await h.k(["apply", "-f", "-"], currentDevice("t2", "edge-4"));
    await waitFor(
      async () => (await profileOf(h, "edge-1")) && (await profileOf(h, "edge-2")),
      "profiles",
    );
    await h.waitSent(res("node/edge-4/default/devicemodel/thermo-model"), "model on edge-4");

    const n = h.sent.length;
    await h.k(
      ["apply", "-f", "-"],
      classicModel(
        "sensor-model",
        "\n  - name: humidity\n    type:\n      double:\n        accessMode: ReadOnly",
      ),
    );
    await h.k(["apply", "-f", "-"], currentModel("thermo-model", "kelvin"));
    for (const node of ["edge-1", "edge-2"]) {
      const p = await waitFor(async () => {
        const p = await profileOf(h, node);
        return p?.deviceModels[0].properties.length === 3 ? p : undefined;
      }, `profile of ${node} rewritten`);
      assertEquals(p.deviceModels[0].properties[2], {
        name: "humidity",
        dataType: "double",
        accessMode: "ReadOnly",
        defaultValue: 0,
        minimum: 0,
        maximum: 0,
      });
    }
    for (const node of ["edge-3", "edge-4"]) {
      const up = await h.waitSent(
        (m) =>
          h.sent.indexOf(m) >= n &&
          m.route.resource === `node/${node}/default/devicemodel/thermo-model`,
        `model update on ${node}`,
      );
      assertEquals(up.route.operation, "update");
      const props = (up.content as { spec: { properties: { unit?: string }[] } }).spec.properties;
      assertEquals(props[0].unit, "kelvin");
    }
  } finally {
    await h.close();
  }
});

Deno.test("DeviceModel deleted while referenced: Event + annotation, removed from profiles and nodes", async () => {
  const h = await startHarness();
  try {
    await h.k(["apply", "-f", "-"], classicModel());
    await h.k(["apply", "-f", "-"], classicDevice("c1", "edge-1"));
    await h.k(["apply", "-f", "-"], currentModel());
    await h.k(["apply", "-f", "-"], currentDevice("t1", "edge-3"));
    await waitFor(async () => (await profileOf(h, "edge-1"))?.deviceModels, "profile with model");
    await h.waitSent(res("node/edge-3/default/devicemodel/thermo-model"), "model sent");

    await h.k(["delete", "devicemodel", "sensor-model", "thermo-model"]);
    const del = await h.waitSent(
      (m) =>
        res("node/edge-3/default/devicemodel/thermo-model")(m) && m.route.operation === "delete",
      "model delete on edge-3",
    );
    assertEquals(del.route.group, "resource");
    const p = await waitFor(async () => {
      const prof = await profileOf(h, "edge-1");
      return prof && !prof.deviceModels ? prof : undefined;
    }, "model removed from profile");
    assertEquals(p.deviceInstances.map((d: { id: string }) => d.id), ["c1"]);

    for (const name of ["c1", "t1"]) {
      const dev = await waitFor(async () => {
        const d = JSON.parse(await h.k(["get", "device", name, "-o", "json"]));
        return d.metadata.annotations?.[ModelMissingAnnotation] ? d : undefined;
      }, `annotation on ${name}`);
      assert(dev.metadata.annotations[ModelMissingAnnotation]);
    }
    const events = JSON.parse(await h.k(["get", "events", "-o", "json"])).items as {
      reason: string;
      involvedObject: { name: string; kind: string };
      type: string;
    }[];
    const reported = events.filter((e) => e.reason === "DeviceModelDeleted").map((e) =>
      e.involvedObject.name
    ).sort();
    assertEquals(reported, ["c1", "t1"]);

    // The model comes back: annotation cleared, model re-sent and back in the profile.
    await h.k(["apply", "-f", "-"], currentModel());
    await h.waitSent(
      (m) =>
        res("node/edge-3/default/devicemodel/thermo-model")(m) && m.route.operation === "insert" &&
        h.sent.indexOf(m) > h.sent.indexOf(del),
      "model re-inserted",
    );
    await waitFor(async () => {
      const d = JSON.parse(await h.k(["get", "device", "t1", "-o", "json"]));
      return !d.metadata.annotations?.[ModelMissingAnnotation];
    }, "annotation cleared");
  } finally {
    await h.close();
  }
});

Deno.test("twin storms are coalesced: one PATCH with the last values, one OK per message", async () => {
  const clock = new ManualClock();
  const h = await startHarness({ clock, coalesceWindowMs: 1000 });
  try {
    await h.k(["apply", "-f", "-"], currentModel());
    await h.k(["apply", "-f", "-"], currentDevice("storm", "edge-1"));
    await h.k(["apply", "-f", "-"], currentDevice("calm", "edge-1"));
    await h.waitSent(res("node/edge-1/default/device/calm"), "devices sent");

    const reqs: Message[] = [];
    for (let i = 0; i < 50; i++) {
      // Alternate properties so the batch must keep the last value of each.
      const values: Record<string, string> = i % 2 === 0
        ? { temperature: String(i) }
        : { mode: `m${i}` };
      reqs.push(
        await h.upstream(
          "edge-1",
          "device/default/storm/twin/edge_updated",
          edgeUpdated(values, 1000 + i),
        ),
      );
    }
    const calm = await h.upstream(
      "edge-1",
      "device/default/calm/twin/edge_updated",
      edgeUpdated({ temperature: "7" }),
    );
    await waitFor(() => h.dc.coalescer.pendingMessages === 51, "all messages accepted");
    assertEquals(h.counting.statusPatches.length, 0, "nothing is written inside the window");
    assert(!h.sent.some((m) => m.content === "OK"));

    clock.advance(1000);
    await waitFor(() => h.sent.filter((m) => m.content === "OK").length === 51, "51 OKs");
    const storm = h.counting.statusPatches.filter((p) => p.name === "storm");
    assertEquals(storm.length, 1, "one PATCH for 50 messages");
    assertEquals(h.counting.statusPatches.filter((p) => p.name === "calm").length, 1);
    for (const r of [...reqs, calm]) {
      assert(
        h.sent.some((m) => m.header.parentId === r.header.id && m.content === "OK"),
        "an OK per message",
      );
    }
    const ds = JSON.parse(await h.k(["get", "devicestatus", "storm", "-o", "json"]));
    const byName = Object.fromEntries(
      ds.status.twins.map((
        t: { propertyName: string; reported: { value: string } },
      ) => [t.propertyName, t.reported.value]),
    );
    assertEquals(byName, { temperature: "48", mode: "m49" });
  } finally {
    await h.close();
  }
});

Deno.test("a failed coalesced PATCH is retried; no value is lost and OKs follow the write", async () => {
  const clock = new ManualClock();
  const h = await startHarness({ clock, coalesceWindowMs: 1000 });
  try {
    await h.k(["apply", "-f", "-"], currentModel());
    await h.k(["apply", "-f", "-"], currentDevice("flaky", "edge-1"));
    await h.waitSent(res("node/edge-1/default/device/flaky"), "device sent");
    h.counting.failNext = 1;
    const r1 = await h.upstream(
      "edge-1",
      "device/default/flaky/twin/edge_updated",
      edgeUpdated({ temperature: "1" }),
    );
    await waitFor(() => h.dc.coalescer.pendingMessages === 1, "accepted");
    clock.advance(1000);
    await waitFor(() => h.dc.stats().coalescer.failedFlushes === 1, "first flush failed");
    // A newer value for another property arrives while the retry waits.
    const r2 = await h.upstream(
      "edge-1",
      "device/default/flaky/twin/edge_updated",
      edgeUpdated({ mode: "eco" }),
    );
    await waitFor(() => h.dc.coalescer.pendingMessages === 2, "both pending");
    assert(!h.sent.some((m) => m.content === "OK"), "no OK before the values are stored");
    clock.advance(1000); // retry back-off (200 ms) and the window have passed
    await waitFor(() => h.sent.filter((m) => m.content === "OK").length === 2, "both OKs");
    assert(h.sent.some((m) => m.header.parentId === r1.header.id));
    assert(h.sent.some((m) => m.header.parentId === r2.header.id));
    const ds = JSON.parse(await h.k(["get", "devicestatus", "flaky", "-o", "json"]));
    const byName = Object.fromEntries(
      ds.status.twins.map((
        t: { propertyName: string; reported: { value: string } },
      ) => [t.propertyName, t.reported.value]),
    );
    assertEquals(byName, { temperature: "1", mode: "eco" });
  } finally {
    await h.close();
  }
});

Deno.test("a concurrent desired change is not overwritten by a reported patch (classic)", async () => {
  const clock = new ManualClock();
  const h = await startHarness({ clock, coalesceWindowMs: 1000 });
  try {
    await h.k(["apply", "-f", "-"], classicModel());
    await h.k(["apply", "-f", "-"], classicDevice("c1"));
    await h.k([
      "patch",
      "device.v1alpha2.devices.kubeedge.io",
      "c1",
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { nodeSelector: nodeSelector("edge-1") } }),
    ]);
    await h.waitSent(res("node/edge-1/membership"), "membership");
    const req = await h.upstream(
      "edge-1",
      "device/c1/twin/edge_updated",
      edgeUpdated({ temperature: "5" }),
    );
    await waitFor(() => h.dc.coalescer.pendingMessages === 1, "accepted");
    // The user sets desired while the report waits in the window (the cache may lag).
    await h.k([
      "patch",
      "device.v1alpha2.devices.kubeedge.io",
      "c1",
      "--type=merge",
      "-p",
      JSON.stringify({
        status: { twins: [{ propertyName: "temperature", desired: { value: "99" } }] },
      }),
    ]);
    clock.advance(1000);
    await h.waitSent((m) => m.header.parentId === req.header.id, "OK");
    const dev = JSON.parse(
      await h.k(["get", "device.v1alpha2.devices.kubeedge.io", "c1", "-o", "json"]),
    );
    assertEquals(dev.status.twins[0].desired.value, "99");
    assertEquals(dev.status.twins[0].reported.value, "5");
  } finally {
    await h.close();
  }
});

Deno.test("ackMode accepted: OK at once, values still stored by the coalesced PATCH", async () => {
  const clock = new ManualClock();
  const h = await startHarness({ clock, coalesceWindowMs: 1000, ackMode: "accepted" });
  try {
    await h.k(["apply", "-f", "-"], currentModel());
    await h.k(["apply", "-f", "-"], currentDevice("quick", "edge-1"));
    await h.waitSent(res("node/edge-1/default/device/quick"), "device sent");
    const r = await h.upstream(
      "edge-1",
      "device/default/quick/twin/edge_updated",
      edgeUpdated({ temperature: "3" }),
    );
    await h.waitSent((m) => m.header.parentId === r.header.id && m.content === "OK", "early OK");
    assertEquals(h.counting.statusPatches.length, 0);
    clock.advance(1000);
    await waitFor(() => h.counting.statusPatches.length === 1, "patched");
    await waitFor(async () => {
      const ds = JSON.parse(await h.k(["get", "devicestatus", "quick", "-o", "json"]));
      return ds.status?.twins?.[0]?.reported?.value === "3";
    }, "value stored");
  } finally {
    await h.close();
  }
});

Deno.test("stop() flushes coalesced values still inside their window", async () => {
  const clock = new ManualClock();
  const h = await startHarness({ clock, coalesceWindowMs: 60_000 });
  try {
    await h.k(["apply", "-f", "-"], currentModel());
    await h.k(["apply", "-f", "-"], currentDevice("late-flush", "edge-1"));
    await h.waitSent(res("node/edge-1/default/device/late-flush"), "device sent");
    const r = await h.upstream(
      "edge-1",
      "device/default/late-flush/twin/edge_updated",
      edgeUpdated({ temperature: "11" }),
    );
    await waitFor(() => h.dc.coalescer.pendingMessages === 1, "accepted");
    await h.dc.stop(); // the window (60 s of manual time) never closed
    assertEquals(h.counting.statusPatches.length, 1);
    await h.waitSent((m) => m.header.parentId === r.header.id && m.content === "OK", "OK");
    const ds = JSON.parse(await h.k(["get", "devicestatus", "late-flush", "-o", "json"]));
    assertEquals(ds.status.twins[0].reported.value, "11");
  } finally {
    await h.close();
  }
});
