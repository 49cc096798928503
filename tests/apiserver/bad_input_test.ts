/** Malformed and hostile requests get proper Status errors, and the server keeps serving. */
import { assertEquals } from "../assert.ts";
import { rawRequest, startTestApi } from "./helpers.ts";

const CM = "/api/v1/namespaces/default/configmaps";

Deno.test("bad input: Status errors with the right code and reason; server keeps serving", async () => {
  const api = await startTestApi({ maxBodyBytes: 64 * 1024 });
  try {
    const cases: [string, string, string | undefined, Record<string, string>, number, string][] = [
      ["POST", CM, "{not json", {}, 400, "BadRequest"],
      ["POST", CM, "", {}, 400, "BadRequest"],
      ["POST", CM, "[1,2]", {}, 400, "BadRequest"],
      [
        "POST",
        CM,
        "metadata: [unclosed",
        { "content-type": "application/yaml" },
        400,
        "BadRequest",
      ],
      [
        "POST",
        CM,
        JSON.stringify({ kind: "Pod", apiVersion: "v1", metadata: { name: "x" } }),
        {},
        400,
        "BadRequest",
      ],
      [
        "POST",
        CM,
        JSON.stringify({ apiVersion: "apps/v1", kind: "ConfigMap", metadata: { name: "x" } }),
        {},
        400,
        "BadRequest",
      ],
      [
        "POST",
        CM,
        JSON.stringify({ metadata: { name: "x", namespace: "other" } }),
        {},
        400,
        "BadRequest",
      ],
      ["POST", CM, JSON.stringify({ metadata: { name: "Bad_Name" } }), {}, 422, "Invalid"],
      ["POST", CM, JSON.stringify({ metadata: {} }), {}, 422, "Invalid"],
      [
        "POST",
        CM,
        JSON.stringify({ metadata: { name: "x", labels: { a: 1 } } }),
        {},
        422,
        "Invalid",
      ],
      [
        "POST",
        CM,
        JSON.stringify({ metadata: { name: "big" }, data: { a: "x".repeat(100_000) } }),
        {},
        413,
        "RequestEntityTooLarge",
      ],
      ["GET", `${CM}?labelSelector=a%20in%20(b`, undefined, {}, 400, "BadRequest"],
      ["GET", `${CM}?labelSelector=%3D%3Dx`, undefined, {}, 400, "BadRequest"],
      ["GET", `${CM}?fieldSelector=nonsense`, undefined, {}, 400, "BadRequest"],
      ["GET", `${CM}?limit=-1`, undefined, {}, 400, "BadRequest"],
      ["GET", `${CM}?continue=garbage`, undefined, {}, 400, "BadRequest"],
      ["GET", "/api/v1/widgets", undefined, {}, 404, "NotFound"],
      ["GET", "/apis/nope.example.com/v1", undefined, {}, 404, "NotFound"],
      ["GET", `${CM}/missing`, undefined, {}, 404, "NotFound"],
      ["GET", `${CM}/%E0%A4%A`, undefined, {}, 400, "BadRequest"],
      [
        "PATCH",
        `${CM}/missing`,
        "{}",
        { "content-type": "application/merge-patch+json" },
        404,
        "NotFound",
      ],
      ["PUT", `${CM}/a`, JSON.stringify({ metadata: { name: "b" } }), {}, 400, "BadRequest"],
      ["POST", `${CM}/a`, "{}", {}, 405, "MethodNotAllowed"],
    ];
    await rawRequest(api, "POST", CM, JSON.stringify({ metadata: { name: "a" } }));
    cases.push(
      ["PATCH", `${CM}/a`, "{}", { "content-type": "text/plain" }, 415, "UnsupportedMediaType"],
      [
        "PATCH",
        `${CM}/a`,
        "{",
        { "content-type": "application/merge-patch+json" },
        400,
        "BadRequest",
      ],
      [
        "PATCH",
        `${CM}/a`,
        '{"op":"add"}',
        { "content-type": "application/json-patch+json" },
        400,
        "BadRequest",
      ],
      [
        "PATCH",
        `${CM}/a`,
        '[{"op":"test","path":"/data/x","value":"y"}]',
        { "content-type": "application/json-patch+json" },
        422,
        "Invalid",
      ],
      [
        "POST",
        CM,
        "k8s\u0000binary",
        { "content-type": "application/vnd.kubernetes.protobuf" },
        400,
        "BadRequest",
      ],
      ["POST", CM, "{}", { "content-type": "application/cbor" }, 415, "UnsupportedMediaType"],
    );
    for (const [method, path, body, headers, code, reason] of cases) {
      const r = await rawRequest(api, method, path, body, headers);
      assertEquals([r.status, r.json.kind, r.json.code, r.json.reason], [
        code,
        "Status",
        code,
        reason,
      ], `${method} ${path} ${body?.slice(0, 60)}`);
    }
    const ok = await rawRequest(api, "GET", "/api/v1/namespaces");
    assertEquals(ok.status, 200);
  } finally {
    await api.dispose();
  }
});

Deno.test("bad input: objects too large for storage are refused with 413", async () => {
  const api = await startTestApi();
  try {
    const body = JSON.stringify({ metadata: { name: "huge" }, data: { a: "x".repeat(1_000_000) } });
    const r = await rawRequest(api, "POST", CM, body);
    assertEquals([r.status, r.json.reason], [413, "RequestEntityTooLarge"]);
    assertEquals((await rawRequest(api, "GET", `${CM}/huge`)).status, 404);
  } finally {
    await api.dispose();
  }
});

Deno.test("bad input: arbitrary JSON bodies and selectors never produce a 5xx", async () => {
  const fc = (await import("fast-check")).default;
  const api = await startTestApi();
  try {
    await rawRequest(api, "POST", CM, JSON.stringify({ metadata: { name: "target" } }));
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.string(), async (body, selector) => {
        const r = await rawRequest(api, "POST", CM, JSON.stringify(body));
        if (r.status >= 500) throw new Error(`POST ${JSON.stringify(body)} → ${r.status}`);
        const patch = await rawRequest(api, "PATCH", `${CM}/target`, JSON.stringify(body), {
          "content-type": "application/strategic-merge-patch+json",
        });
        if (patch.status >= 500) throw new Error(`PATCH ${JSON.stringify(body)} → ${patch.status}`);
        const l = await rawRequest(
          api,
          "GET",
          `${CM}?labelSelector=${encodeURIComponent(selector)}`,
        );
        if (l.status !== 200 && l.status !== 400) {
          throw new Error(`selector ${selector} → ${l.status}`);
        }
      }),
      { numRuns: 60 },
    );
  } finally {
    await api.dispose();
  }
});
