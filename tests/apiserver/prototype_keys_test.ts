/**
 * Prototype keys (issue #17 item 5): `constructor`, `toString`, `hasOwnProperty`, `valueOf` and
 * `__proto__` are plain keys in label/annotation/data maps and selectors; they never match
 * through Object.prototype, and `__proto__` in a body or patch never changes a prototype.
 */
import { assertEquals } from "../assert.ts";
import { parseFieldSelector, parseLabelSelector } from "../../apiserver/selectors.ts";
import { mergePatch, strategicMergePatch } from "../../apiserver/patch.ts";
import { rawRequest, startTestApi, type TestApi } from "./helpers.ts";

const CM = "/api/v1/namespaces/default/configmaps";
const PROTO_KEYS = ["constructor", "toString", "hasOwnProperty", "valueOf", "isPrototypeOf"];
const MERGE = { "content-type": "application/merge-patch+json" };
const SMP = { "content-type": "application/strategic-merge-patch+json" };

// deno-lint-ignore no-explicit-any
type Json = any;

function names(res: { json: Record<string, unknown> }): string[] {
  return ((res.json.items ?? []) as Json[]).map((i) => i.metadata.name).sort();
}

async function withApi(fn: (api: TestApi) => Promise<void>): Promise<void> {
  const api = await startTestApi();
  try {
    await fn(api);
  } finally {
    await api.dispose();
  }
}

Deno.test("label selectors: prototype keys match only objects that carry them", () => {
  const o = { metadata: { name: "n", labels: { app: "web" } } };
  for (const k of PROTO_KEYS) {
    assertEquals(parseLabelSelector(k)(o), false, k);
    assertEquals(parseLabelSelector(`${k}=x`)(o), false, `${k}=x`);
    assertEquals(parseLabelSelector(`${k} in (x)`)(o), false, `${k} in`);
    assertEquals(parseLabelSelector(`${k}>0`)(o), false, `${k}>0`);
    assertEquals(parseLabelSelector(`!${k}`)(o), true, `!${k}`);
    assertEquals(parseLabelSelector(`${k} notin (x)`)(o), true, `${k} notin`);
    const has = { metadata: { name: "n", labels: { [k]: "x" } } };
    assertEquals(parseLabelSelector(k)(has), true, `has ${k}`);
    assertEquals(parseLabelSelector(`${k}=x`)(has), true, `has ${k}=x`);
  }
});

Deno.test("field selectors: prototype path segments are absent fields", () => {
  const o = { metadata: { name: "n", labels: { app: "web" } }, data: { a: "1" } };
  for (const k of PROTO_KEYS) {
    assertEquals(parseFieldSelector(`metadata.labels.${k}!=`)(o), false, k);
    assertEquals(parseFieldSelector(`data.${k}=`)(o), true, k);
    assertEquals(parseFieldSelector(`${k}!=`)(o), false, k);
  }
});

/**
 * Runs `fn` with the standard `Object.prototype.__proto__` accessor (Node, browsers,
 * `deno --unsafe-proto`), which Deno removes by default: the code must be safe either way.
 */
function withProtoAccessor(fn: () => void): void {
  const restore = installProtoAccessor();
  try {
    fn();
  } finally {
    restore();
  }
}

/** Installs the standard `__proto__` accessor; returns the function that removes it again. */
function installProtoAccessor(): () => void {
  const had = Object.getOwnPropertyDescriptor(Object.prototype, "__proto__");
  Object.defineProperty(Object.prototype, "__proto__", {
    configurable: true,
    get(this: object) {
      return Object.getPrototypeOf(this);
    },
    set(this: object, v: unknown) {
      if (typeof v === "object") Object.setPrototypeOf(this, v);
    },
  });
  return () => {
    if (had) Object.defineProperty(Object.prototype, "__proto__", had);
    else delete (Object.prototype as Json).__proto__;
  };
}

Deno.test("merge and strategic merge patches: __proto__ is an own key, never a prototype", () => {
  withProtoAccessor(protoPatches);
  protoPatches();
});

function protoPatches(): void {
  const patch = JSON.parse('{"metadata":{"labels":{"__proto__":{"x":"y"}}}}');
  for (
    const out of [
      mergePatch({ metadata: { labels: { a: "b" } } }, patch),
      strategicMergePatch({ metadata: { labels: { a: "b" } } }, patch, { builtinKeys: true }),
    ] as Json[]
  ) {
    const labels = out.metadata.labels;
    assertEquals(Object.getPrototypeOf(labels), Object.prototype);
    assertEquals("x" in labels, false);
    assertEquals(Object.hasOwn(labels, "__proto__"), true);
    assertEquals(JSON.parse(JSON.stringify(out)).metadata.labels.__proto__, { x: "y" });
  }
  // A scalar under __proto__ (a legal ConfigMap data key) is kept, not silently dropped.
  const data = mergePatch({ data: { a: "1" } }, JSON.parse('{"data":{"__proto__":"v"}}')) as Json;
  assertEquals(JSON.stringify(data), '{"data":{"a":"1","__proto__":"v"}}');
  const smp = strategicMergePatch(
    { a: [1] },
    JSON.parse('{"__proto__":{"x":"y"},"b":{"__proto__":"v"}}'),
    {
      builtinKeys: true,
    },
  ) as Json;
  assertEquals(Object.getPrototypeOf(smp), Object.prototype);
  assertEquals(JSON.stringify(smp), '{"a":[1],"__proto__":{"x":"y"},"b":{"__proto__":"v"}}');
  assertEquals(({} as Json).x, undefined);
}

