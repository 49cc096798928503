/** Telling the two Device generations apart, and finding the node. */
import { assertEquals } from "../../assert.ts";
import { deviceApi, deviceNode } from "../../../controllers/device/types.ts";

Deno.test("deviceApi / deviceNode", () => {
  const sel = {
    nodeSelectorTerms: [{ matchExpressions: [{ key: "", values: ["edge-9", "x"] }] }],
  };
  assertEquals(deviceApi({ spec: { nodeName: "e" } }), "v1beta1");
  assertEquals(deviceApi({ spec: { nodeSelector: sel } }), "v1alpha2");
  assertEquals(deviceApi({ spec: { protocol: { modbus: {} } } }), "v1alpha2");
  assertEquals(deviceApi({ spec: { protocol: { protocolName: "modbus" } } }), "v1beta1");
  assertEquals(deviceApi({ apiVersion: "devices.kubeedge.io/v1alpha2", spec: {} }), "v1alpha2");
  assertEquals(deviceNode({ spec: { nodeSelector: sel } }), "edge-9");
  assertEquals(deviceNode({ spec: { nodeName: "e" } }), "e");
  assertEquals(deviceNode({ spec: { nodeSelector: { nodeSelectorTerms: [] } } }), "");
  assertEquals(deviceNode({}), "");
});
