/**
 * Fuzzing the embedded API's JSON bodies and selectors over HTTPS (issue #17): deep nesting,
 * prototype keys (`__proto__`, `constructor`, `toString`, `hasOwnProperty`, `valueOf`) in
 * labels/annotations/data/selectors, and wrongly typed values at the fields of ConfigMaps,
 * Secrets and Nodes. Every property: no 5xx, no hang (each request has a deadline), and a normal
 * request works afterwards.
 */
import fc from "fast-check";
import { assert, assertEquals } from "../assert.ts";
import { MAX_DEPTH } from "../../apiserver/depth.ts";
import { startTestApi, type TestApi } from "../apiserver/helpers.ts";
import { fuzzRuns } from "./runs.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const CM = "/api/v1/namespaces/default/configmaps";
const SECRETS = "/api/v1/namespaces/default/secrets";
const NODES = "/api/v1/nodes";
const DEVICES = "/apis/devices.kubeedge.io/v1beta1/namespaces/default/devices";
const PROTO_KEYS = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"];
const PATCH_TYPES = [
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
] as const;
/** Longest a single request may take before the property fails as a hang. */
const DEADLINE_MS = 15_000;

/** One API and one HTTP client for a whole property. */
interface Conn {
  api: TestApi;
  call(
    method: string,
    path: string,
    body?: string,
    contentType?: string,
  ): Promise<{ status: number; json: Json }>;
}

async function withConn(fn: (c: Conn) => Promise<void>): Promise<void> {
  const api = await startTestApi();
  const client = Deno.createHttpClient({ caCerts: [api.caPem] });
  const call: Conn["call"] = async (method, path, body, contentType = "application/json") => {
    const res = await fetch(`${api.url}${path}`, {
      method,
      body,
      headers: { authorization: `Bearer ${api.token}`, "content-type": contentType },
      client,
      signal: AbortSignal.timeout(DEADLINE_MS),
    });
    const text = await res.text();
    let json: Json;
    try {
      json = JSON.parse(text);
    } catch {
      json = { raw: text };
    }
    if (res.status >= 500) {
      throw new Error(`${method} ${path} → ${res.status}: ${text.slice(0, 300)}`);
    }
    return { status: res.status, json };
  };
  try {
    await fn({ api, call });
    // Afterwards a normal request still works.
    const name = `after-${crypto.randomUUID().slice(0, 8)}`;
    const c = await call("POST", CM, JSON.stringify({ metadata: { name }, data: { k: "v" } }));
    assertEquals(c.status, 201, JSON.stringify(c.json));
    const g = await call("GET", `${CM}/${name}`);
    assertEquals(g.json.data, { k: "v" });
  } finally {
    client.close();
    await api.dispose();
  }
}

/** The deepest nesting of arrays and objects in JSON text (as apiserver/depth.ts counts). */
function textDepth(text: string): number {
  let depth = 0, max = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "[" || ch === "{") max = Math.max(max, ++depth);
    else if (ch === "]" || ch === "}") depth--;
  }
  return max;
}

/** `n` levels of nesting, arrays or objects (`{"k":…}`) as `seed`'s bits say, around a leaf. */
function nested(n: number, seed: number): string {
  const open: string[] = [], close: string[] = [];
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >>> 17, x ^= x << 5; // xorshift32
    const obj = (x & 1) === 1;
    open.push(obj ? '{"k":' : "[");
    close.push(obj ? "}" : "]");
  }
  return `${open.join("")}"leaf"${close.reverse().join("")}`;
}

const depthArb = fc.oneof(
  fc.integer({ min: 0, max: MAX_DEPTH + 8 }),
  fc.integer({ min: MAX_DEPTH - 4, max: MAX_DEPTH + 4 }),
  fc.constantFrom(1_000, 5_000, 20_000, 100_000),
);

Deno.test("fuzz: deep nesting in bodies and patches is a 400 past MAX_DEPTH, never a 5xx", async () => {
  await withConn(async ({ call }) => {
    await call("POST", CM, JSON.stringify({ metadata: { name: "target" } }));
    await call("POST", DEVICES, JSON.stringify({ metadata: { name: "target" } }));
    let made = 0;
    await fc.assert(
      fc.asyncProperty(
        depthArb,
        fc.integer(),
        fc.constantFrom("create", "merge", "strategic", "jsonpatch", "yaml"),
        fc.constantFrom(CM, DEVICES),
        async (depth, seed, how, path) => {
          const inner = nested(depth, seed);
          const name = `d${made++}`;
          let method = "POST", url: string = path, body: string, type = "application/json";
          if (how === "create" || how === "yaml") {
            body = `{"metadata":{"name":"${name}"},"spec":{"x":${inner}},"data":{"a":${inner}}}`;
            if (how === "yaml") type = "application/yaml"; // JSON is YAML's flow style
          } else if (how === "jsonpatch") {
            method = "PATCH";
            url = `${path}/target`;
            type = "application/json-patch+json";
            body = `[{"op":"add","path":"/spec","value":{"x":${inner}}}]`;
          } else {
            method = "PATCH";
            url = `${path}/target`;
            type = PATCH_TYPES[how === "merge" ? 0 : 1];
            body = `{"spec":{"x":${inner}}}`;
          }
          const r = await call(method, url, body, type);
          if (textDepth(body) > MAX_DEPTH) {
            assertEquals(r.status, 400, `depth ${textDepth(body)} ${how}: ${r.json.message}`);
            assertEquals(r.json.reason, "BadRequest");
          } else {
            assert(r.status < 500);
          }
        },
      ),
      { numRuns: Math.min(fuzzRuns(), 300) },
    );
    // The deep-but-allowed custom resource reads back.
    const got = await call("GET", `${DEVICES}/target`);
    assertEquals(got.status, 200);
  });
});

