/**
 * Field types of built-in kinds (issue #17 item 6): wrongly typed fields are refused with 422
 * Invalid (kube-apiserver's Status form) on create, update and every patch type, so typed clients
 * never read an object they cannot decode; bad `$patch` directives and resourceVersions are 400.
 */
import { assert, assertEquals } from "../assert.ts";
import { kubectl, kubectlOk, rawRequest, startTestApi, type TestApi } from "./helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const CM = "/api/v1/namespaces/default/configmaps";
const MERGE = { "content-type": "application/merge-patch+json" };
const SMP = { "content-type": "application/strategic-merge-patch+json" };
const JSONPATCH = { "content-type": "application/json-patch+json" };

/** rawRequest with the JSON typed loosely, for terse assertions. */
const raw = rawRequest as (
  ...args: Parameters<typeof rawRequest>
) => Promise<{ status: number; json: Json }>;

async function withApi(fn: (api: TestApi) => Promise<void>): Promise<void> {
  const api = await startTestApi();
  try {
    await fn(api);
  } finally {
    await api.dispose();
  }
}

function assertInvalid(
  r: { status: number; json: Json },
  field: string,
  what = "",
): void {
  assertEquals(r.status, 422, `${what} ${JSON.stringify(r.json)}`);
  assertEquals(r.json.kind, "Status");
  assertEquals(r.json.status, "Failure");
  assertEquals(r.json.reason, "Invalid");
  assertEquals(r.json.code, 422);
  const fields = (r.json.details?.causes ?? []).map((c: Json) => c.field);
  assert(fields.includes(field), `${what}: want cause ${field}, got ${JSON.stringify(r.json)}`);
}

Deno.test("merge patch {data: 'notamap'} on a ConfigMap is 422 in kube-apiserver's form", async () => {
  await withApi(async (api) => {
    const c = await raw(
      api,
      "POST",
      CM,
      JSON.stringify({ metadata: { name: "x" }, data: { a: "1" } }),
    );
    assertEquals(c.status, 201);
    const r = await raw(api, "PATCH", `${CM}/x`, '{"data":"notamap"}', MERGE);
    assertInvalid(r, "data");
    assertEquals(
      r.json.message,
      'ConfigMap "x" is invalid: data: Invalid value: "string": data in body must be of type object',
    );
    assertEquals(r.json.details.name, "x");
    assertEquals(r.json.details.kind, "ConfigMap");
    assertEquals(r.json.details.causes[0].reason, "FieldValueInvalid");
    for (
      const [headers, body] of [[SMP, '{"data":"notamap"}'], [
        JSONPATCH,
        '[{"op":"replace","path":"/data","value":7}]',
      ]] as const
    ) {
      assertInvalid(await raw(api, "PATCH", `${CM}/x`, body, headers), "data", body);
    }
    const put = await raw(
      api,
      "PUT",
      `${CM}/x`,
      JSON.stringify({ metadata: { name: "x" }, data: ["a"] }),
    );
    assertInvalid(put, "data", "PUT");
    const got = await raw(api, "GET", `${CM}/x`);
    assertEquals(got.json.data, { a: "1" });
  });
});

