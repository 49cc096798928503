/**
 * Worker side of dos_test.ts: denial-of-service scenarios against the embedded API and its store,
 * run in a Worker so that one that wedges the event loop is stopped by the test's deadline (see
 * worker_guard.ts). Each scenario gets a temp dir from the test, which removes it.
 */
import { MAX_DEPTH } from "../../apiserver/depth.ts";
import { ApiError } from "../../apiserver/errors.ts";
import type { KObject } from "../../apiserver/resources.ts";
import { type MutationOutcome, Store } from "../../apiserver/store.ts";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { rawRequest, startTestApi, type TestApi } from "./helpers.ts";

const CM = "/api/v1/namespaces/default/configmaps";
const CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const DEEPS = "/apis/example.com/v1/namespaces/default/deeps";
const YAML = { "content-type": "application/yaml" };
const TOO_DEEP = `nests deeper than ${MAX_DEPTH} levels`;

/** `n` arrays deep around `inner`, as JSON text. */
const arrays = (n: number, inner = "") => `${"[".repeat(n)}${inner}${"]".repeat(n)}`;

/** `{"k":{"k":…1…}}`, `n` objects deep. */
function objects(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = { k: v };
  return v;
}

/** Asserts a 400 BadRequest naming the depth limit. */
function assertTooDeep(r: { status: number; json: Record<string, unknown> }, what: string): void {
  assertEquals(
    [r.status, r.json.reason],
    [400, "BadRequest"],
    `${what}: ${JSON.stringify(r.json)}`,
  );
  assertStringIncludes(String(r.json.message), TOO_DEEP, what);
}

/** Creates ConfigMap `name` and reads it back: the API and its store still serve. */
async function assertServing(api: TestApi, name: string): Promise<void> {
  const c = await rawRequest(
    api,
    "POST",
    CM,
    JSON.stringify({ metadata: { name }, data: { a: "1" } }),
  );
  assertEquals(c.status, 201, `create ${name} after the attack: ${JSON.stringify(c.json)}`);
  const g = await rawRequest(api, "GET", `${CM}/${name}`);
  assertEquals(g.status, 200);
}

async function withApi(dir: string, fn: (api: TestApi) => Promise<void>): Promise<void> {
  const api = await startTestApi({ dir });
  try {
    await fn(api);
  } finally {
    await api.close();
  }
}

/** A CRD whose custom resources keep any fields (`x-kubernetes-preserve-unknown-fields`). */
async function createDeepCrd(api: TestApi): Promise<void> {
  const crd = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "deeps.example.com" },
    spec: {
      group: "example.com",
      scope: "Namespaced",
      names: { plural: "deeps", singular: "deep", kind: "Deep" },
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        },
      }],
    },
  };
  const r = await rawRequest(api, "POST", CRDS, JSON.stringify(crd));
  assertEquals(r.status, 201, JSON.stringify(r.json));
  for (let i = 0; i < 200; i++) {
    if ((await rawRequest(api, "GET", DEEPS)).status === 200) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("deeps.example.com not served");
}