Deno.test("API: -l constructor / toString / hasOwnProperty / valueOf match nothing", async () => {
  await withApi(async (api) => {
    for (const name of ["a", "b"]) {
      const r = await rawRequest(
        api,
        "POST",
        CM,
        JSON.stringify({ metadata: { name, labels: { app: name } }, data: { k: "v" } }),
      );
      assertEquals(r.status, 201);
    }
    for (const k of PROTO_KEYS) {
      for (const sel of [k, `${k} in (x)`, `${k}>0`]) {
        const r = await rawRequest(api, "GET", `${CM}?labelSelector=${encodeURIComponent(sel)}`);
        assertEquals(r.status, 200, sel);
        assertEquals(names(r), [], sel);
      }
      const f = await rawRequest(
        api,
        "GET",
        `${CM}?fieldSelector=${encodeURIComponent(`metadata.labels.${k}!=`)}`,
      );
      assertEquals(names(f), [], `field ${k}`);
    }
    // An object that really has such a label is found.
    const c = await rawRequest(
      api,
      "POST",
      CM,
      JSON.stringify({ metadata: { name: "c", labels: { constructor: "yes" } } }),
    );
    assertEquals(c.status, 201);
    const r = await rawRequest(api, "GET", `${CM}?labelSelector=constructor`);
    assertEquals(names(r), ["c"]);
  });
});

Deno.test("API: __proto__ in bodies and patches changes no prototype and hides nothing", async () => {
  await withApi(protoBodies);
  // Again with the standard __proto__ accessor, as a runtime other than default Deno has it.
  const restore = installProtoAccessor();
  try {
    await withApi(protoBodies);
  } finally {
    restore();
  }
});

async function protoBodies(api: TestApi): Promise<void> {
  {
    const base = await rawRequest(
      api,
      "POST",
      CM,
      JSON.stringify({ metadata: { name: "p", labels: { app: "p" } }, data: { k: "v" } }),
    );
    assertEquals(base.status, 201);
    // Create with a __proto__ label map entry: not a string → 422, nothing stored.
    const bad = await rawRequest(
      api,
      "POST",
      CM,
      '{"metadata":{"name":"q","labels":{"__proto__":{"x":"y"}}}}',
    );
    assertEquals(bad.status, 422);
    // Merge / strategic merge patch with __proto__ under labels: refused, label not hidden.
    for (const headers of [MERGE, SMP]) {
      const r = await rawRequest(
        api,
        "PATCH",
        `${CM}/p`,
        '{"metadata":{"labels":{"__proto__":{"x":"y"}}}}',
        headers,
      );
      assertEquals(r.status, 422, JSON.stringify(r.json));
      assertEquals(r.json.reason, "Invalid");
    }
    const sel = await rawRequest(api, "GET", `${CM}?labelSelector=x%3Dy`);
    assertEquals(names(sel), []);
    // Top-level __proto__ in a create body: its content is not inherited by the object.
    const top = await rawRequest(
      api,
      "POST",
      CM,
      '{"metadata":{"name":"top"},"__proto__":{"data":{"hidden":"1"},"metadata":{"labels":{"h":"1"}}}}',
    );
    assertEquals(top.status, 201, JSON.stringify(top.json));
    const hidden = await rawRequest(api, "GET", `${CM}?fieldSelector=data.hidden%3D1`);
    assertEquals(names(hidden), []);
    // Top-level __proto__ in a merge patch: same.
    const tp = await rawRequest(
      api,
      "PATCH",
      `${CM}/p`,
      '{"__proto__":{"data":{"hidden":"1"}}}',
      MERGE,
    );
    assertEquals(tp.status < 500, true, JSON.stringify(tp.json));
    const hidden2 = await rawRequest(api, "GET", `${CM}?fieldSelector=data.hidden%3D1`);
    assertEquals(names(hidden2), []);
    // __proto__ as a ConfigMap data key is legal and kept as data.
    const dk = await rawRequest(api, "PATCH", `${CM}/p`, '{"data":{"__proto__":"z"}}', MERGE);
    assertEquals(dk.status, 200, JSON.stringify(dk.json));
    const got = await rawRequest(api, "GET", `${CM}/p`);
    assertEquals(Object.hasOwn(got.json.data as object, "__proto__"), true);
    assertEquals((got.json.data as Json)["__proto__"], "z");
    assertEquals(({} as Json).x, undefined);
    assertEquals(({} as Json).hidden, undefined);
  }
}