Deno.test("wrong types at fields of built-in kinds are 422 with the field path", async () => {
  await withApi(async (api) => {
    const ns = "/api/v1/namespaces/default";
    const cases: [string, Json, string][] = [
      [`${CM}`, { metadata: { name: "a" }, data: { k: 1 } }, "data[k]"],
      [`${CM}`, { metadata: { name: "a" }, binaryData: { k: "not base64!" } }, "binaryData[k]"],
      [`${CM}`, { metadata: { name: "a" }, immutable: "yes" }, "immutable"],
      [`${CM}`, { metadata: { name: 5 } }, "metadata.name"],
      [`${CM}`, { metadata: { name: "a", finalizers: "x" } }, "metadata.finalizers"],
      [`${CM}`, { metadata: { name: "a", finalizers: [1] } }, "metadata.finalizers[0]"],
      [`${CM}`, { metadata: { name: "a", ownerReferences: {} } }, "metadata.ownerReferences"],
      [
        `${CM}`,
        { metadata: { name: "a", ownerReferences: [{ uid: 5, kind: "X", name: "y" }] } },
        "metadata.ownerReferences[0].uid",
      ],
      [`${CM}`, { metadata: { name: "a", annotations: { k: 1 } } }, "metadata.annotations[k]"],
      [`${CM}`, { metadata: { name: "a", labels: [] } }, "metadata.labels"],
      [`${CM}`, { metadata: { name: "a", labels: { ["__proto__"]: "x" } } }, "metadata.labels"],
      [`${CM}`, { metadata: { name: "a", generation: "1" } }, "metadata.generation"],
      [`${ns}/secrets`, { metadata: { name: "s" }, data: "x" }, "data"],
      [`${ns}/secrets`, { metadata: { name: "s" }, data: { k: "%%%" } }, "data[k]"],
      [`${ns}/secrets`, { metadata: { name: "s" }, stringData: [] }, "stringData"],
      [`${ns}/secrets`, { metadata: { name: "s" }, type: 5 }, "type"],
      [
        "/api/v1/nodes",
        { metadata: { name: "n" }, spec: { unschedulable: "yes" } },
        "spec.unschedulable",
      ],
      ["/api/v1/nodes", { metadata: { name: "n" }, spec: "x" }, "spec"],
      ["/api/v1/nodes", { metadata: { name: "n" }, status: { capacity: "x" } }, "status.capacity"],
      [
        "/api/v1/nodes",
        { metadata: { name: "n" }, status: { conditions: [{ type: 1 }] } },
        "status.conditions[0].type",
      ],
      [`${ns}/pods`, { metadata: { name: "p" }, spec: { containers: "x" } }, "spec.containers"],
      [
        `${ns}/pods`,
        {
          metadata: { name: "p" },
          spec: { containers: [{ name: "c", image: "i", ports: [{ containerPort: "80" }] }] },
        },
        "spec.containers[0].ports[0].containerPort",
      ],
      [
        `${ns}/pods`,
        { metadata: { name: "p" }, spec: { nodeName: 1, containers: [] } },
        "spec.nodeName",
      ],
      [`${ns}/pods`, { metadata: { name: "p" }, status: { phase: [] } }, "status.phase"],
      [`${ns}/services`, { metadata: { name: "v" }, spec: { ports: ["x"] } }, "spec.ports[0]"],
      [
        `${ns}/services`,
        { metadata: { name: "v" }, spec: { ports: [{ port: "80" }] } },
        "spec.ports[0].port",
      ],
      [
        `${ns}/services`,
        { metadata: { name: "v" }, spec: { selector: { a: 1 } } },
        "spec.selector[a]",
      ],
      [`${ns}/events`, { metadata: { name: "e" }, count: "1" }, "count"],
      [`${ns}/events`, { metadata: { name: "e" }, involvedObject: "pod" }, "involvedObject"],
      [
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        { metadata: { name: "l" }, spec: { leaseDurationSeconds: "40" } },
        "spec.leaseDurationSeconds",
      ],
      [
        "/apis/devices.kubeedge.io/v1beta1/namespaces/default/devices",
        { metadata: { name: "d", labels: { a: ["b"] } } },
        "metadata.labels[a]",
      ],
    ];
    for (const [path, body, field] of cases) {
      const r = await raw(api, "POST", path, JSON.stringify(body));
      assertInvalid(r, field, `${path} ${JSON.stringify(body)}`);
    }
    // Nothing of that was stored; well-typed objects still are.
    const ok = await raw(
      api,
      "POST",
      `${ns}/services`,
      JSON.stringify({
        metadata: { name: "v" },
        spec: { ports: [{ port: 80, targetPort: "http" }] },
      }),
    );
    assertEquals(ok.status, 201, JSON.stringify(ok.json));
  });
});

Deno.test("custom resources: the CRD's openAPIV3Schema types are enforced", async () => {
  await withApi(async (api) => {
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "widgets.example.com" },
      spec: {
        group: "example.com",
        names: { plural: "widgets", singular: "widget", kind: "Widget" },
        scope: "Namespaced",
        versions: [{
          name: "v1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: {
                  type: "object",
                  properties: {
                    size: { type: "integer" },
                    tags: { type: "array", items: { type: "string" } },
                    port: { "x-kubernetes-int-or-string": true },
                  },
                },
              },
            },
          },
        }],
      },
    };
    const c = await raw(
      api,
      "POST",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
      JSON.stringify(crd),
    );
    assertEquals(c.status, 201, JSON.stringify(c.json));
    const path = "/apis/example.com/v1/namespaces/default/widgets";
    const bad: [Json, string][] = [
      [{ spec: "x" }, "spec"],
      [{ spec: { size: "big" } }, "spec.size"],
      [{ spec: { tags: [1] } }, "spec.tags[0]"],
      [{ spec: { port: true } }, "spec.port"],
    ];
    for (const [body, field] of bad) {
      const r = await raw(
        api,
        "POST",
        path,
        JSON.stringify({ metadata: { name: "w" }, ...body }),
      );
      assertInvalid(r, field, JSON.stringify(body));
      assert(
        String(r.json.message).startsWith('Widget.example.com "w" is invalid: '),
        r.json.message,
      );
    }
    const ok = await raw(
      api,
      "POST",
      path,
      JSON.stringify({ metadata: { name: "w" }, spec: { size: 2, tags: ["a"], port: "http" } }),
    );
    assertEquals(ok.status, 201, JSON.stringify(ok.json));
    assertInvalid(
      await raw(api, "PATCH", `${path}/w`, '{"spec":{"size":1.5}}', MERGE),
      "spec.size",
    );
  });
});

