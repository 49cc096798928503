/** Profile JSON shapes (docs/protocol.md §8.5) for cases the walk-through does not cover. */
import { assertEquals } from "../../assert.ts";
import { buildProfile, profileConfigMapName } from "../../../controllers/device/mod.ts";
import { goJsonStringify } from "../../../modules/mod.ts";

Deno.test("profile: name, empty input, device without protocol or model", () => {
  assertEquals(profileConfigMapName("edge-1"), "device-profile-config-edge-1");
  assertEquals(buildProfile([], () => undefined), null);
  const p = buildProfile([{ metadata: { name: "bare", namespace: "default" } }], () => undefined);
  // Go appends a protocol entry even when none matched: both configs null, names omitted.
  assertEquals(
    goJsonStringify(p),
    '{"deviceInstances":[{"id":"bare","name":"bare"}],"protocols":[{"protocolConfig":null,"protocolCommonConfig":null}]}',
  );
});

Deno.test("profile: each model once, data block, customized protocol, v1beta1-shaped model", () => {
  const dev = (name: string) => ({
    metadata: { name },
    spec: {
      deviceModelRef: { name: "m" },
      protocol: { customizedProtocol: { protocolName: "x", configData: { a: 1 } } },
      data: { dataProperties: [{ propertyName: "t", metadata: { k: "v" } }], dataTopic: "$ke/x" },
      propertyVisitors: [{
        propertyName: "t",
        collectCycle: 5,
        customizedProtocol: { protocolName: "x" },
        customizedValues: { z: 1 },
      }],
    },
  });
  const model = {
    metadata: { name: "m" },
    spec: {
      properties: [
        { name: "t", type: "FLOAT", accessMode: "ReadOnly", minimum: 1, maximum: 9, unit: "c" },
        { name: "s", type: "STRING", accessMode: "ReadWrite" },
        { name: "b", type: { bytes: { accessMode: "ReadOnly" } } },
      ],
    },
  };
  const p = buildProfile([dev("a"), dev("b")], (n) => n === "m" ? model : undefined) as Record<
    string,
    unknown[]
  >;
  assertEquals(p.deviceModels, [{
    name: "m",
    properties: [
      {
        name: "t",
        dataType: "float",
        accessMode: "ReadOnly",
        defaultValue: 0,
        minimum: 1,
        maximum: 9,
        unit: "c",
      },
      { name: "s", dataType: "string", accessMode: "ReadWrite", defaultValue: "" },
      { name: "b", dataType: "bytes", accessMode: "ReadOnly" },
    ],
  }]);
  assertEquals(p.deviceInstances[0], {
    id: "a",
    name: "a",
    protocol: "customized-protocol-a",
    model: "m",
    data: { dataProperties: [{ propertyName: "t", metadata: { k: "v" } }], dataTopic: "$ke/x" },
    propertyVisitors: [{
      name: "t",
      propertyName: "t",
      modelName: "m",
      protocol: "customized-protocol",
      collectCycle: 5,
      customizedValues: { z: 1 },
      visitorConfig: { protocolName: "x" },
    }],
  });
  assertEquals(p.protocols[1], {
    name: "customized-protocol-b",
    protocol: "customized-protocol",
    protocolConfig: { protocolName: "x", configData: { a: 1 } },
    protocolCommonConfig: null,
  });
});
