/** Wire JSON of DeviceController messages, byte for byte (docs/protocol.md §8.2–8.5). */
import { assertEquals } from "../../assert.ts";
import { encodeMessage, type MessageEnv } from "../../../modules/mod.ts";
import {
  cloudUpdatedMessage,
  membershipDevice,
  membershipMessage,
  okResponse,
  resourceMessage,
} from "../../../controllers/device/wire.ts";

let n = 0;
const env: MessageEnv = { now: () => 1700000000000, newId: () => `id-${++n}` };

const dev = {
  metadata: { name: "d", namespace: "ns", resourceVersion: "77", labels: { description: "a <b>" } },
  status: {
    twins: [{ propertyName: "t", desired: { value: "1", metadata: { type: "int" } } }, {
      propertyName: "u",
    }],
  },
};

Deno.test("membership: classic with twins, current with ns/name, null lists", () => {
  n = 0;
  const m = membershipMessage("e1", [membershipDevice(dev, true, env.now())], [], env);
  assertEquals(
    encodeMessage(m),
    '{"header":{"msg_id":"id-2","timestamp":1700000000000},"route":{"source":"devicecontroller","group":"twin","operation":"update","resource":"node/e1/membership"},' +
      '"content":{"event_id":"id-1","timestamp":1700000000000,"added_devices":[{"id":"d","name":"d","description":"a \\u003cb\\u003e","twin":{' +
      '"t":{"expected":{"value":"1","metadata":{"timestamp":1700000000000}},"optional":false,"metadata":{"type":"int"},"expected_version":{"cloud":77,"edge":0}},' +
      '"u":{"expected":{"value":"","metadata":{"timestamp":1700000000000}},"optional":false,"metadata":{"type":"string"},"expected_version":{"cloud":77,"edge":0}}}}],' +
      '"removed_devices":null}}',
  );
  const r = membershipMessage("e1", [], [membershipDevice(dev, false, 0)], env);
  assertEquals((r.content as Record<string, unknown>).added_devices, null);
  assertEquals((r.content as Record<string, unknown>).removed_devices, [{
    id: "ns/d",
    name: "d",
    description: "a <b>",
  }]);
});

Deno.test("cloud_updated marks removed twins deleted", () => {
  const old = {
    ...dev,
    status: { twins: [...dev.status.twins, { propertyName: "gone", desired: { value: "9" } }] },
  };
  const m = cloudUpdatedMessage("e1", dev, old, env);
  assertEquals(m.route.resource, "node/e1/device/d/twin/cloud_updated");
  const twin = (m.content as {
    twin: Record<string, { metadata: { type: string }; expected: { value: string } }>;
  }).twin;
  assertEquals(Object.keys(twin), ["t", "u", "gone"]);
  assertEquals(twin.gone.metadata.type, "deleted");
  assertEquals(twin.gone.expected.value, "9");
});

Deno.test("resource messages and the OK response", () => {
  const m = resourceMessage(
    "e1",
    { metadata: { name: "m", namespace: "ns", resourceVersion: "5" } },
    "DeviceModel",
    "insert",
    env,
  );
  assertEquals(m.route, {
    source: "devicecontroller",
    group: "resource",
    operation: "insert",
    resource: "node/e1/ns/devicemodel/m",
  });
  assertEquals(m.header.resourceVersion, "5");
  assertEquals(
    (m.content as { apiVersion: string; kind: string }).apiVersion,
    "devices.kubeedge.io/v1beta1",
  );
  const req = { header: { id: "req-1", timestamp: 1 }, route: {}, content: null };
  const ok = okResponse(req, "e1", env);
  assertEquals(ok.header.parentId, "req-1");
  assertEquals(ok.route, {
    source: "devicecontroller",
    group: "twin",
    operation: "response",
    resource: "node/e1/twin",
  });
  assertEquals(ok.content, "OK");
});
