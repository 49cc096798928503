/** checkTypeAndScope: the stored object's leading keys, with and without a rebuild. */
import { assertEquals, assertThrows } from "../assert.ts";
import { checkTypeAndScope } from "../../apiserver/admission.ts";
import { ResourceRegistry } from "../../apiserver/resources.ts";
import { ApiError } from "../../apiserver/errors.ts";

const registry = new ResourceRegistry();
const cms = { def: registry.get("", "v1", "configmaps")!, namespace: "default" };
const deps = { def: registry.get("apps", "v1", "deployments")!, namespace: "default" };

Deno.test("checkTypeAndScope: a body already led by apiVersion, kind, metadata keeps its keys and values", () => {
  const body = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "a" },
    data: { k: "v" },
    "__proto__x": 1,
  };
  const out = checkTypeAndScope(cms, body, ["v1"]);
  assertEquals(out, body);
  assertEquals(Object.keys(out), ["apiVersion", "kind", "metadata", "data", "__proto__x"]);
  assertEquals(out.metadata, { name: "a", namespace: "default" });
});

Deno.test("checkTypeAndScope: other orders, missing fields and another served version are rebuilt in order", () => {
  const cases: [Record<string, unknown>, string[]][] = [
    [{ data: { k: "v" }, metadata: { name: "a" }, kind: "ConfigMap", apiVersion: "v1" }, ["v1"]],
    [{ metadata: { name: "a" }, data: {} }, ["v1"]],
    [{ apiVersion: "v1", kind: "ConfigMap", data: {}, metadata: { name: "a" } }, ["v1"]],
    [{ apiVersion: "v1", metadata: { name: "a" }, kind: "ConfigMap" }, ["v1"]],
  ];
  for (const [body, served] of cases) {
    const out = checkTypeAndScope(cms, body, served);
    assertEquals(Object.keys(out).slice(0, 3), ["apiVersion", "kind", "metadata"]);
    assertEquals([out.apiVersion, out.kind, out.metadata?.namespace], [
      "v1",
      "ConfigMap",
      "default",
    ]);
  }
  const dep = checkTypeAndScope(
    deps,
    { apiVersion: "apps/v1beta9", kind: "Deployment", metadata: { name: "d" }, spec: {} },
    ["apps/v1", "apps/v1beta9"],
  );
  assertEquals(Object.keys(dep), ["apiVersion", "kind", "metadata", "spec"]);
  assertEquals(dep.apiVersion, "apps/v1");
  // An own "__proto__" key stays an ordinary field through the rebuild, never a prototype.
  const proto = JSON.parse('{"metadata":{"name":"p"},"__proto__":{"x":1},"apiVersion":"v1"}');
  const out = checkTypeAndScope(cms, proto, ["v1"]);
  assertEquals(Object.getPrototypeOf(out), Object.prototype);
  assertEquals(Object.keys(out), ["apiVersion", "kind", "metadata", "__proto__"]);
  assertThrows(() => checkTypeAndScope(cms, { kind: "Secret" }, ["v1"]), ApiError);
});
