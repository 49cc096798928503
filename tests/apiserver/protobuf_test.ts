/**
 * Protobuf request bodies. The fixtures are bodies client-go v0.32.13's protobuf serializer wrote,
 * each with the JSON Go's encoding/json writes for the object kube-apiserver decodes from it (see
 * docs/compatibility.md, "Protobuf request bodies"): our decoder must give exactly that JSON.
 */
import { assertEquals, assertThrows } from "../assert.ts";
import { ApiError } from "../../apiserver/errors.ts";
import { decodeK8sProtobuf, goDuration } from "../../apiserver/protobuf.ts";
import { decodeBase64 } from "../../lib/mod.ts";
import { rawRequest, startTestApi } from "./helpers.ts";

interface Fixture {
  name: string;
  protobuf: string;
  json: Record<string, unknown>;
}

const FIXTURES: Fixture[] = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/protobuf_cases.json", import.meta.url)),
);

function fixture(name: string): Uint8Array<ArrayBuffer> {
  const f = FIXTURES.find((c) => c.name === name);
  if (!f) throw new Error(`no fixture ${name}`);
  return decodeBase64(f.protobuf) as Uint8Array<ArrayBuffer>;
}

/** `k8s\0` + Unknown{typeMeta{apiVersion, kind}, raw}. */
function envelope(apiVersion: string, kind: string, raw: number[]): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder();
  const str = (field: number, s: string) => {
    const b = [...enc.encode(s)];
    return [(field << 3) | 2, b.length, ...b];
  };
  const typeMeta = [...str(1, apiVersion), ...str(2, kind)];
  return new Uint8Array([
    0x6b,
    0x38,
    0x73,
    0x00,
    0x0a,
    typeMeta.length,
    ...typeMeta,
    0x12,
    ...varint(raw.length),
    ...raw,
  ]);
}

function varint(n: number): number[] {
  const out = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function codeOf(fn: () => unknown): [number, string] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return [e.code, e.message];
    throw e;
  }
  throw new Error("no error");
}

Deno.test("protobuf: every client-go fixture decodes to the JSON Go writes for it", () => {
  assertEquals(FIXTURES.length >= 20, true);
  for (const f of FIXTURES) {
    assertEquals(decodeK8sProtobuf(decodeBase64(f.protobuf)), f.json, f.name);
  }
});

Deno.test("protobuf: zero values follow Go (pointer zero kept, omitempty zero dropped, struct always)", () => {
  // apps/v1 Deployment{spec{replicas: *0}}: ObjectMeta = 1, spec = 2 {replicas = 1}.
  const dep = decodeK8sProtobuf(envelope("apps/v1", "Deployment", [0x12, 0x02, 0x08, 0x00]));
  assertEquals((dep.spec as Record<string, unknown>).replicas, 0);
  assertEquals(dep.metadata, { creationTimestamp: null });
  // core/v1 ConfigMap with nothing set: no data, no immutable.
  assertEquals(decodeK8sProtobuf(envelope("v1", "ConfigMap", [])), {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { creationTimestamp: null },
  });
});

Deno.test("protobuf: metav1.Duration prints as Go's time.Duration String()", () => {
  assertEquals(goDuration(0n), "0s");
  assertEquals(goDuration(1_500_000_000n), "1.5s");
  assertEquals(goDuration(3_600_000_000_000n + 60_000_000_000n), "1h1m0s");
  assertEquals(goDuration(1500n), "1.5µs");
  assertEquals(goDuration(-2_000_000n), "-2ms");
});

Deno.test("protobuf: malformed bodies are 400 with the reason, never a crash", () => {
  const node = fixture("node");
  const cases: [string, Uint8Array][] = [
    ["no envelope", new TextEncoder().encode("{}")],
    ["truncated", node.subarray(0, node.length - 7)],
    ["length past end", envelope("v1", "ConfigMap", [0x0a, 0x7f, 0x0a])],
    ["wrong wire type", envelope("v1", "ConfigMap", [0x08, 0x01])],
    ["group", envelope("v1", "ConfigMap", [0x0b, 0x0c])],
    ["endless varint", envelope("v1", "ConfigMap", Array(11).fill(0xff))],
  ];
  // An Event whose managedFields[0].fieldsV1.raw is not JSON: metadata = 1 {managedFields = 17
  // {fieldsV1 = 7 {raw = 1 "{"}}}.
  cases.push([
    "bad embedded JSON",
    envelope("v1", "Event", [
      0x0a,
      0x08,
      0x8a,
      0x01,
      0x05,
      0x3a,
      0x03,
      0x0a,
      0x01,
      0x7b,
    ]),
  ]);
  for (const [name, body] of cases) {
    const [code, message] = codeOf(() => decodeK8sProtobuf(body));
    assertEquals(code, 400, `${name}: ${message}`);
  }
});

Deno.test("protobuf: kinds without a protobuf form (custom resources) are 415", () => {
  for (const [gv, kind] of [["devices.kubeedge.io/v1beta1", "Device"], ["v1", "NoSuchKind"]]) {
    const [code, message] = codeOf(() => decodeK8sProtobuf(envelope(gv, kind, [])));
    assertEquals(code, 415, message);
  }
});

Deno.test("protobuf: a small body of empty messages cannot expand into a huge object", () => {
  // NodeList items = 2 {} repeated: each 2-byte entry is a whole Node with its always-written
  // structs (status.nodeInfo's ten strings, daemonEndpoints), about ten JSON values per byte.
  const raw: number[] = [];
  for (let i = 0; i < 20_000; i++) raw.push(0x12, 0x00);
  const [code, message] = codeOf(() => decodeK8sProtobuf(envelope("v1", "NodeList", raw)));
  assertEquals(code, 400, message);
  assertThrows(() => decodeK8sProtobuf(envelope("v1", "NodeList", raw)), ApiError, "too large");
});

Deno.test("protobuf: the embedded API stores a Node cloudcore-style client-go sent as protobuf", async () => {
  const api = await startTestApi();
  try {
    const pb = { "content-type": "application/vnd.kubernetes.protobuf" };
    const created = await rawRequest(api, "POST", "/api/v1/nodes", fixture("node"), pb);
    assertEquals(created.status, 201, JSON.stringify(created.json));
    const want = FIXTURES.find((c) => c.name === "node")!.json;
    const name = (want.metadata as { name: string }).name;
    const got = await rawRequest(api, "GET", `/api/v1/nodes/${name}`);
    assertEquals(got.status, 200);
    assertEquals(
      (got.json.status as Record<string, unknown>).nodeInfo,
      (want.status as Record<string, unknown>).nodeInfo,
    );
    const labels = (got.json.metadata as { labels: unknown }).labels;
    assertEquals(labels, (want.metadata as { labels: unknown }).labels);
    const del = await rawRequest(
      api,
      "DELETE",
      `/api/v1/nodes/${name}`,
      fixture("deleteoptions"),
      pb,
    );
    // The fixture's preconditions name another uid: kube-apiserver's 409, read from the protobuf.
    assertEquals([del.status, del.json.reason], [409, "Conflict"], JSON.stringify(del.json));
    const uid = (got.json.metadata as { uid: string }).uid;
    const opts = { apiVersion: "v1", kind: "DeleteOptions", preconditions: { uid } };
    const ok = await rawRequest(api, "DELETE", `/api/v1/nodes/${name}`, JSON.stringify(opts));
    assertEquals(ok.status, 200, JSON.stringify(ok.json));
    assertEquals((await rawRequest(api, "GET", `/api/v1/nodes/${name}`)).status, 404);
  } finally {
    await api.dispose();
  }
});
