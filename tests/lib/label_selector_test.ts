/** LabelSelector matching and the string forms kubectl prints. */
import { assertEquals } from "../assert.ts";
import {
  formatLabels,
  formatLabelSelector,
  isEmptySelector,
  selectorMatches,
} from "../../lib/mod.ts";

Deno.test("selectorMatches: matchLabels and every operator; nil matches nothing, empty everything", () => {
  const labels = { app: "web", tier: "front", constructor: "x" };
  assertEquals(selectorMatches({ matchLabels: { app: "web" } }, labels), true);
  assertEquals(selectorMatches({ matchLabels: { app: "db" } }, labels), false);
  assertEquals(selectorMatches({ matchLabels: { toString: "f" } }, labels), false);
  assertEquals(selectorMatches({ matchLabels: { constructor: "x" } }, labels), true);
  const expr = (operator: string, values?: string[], key = "tier") =>
    selectorMatches({ matchExpressions: [{ key, operator, values }] }, labels);
  assertEquals(expr("In", ["front", "back"]), true);
  assertEquals(expr("In", ["back"]), false);
  assertEquals(expr("NotIn", ["back"]), true);
  assertEquals(expr("NotIn", ["front"]), false);
  assertEquals(expr("NotIn", ["x"], "missing"), true);
  assertEquals(expr("Exists"), true);
  assertEquals(expr("Exists", undefined, "missing"), false);
  assertEquals(expr("DoesNotExist", undefined, "missing"), true);
  assertEquals(expr("Bogus"), false);
  assertEquals(selectorMatches(undefined, labels), false);
  assertEquals(selectorMatches({}, labels), true);
  assertEquals(isEmptySelector({}), true);
  assertEquals(isEmptySelector({ matchLabels: { a: "b" } }), false);
});

Deno.test("formatLabelSelector / formatLabels: kubectl's sorted string forms", () => {
  assertEquals(
    formatLabelSelector({
      matchLabels: { b: "2", a: "1" },
      matchExpressions: [
        { key: "c", operator: "In", values: ["y", "x"] },
        { key: "d", operator: "NotIn", values: ["z"] },
        { key: "e", operator: "Exists" },
        { key: "f", operator: "DoesNotExist" },
      ],
    }),
    "a=1,b=2,c in (x,y),d notin (z),e,!f",
  );
  assertEquals(formatLabelSelector(undefined), "<none>");
  assertEquals(formatLabelSelector({}), "<none>");
  assertEquals(formatLabels({ z: "1", a: "" }), "a=,z=1");
  assertEquals(formatLabels({}), "<none>");
});