Deno.test("strategic merge: an unknown $patch directive is 400; replace, merge, delete work", async () => {
  await withApi(async (api) => {
    await raw(
      api,
      "POST",
      CM,
      JSON.stringify({ metadata: { name: "x" }, data: { a: "1" } }),
    );
    for (
      const body of [
        '{"$patch":"explode"}',
        '{"data":{"$patch":"explode"}}',
        '{"data":{"$patch":5}}',
        '{"metadata":{"ownerReferences":[{"uid":"u","$patch":"explode"}]}}',
      ]
    ) {
      const r = await raw(api, "PATCH", `${CM}/x`, body, SMP);
      assertEquals(r.status, 400, `${body} ${JSON.stringify(r.json)}`);
      assertEquals(r.json.reason, "BadRequest");
      assert(String(r.json.message).startsWith("unknown patch type: "), r.json.message);
    }
    const merge = await raw(
      api,
      "PATCH",
      `${CM}/x`,
      '{"data":{"$patch":"merge","b":"2"}}',
      SMP,
    );
    assertEquals(merge.status, 200, JSON.stringify(merge.json));
    assertEquals(merge.json.data, { a: "1", b: "2" });
    const replace = await raw(
      api,
      "PATCH",
      `${CM}/x`,
      '{"data":{"$patch":"replace","c":"3"}}',
      SMP,
    );
    assertEquals(replace.json.data, { c: "3" });
  });
});

Deno.test("resourceVersion must be an unsigned integer on list, get and watch (400)", async () => {
  await withApi(async (api) => {
    await raw(api, "POST", CM, JSON.stringify({ metadata: { name: "x" } }));
    for (const rv of ["abc", "-1", "1.5", " 1", "0x10"]) {
      const q = `resourceVersion=${encodeURIComponent(rv)}`;
      for (
        const path of [
          `${CM}?${q}`,
          `${CM}/x?${q}`,
          `${CM}?watch=1&${q}`,
          `/api/v1/watch/namespaces/default/configmaps?${q}`,
        ]
      ) {
        const r = await raw(api, "GET", path);
        assertEquals(r.status, 400, `${path} ${JSON.stringify(r.json)}`);
        assertEquals(r.json.reason, "BadRequest");
        assertEquals(
          r.json.message,
          `resourceVersion: Invalid value: ${JSON.stringify(rv)}: strconv.ParseUint: parsing ${
            JSON.stringify(rv)
          }: invalid syntax`,
        );
      }
    }
    const big = await raw(api, "GET", `${CM}?resourceVersion=99999999999999999999`);
    assertEquals(big.status, 400);
    assert(String(big.json.message).endsWith("value out of range"), big.json.message);
    for (const rv of ["", "0", "1"]) {
      const r = await raw(api, "GET", `${CM}?resourceVersion=${rv}`);
      assertEquals(r.status, 200, rv);
      const g = await raw(api, "GET", `${CM}/x?resourceVersion=${rv}`);
      assertEquals(g.status, 200, rv);
    }
  });
});

Deno.test("kubectl: a refused wrong-type patch leaves `kubectl describe cm` working", async () => {
  await withApi(async (api) => {
    await kubectlOk(api, ["create", "configmap", "x", "--from-literal=a=1"]);
    const r = await kubectl(api, [
      "patch",
      "cm",
      "x",
      "--type",
      "merge",
      "-p",
      '{"data":"notamap"}',
    ]);
    assert(r.code !== 0, r.stdout);
    assert(
      r.stderr.includes('ConfigMap "x" is invalid: data: Invalid value: "string"'),
      r.stderr,
    );
    const d = await kubectlOk(api, ["describe", "cm", "x"]);
    assert(/Name:\s+x/.test(d), d);
    const got = JSON.parse(await kubectlOk(api, ["get", "cm", "x", "-o", "json"]));
    assertEquals(got.data, { a: "1" });
  });
});

Deno.test("DeleteOptions with wrongly typed fields are 400 and store nothing", async () => {
  await withApi(async (api) => {
    const pods = "/api/v1/namespaces/default/pods";
    const c = await raw(
      api,
      "POST",
      pods,
      JSON.stringify({
        metadata: { name: "p" },
        spec: { nodeName: "edge-1", containers: [{ name: "c", image: "i" }] },
      }),
    );
    assertEquals(c.status, 201, JSON.stringify(c.json));
    for (
      const body of [
        { gracePeriodSeconds: "5" },
        { gracePeriodSeconds: 1.5 },
        { propagationPolicy: 5 },
        { preconditions: "x" },
        { preconditions: { uid: 5 } },
        { dryRun: "All" },
        JSON.parse('{"__proto__":{"gracePeriodSeconds":"5"}}'),
      ]
    ) {
      const r = await raw(api, "DELETE", `${pods}/p`, JSON.stringify(body));
      if (Object.hasOwn(body, "__proto__")) {
        // An own "__proto__" field is not a DeleteOptions field: ignored, not inherited.
        assertEquals(r.status, 200, JSON.stringify(r.json));
        assertEquals(r.json.metadata.deletionGracePeriodSeconds, 30);
        continue;
      }
      assertEquals(r.status, 400, `${JSON.stringify(body)} ${JSON.stringify(r.json)}`);
      assertEquals(r.json.reason, "BadRequest");
    }
    const got = await raw(api, "GET", `${pods}/p`);
    assert(
      got.json.metadata.deletionGracePeriodSeconds === undefined ||
        typeof got.json.metadata.deletionGracePeriodSeconds === "number",
      JSON.stringify(got.json.metadata),
    );
  });
});
