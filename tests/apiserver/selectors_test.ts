/** Label and field selector parsing. */
import { assertEquals, assertThrows } from "../assert.ts";
import { parseFieldSelector, parseLabelSelector } from "../../apiserver/selectors.ts";
import { ApiError } from "../../apiserver/errors.ts";

const obj = (labels: Record<string, string>, spec: Record<string, unknown> = {}) => ({
  metadata: { name: "n", namespace: "ns", labels },
  spec,
});

Deno.test("label selectors: equality, sets, existence, numeric comparisons", () => {
  const o = obj({ app: "web", tier: "front", n: "5" });
  const cases: [string, boolean][] = [
    ["", true],
    ["app=web", true],
    ["app==web,tier=front", true],
    ["app!=web", false],
    ["missing!=x", true],
    ["tier in (front, back)", true],
    ["tier notin (front)", false],
    ["app", true],
    ["!app", false],
    ["!missing", true],
    ["n>4", true],
    ["n<5", false],
    ["example.com/key=v", false],
  ];
  for (const [sel, want] of cases) assertEquals(parseLabelSelector(sel)(o), want, sel);
});

Deno.test("label selectors: bad syntax is a 400", () => {
  for (const bad of ["a in (b", "=x", "a=b=c", "a,,b", "-bad-=x", "n>x"]) {
    const e = assertThrows(() => parseLabelSelector(bad), ApiError);
    assertEquals((e as ApiError).code, 400, bad);
  }
});

Deno.test("field selectors: metadata.name, metadata.namespace, spec.nodeName", () => {
  const o = obj({}, { nodeName: "edge-1" });
  assertEquals(parseFieldSelector("spec.nodeName=edge-1")(o), true);
  assertEquals(parseFieldSelector("spec.nodeName!=edge-1")(o), false);
  assertEquals(parseFieldSelector("metadata.name=n,metadata.namespace==ns")(o), true);
  assertEquals(parseFieldSelector("spec.nodeName=")(obj({})), true);
  const e = assertThrows(() => parseFieldSelector("nonsense"), ApiError);
  assertEquals((e as ApiError).code, 400);
});