const labelKey = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
const protoKey = fc.constantFrom(...PROTO_KEYS);
const anyKey = fc.oneof(protoKey, labelKey, fc.string({ maxLength: 12 }));
const smallMap = (values: fc.Arbitrary<unknown>) =>
  fc.array(fc.tuple(anyKey, values), { maxLength: 5 }).map((entries) => {
    // JSON text, so "__proto__" stays a key (an object literal would make it the prototype).
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`;
  });

Deno.test("fuzz: prototype keys in labels, annotations, data and selectors", async () => {
  await withConn(async ({ call }) => {
    await call("POST", CM, JSON.stringify({ metadata: { name: "base" } }));
    let n = 0;
    const seenLabels = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        smallMap(fc.oneof(fc.string({ maxLength: 8 }), labelKey)),
        smallMap(fc.string({ maxLength: 8 })),
        smallMap(fc.string({ maxLength: 8 })),
        fc.constantFrom("POST", ...PATCH_TYPES),
        async (labels, annotations, data, how) => {
          const name = `p${n++}`;
          const body =
            `{"metadata":{"name":"${name}","labels":${labels},"annotations":${annotations}},"data":${data}}`;
          const r = how === "POST" ? await call("POST", CM, body) : await call(
            "PATCH",
            `${CM}/base`,
            `{"metadata":{"labels":${labels},"annotations":${annotations}},"data":${data}}`,
            how,
          );
          if (r.status === 201 || r.status === 200) {
            // What was stored is exactly what was sent, as own keys; no prototype was touched.
            const sent = JSON.parse(data);
            const stored = r.json.data ?? {};
            for (const k of Object.keys(sent)) {
              assert(Object.hasOwn(stored, k), `data key ${k} lost`);
              assertEquals(stored[k], sent[k]);
            }
            for (const k of Object.keys(r.json.metadata.labels ?? {})) seenLabels.add(k);
          }
          assertEquals(({} as Json).k, undefined);
          assertEquals(Object.getPrototypeOf({}), Object.prototype);
        },
      ),
      { numRuns: fuzzRuns() },
    );
    // Selectors on keys no object has match nothing; prototype names included.
    const list = await call("GET", CM);
    for (const o of list.json.items as Json[]) {
      for (const k of Object.keys(o.metadata.labels ?? {})) seenLabels.add(k);
    }
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(protoKey, labelKey.map((k) => `nokey-${k}`)),
        fc.constantFrom("", "=x", "==x", " in (x,y)", ">0", "<9"),
        async (key, op) => {
          if (seenLabels.has(key)) return;
          const sel = encodeURIComponent(`${key}${op}`);
          const r = await call("GET", `${CM}?labelSelector=${sel}`);
          if (key === "__proto__") return assertEquals(r.status, 400); // not a label key
          assertEquals(r.status, 200, `${key}${op}: ${r.json.message}`);
          assertEquals(r.json.items, [], `${key}${op}`);
          const f = await call(
            "GET",
            `${CM}?fieldSelector=${encodeURIComponent(`metadata.labels.${key}=x`)}`,
          );
          assertEquals(f.json.items, [], `field ${key}`);
        },
      ),
      { numRuns: fuzzRuns() },
    );
  });
});

/** Expected JSON types of fields (dotted paths; `a.k` is key k of map a). */
type FieldType = "object" | "string" | "integer" | "boolean" | "array";

const FIELDS: Record<string, [string, Json, [string, FieldType, string][]]> = {
  configmap: [CM, { metadata: { name: "x" }, data: { k: "v" } }, [
    ["metadata.name", "string", "metadata.name"],
    ["metadata.labels", "object", "metadata.labels"],
    ["metadata.labels.k", "string", "metadata.labels[k]"],
    ["metadata.annotations", "object", "metadata.annotations"],
    ["metadata.annotations.k", "string", "metadata.annotations[k]"],
    ["metadata.finalizers", "array", "metadata.finalizers"],
    ["metadata.ownerReferences", "array", "metadata.ownerReferences"],
    ["metadata.generation", "integer", "metadata.generation"],
    ["data", "object", "data"],
    ["data.k", "string", "data[k]"],
    ["binaryData", "object", "binaryData"],
    ["immutable", "boolean", "immutable"],
  ]],
  secret: [SECRETS, { metadata: { name: "x" }, data: { k: "dg==" } }, [
    ["metadata.labels", "object", "metadata.labels"],
    ["data", "object", "data"],
    ["data.k", "string", "data[k]"],
    ["stringData", "object", "stringData"],
    ["stringData.k", "string", "stringData[k]"],
    ["type", "string", "type"],
    ["immutable", "boolean", "immutable"],
  ]],
  node: [NODES, { metadata: { name: "x" }, spec: {}, status: {} }, [
    ["metadata.annotations", "object", "metadata.annotations"],
    ["spec", "object", "spec"],
    ["spec.unschedulable", "boolean", "spec.unschedulable"],
    ["spec.podCIDR", "string", "spec.podCIDR"],
    ["spec.taints", "array", "spec.taints"],
    ["status", "object", "status"],
    ["status.capacity", "object", "status.capacity"],
    ["status.conditions", "array", "status.conditions"],
    ["status.addresses", "array", "status.addresses"],
    ["status.nodeInfo", "object", "status.nodeInfo"],
    ["status.nodeInfo.kubeletVersion", "string", "status.nodeInfo.kubeletVersion"],
    ["status.images", "array", "status.images"],
  ]],
};

/** A JSON value that is not of type `t` (and not null: null means "absent" for a field). */
function wrongValue(t: FieldType): fc.Arbitrary<unknown> {
  // No "$" keys: a strategic merge patch would read them as directives.
  const key = fc.string({ maxLength: 5 }).filter((k) => !k.startsWith("$"));
  const all: Record<FieldType, fc.Arbitrary<unknown>> = {
    object: fc.dictionary(key, fc.string({ maxLength: 5 }), { maxKeys: 3 }),
    string: fc.string({ maxLength: 10 }),
    integer: fc.integer(),
    boolean: fc.boolean(),
    array: fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.boolean()), {
      maxLength: 3,
    }),
  };
  const others = (Object.keys(all) as FieldType[]).filter((k) => k !== t).map((k) => all[k]);
  if (t === "integer") {
    others.push(
      fc.double({ noNaN: true, noDefaultInfinity: true, min: 0.1, max: 1e6 }).filter((d) =>
        !Number.isInteger(d)
      ),
    );
  }
  return fc.oneof(...others).filter((v) =>
    !(t === "object" && v !== null && typeof v === "object" && !Array.isArray(v))
  );
}

function setPath(o: Json, path: string, v: unknown): void {
  const parts = path.split(".");
  let cur = o;
  for (const p of parts.slice(0, -1)) {
    if (cur[p] === null || typeof cur[p] !== "object" || Array.isArray(cur[p])) cur[p] = {};
    cur = cur[p];
  }
  cur[parts[parts.length - 1]] = v;
}

Deno.test("fuzz: a wrong type at any field of a ConfigMap, Secret or Node is a 422 naming it", async () => {
  await withConn(async ({ call }) => {
    for (const [path, base] of Object.values(FIELDS)) {
      const r = await call("POST", path, JSON.stringify(base));
      assertEquals(r.status, 201, JSON.stringify(r.json));
    }
    const cases = fc.constantFrom(...Object.values(FIELDS)).chain(([path, base, fields]) =>
      fc.constantFrom(...fields).chain(([field, type, cause]) =>
        fc.tuple(
          fc.constant({ path, base, field, cause }),
          wrongValue(type),
          fc.constantFrom("POST", "PUT", "jsonpatch", ...PATCH_TYPES),
        )
      )
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(cases, async ([{ path, base, field, cause }, value, how]) => {
        const obj = structuredClone(base);
        if (how === "POST") obj.metadata.name = `w${n++}`;
        setPath(obj, field, value);
        let r;
        if (how === "POST") r = await call("POST", path, JSON.stringify(obj));
        else if (how === "PUT") r = await call("PUT", `${path}/x`, JSON.stringify(obj));
        else if (how === "jsonpatch") {
          const top = field.split(".")[0];
          r = await call(
            "PATCH",
            `${path}/x`,
            JSON.stringify([{ op: "add", path: `/${top}`, value: obj[top] }]),
            "application/json-patch+json",
          );
        } else {
          const patch: Json = {};
          setPath(patch, field, value);
          r = await call("PATCH", `${path}/x`, JSON.stringify(patch), how);
        }
        const where = `${how} ${path} ${field}=${JSON.stringify(value)}`;
        if (field === "metadata.name" && how !== "POST") {
          // A name that differs from the URL may be refused as a mismatch first.
          assert(r.status === 422 || r.status === 400, `${where}: ${r.status}`);
          return;
        }
        assertEquals(r.status, 422, `${where}: ${JSON.stringify(r.json)}`);
        assertEquals(r.json.reason, "Invalid");
        const fields = (r.json.details?.causes ?? []).map((c: Json) => c.field);
        assert(fields.includes(cause), `${where}: causes ${JSON.stringify(fields)}`);
      }),
      { numRuns: fuzzRuns() },
    );
    // The originals are untouched and still decode.
    const cm = await call("GET", `${CM}/x`);
    assertEquals(cm.json.data, { k: "v" });
    const node = await call("GET", `${NODES}/x`);
    assertEquals(node.status, 200);
  });
});