const scenarios: Record<string, (dir: string) => Promise<void>> = {
  /** Issue #17: a 16 KB ConfigMap nested 8,000 arrays deep used to hang every listener. */
  async deepConfigMap(dir) {
    await withApi(dir, async (api) => {
      const body = `{"metadata":{"name":"deep"},"data":{"a":${arrays(8000)}}}`;
      assert(body.length < 17_000);
      const t0 = performance.now();
      assertTooDeep(await rawRequest(api, "POST", CM, body), "8000-deep ConfigMap");
      assert(performance.now() - t0 < 5000, "the refusal took too long");
      assertEquals((await rawRequest(api, "GET", `${CM}/deep`)).status, 404);
      // The same through PUT, and once more: nothing is left queued.
      const put = await rawRequest(api, "PUT", `${CM}/deep`, body);
      assertTooDeep(put, "8000-deep PUT");
      // Protobuf bodies follow a fixed schema; nested unknown groups are skipped recursively by
      // protobufjs, and its overflow is a 400 too.
      const n = 1 << 20;
      const groups = new Uint8Array(4 + 2 * n).fill(0x1b, 4, 4 + n).fill(0x1c, 4 + n);
      groups.set([0x6b, 0x38, 0x73, 0x00]);
      const pb = { "content-type": "application/vnd.kubernetes.protobuf" };
      const proto = await rawRequest(api, "POST", CM, groups, pb);
      assertEquals(
        [proto.status, proto.json.reason],
        [400, "BadRequest"],
        JSON.stringify(proto.json),
      );
      await assertServing(api, "after");
      await assertServing(api, "after2");
    });
  },

  /** The same attack where no field type stops it: a custom resource that keeps any field. */
  async deepCustomResource(dir) {
    await withApi(dir, async (api) => {
      await createDeepCrd(api);
      const body = `{"apiVersion":"example.com/v1","kind":"Deep","metadata":{"name":"deep"},` +
        `"spec":{"a":${arrays(8000)}}}`;
      const t0 = performance.now();
      assertTooDeep(await rawRequest(api, "POST", DEEPS, body), "8000-deep custom resource");
      assert(performance.now() - t0 < 5000, "the refusal took too long");
      await assertServing(api, "after");
    });
  },

  /** The store alone: writes it cannot serialize fail alone; the queue keeps moving. */
  async storeUnserializable(dir) {
    const store = await Store.open({ path: `${dir}/store.kv` });
    try {
      const put = (name: string, extra: Record<string, unknown> = {}) =>
        store.mutate("configmaps", "default", name, () => {
          // Dictionary-mode objects, like those the REST layer builds, take JSON.stringify's
          // recursive path: 8,000 levels overflow V8's stack there.
          const obj: Record<string, unknown> = { drop: 1 };
          delete obj.drop;
          obj.metadata = { name };
          Object.assign(obj, extra);
          return { kind: "put", obj: obj as KObject };
        });
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      const results = await Promise.allSettled([
        put("a"),
        put("deep", { data: { a: JSON.parse(arrays(8000)) } }),
        put("cycle", { data: cycle }),
        put("bigint", { data: { n: 1n } }),
        put("tojson", { data: { toJSON: () => JSON.parse("!") } }),
        put("b"),
      ]);
      const [a, ...rest] = results;
      const b = rest.pop()!;
      assertEquals(a.status, "fulfilled");
      assertEquals(b.status, "fulfilled");
      const rvA = (a as PromiseFulfilledResult<MutationOutcome>).value.object!.rv;
      const rvB = (b as PromiseFulfilledResult<MutationOutcome>).value.object!.rv;
      assertEquals(rvB, rvA + 1, "failed writes take no resourceVersion");
      for (const r of rest) {
        assertEquals(r.status, "rejected");
        const e = (r as PromiseRejectedResult).reason;
        assert(e instanceof ApiError, `not an ApiError: ${e}`);
        assertEquals(e.code, 500);
      }
      for (const name of ["deep", "cycle", "bigint", "tojson"]) {
        assertEquals(store.get("configmaps", "default", name), undefined);
      }
      assertEquals((await put("c")).object!.rv, rvB + 1);
      assertEquals(store.resourceVersion, rvB + 1);
    } finally {
      await store.close();
    }
  },

  /** YAML: deep flow and block nesting, and aliases that nest deeper than the text or loop. */
  async yamlBodies(dir) {
    await withApi(dir, async (api) => {
      const head = "metadata:\n  name: y\ndata:\n  a: ";
      for (
        const [what, text] of [
          ["flow", head + arrays(8000)],
          ["block", head + "\n" + "  ".repeat(2) + "- ".repeat(8000) + "x\n"],
          // An alias to the map it sits in: a cycle (JSON.stringify throws on it in the store).
          ["cycle", "metadata:\n  name: y\ndata: &d\n  a: *d\n"],
          // Each anchor wraps the previous one in 60 more levels: 180 from a 1 KB text.
          [
            "aliases",
            `metadata:\n  name: y\nx: &a ${arrays(60, "1")}\nz: &b ${arrays(60, "*a")}\n` +
            `data: ${arrays(60, "*b")}\n`,
          ],
        ]
      ) assertTooDeep(await rawRequest(api, "POST", CM, text, YAML), `YAML ${what}`);
      await assertServing(api, "after-yaml");
    });
  },

  /** Patches: deep patch documents, and patched objects that end up too deep. */
  async patches(dir) {
    await withApi(dir, async (api) => {
      await createDeepCrd(api);
      const cr = (spec: unknown) =>
        JSON.stringify({
          apiVersion: "example.com/v1",
          kind: "Deep",
          metadata: { name: "d" },
          spec,
        });
      // Exactly at the limit is fine: {spec: …} adds one level.
      const at = await rawRequest(api, "POST", DEEPS, cr(objects(MAX_DEPTH - 1)));
      assertEquals(at.status, 201, JSON.stringify(at.json));
      assertTooDeep(
        await rawRequest(api, "PUT", `${DEEPS}/d`, cr(objects(MAX_DEPTH))),
        "one level too deep",
      );
      const merge = { "content-type": "application/merge-patch+json" };
      const smp = { "content-type": "application/strategic-merge-patch+json" };
      const jsonPatch = { "content-type": "application/json-patch+json" };
      const apply = { "content-type": "application/apply-patch+yaml" };
      const deep = `{"spec":{"x":${arrays(8000)}}}`;
      const kinds: [string, Record<string, string>][] = [
        ["merge", merge],
        ["strategic", smp],
        ["apply", apply],
      ];
      for (const [what, headers] of kinds) {
        assertTooDeep(
          await rawRequest(api, "PATCH", `${DEEPS}/d?fieldManager=t`, deep, headers),
          `8000-deep ${what} patch`,
        );
      }
      // JSON patch: three adds of 60 levels each, every op shallow, the result 1 + 180 deep.
      const reset = await rawRequest(api, "PATCH", `${DEEPS}/d`, '{"spec":null}', merge);
      assertEquals(reset.status, 200, JSON.stringify(reset.json));
      const ops = [0, 1, 2].map((i) => ({
        op: "add",
        path: i === 0 ? "/spec" : "/spec" + "/k".repeat(60 * i),
        value: objects(60),
      }));
      assertTooDeep(
        await rawRequest(api, "PATCH", `${DEEPS}/d`, JSON.stringify(ops), jsonPatch),
        "JSON patch result",
      );
      const two = await rawRequest(
        api,
        "PATCH",
        `${DEEPS}/d`,
        JSON.stringify(ops.slice(0, 2)),
        jsonPatch,
      );
      assertEquals(two.status, 200, `1 + 120 levels are fine: ${JSON.stringify(two.json)}`);
      await assertServing(api, "after-patch");
    });
  },
};

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<{ scenario: string; arg: string }>) => void) | null;
  postMessage(m: unknown): void;
};
scope.onmessage = async (e) => {
  try {
    await scenarios[e.data.scenario](e.data.arg);
    scope.postMessage({ ok: true });
  } catch (err) {
    scope.postMessage({ ok: false, error: String((err as Error)?.stack ?? err) });
  }
};
