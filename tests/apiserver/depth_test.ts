/** apiserver/depth.ts: the nesting limit's three checks agree with the real depth of values. */
import fc from "fast-check";
import { Document, isCollection, parse as parseYaml, parseAllDocuments, visit } from "yaml";
import {
  jsonTextTooDeep,
  MAX_DEPTH,
  tooDeep,
  valueTooDeep,
  yamlTextTooDeep,
} from "../../apiserver/depth.ts";
import { assert, assertEquals } from "../assert.ts";

/** Reference depth, recursive (test inputs are shallow). */
function depthOf(v: unknown): number {
  if (v === null || typeof v !== "object") return 0;
  return 1 + Math.max(0, ...Object.values(v).map(depthOf));
}

/** `[[…[1]…]]`, `d` arrays deep, built without recursion. */
function nested(d: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < d; i++) v = i % 2 ? { k: v } : [v];
  return v;
}

Deno.test("depth: the limit and its 400", () => {
  assertEquals(MAX_DEPTH, 128);
  const e = tooDeep("the request body");
  assertEquals([e.code, e.reason], [400, "BadRequest"]);
  assertEquals(e.message, "the request body nests deeper than 128 levels");
});

Deno.test("depth: JSON text scan counts brackets outside strings only", () => {
  assertEquals(jsonTextTooDeep("1", 0), false);
  assertEquals(jsonTextTooDeep("{}", 0), true);
  assertEquals(jsonTextTooDeep('{"a":[1]}', 2), false);
  assertEquals(jsonTextTooDeep('{"a":[1]}', 1), true);
  assertEquals(jsonTextTooDeep('{"a":"[[[{{{\\"[[["}', 1), false);
  assertEquals(jsonTextTooDeep('["\\\\",[[]]]', 2), true);
  assertEquals(jsonTextTooDeep(JSON.stringify(nested(MAX_DEPTH))), false);
  assertEquals(jsonTextTooDeep(JSON.stringify(nested(MAX_DEPTH + 1))), true);
  // The attack: 3 MiB of brackets is answered in linear time, without recursion.
  const t0 = performance.now();
  assert(jsonTextTooDeep("[".repeat(3 << 20)));
  assert(performance.now() - t0 < 1000, "scan too slow");
});

Deno.test("depth: value scan handles shared subtrees and cycles", () => {
  assertEquals(valueTooDeep(nested(MAX_DEPTH)), false);
  assertEquals(valueTooDeep(nested(MAX_DEPTH + 1)), true);
  assertEquals(valueTooDeep(nested(100_000)), true);
  // A DAG of 2^60 paths is walked in linear time.
  let dag: unknown = [1];
  for (let i = 0; i < 60; i++) dag = [dag, dag];
  assertEquals(valueTooDeep(dag, 61), false);
  assertEquals(valueTooDeep(dag, 60), true);
  const cyc: unknown[] = [1];
  cyc.push(cyc);
  assertEquals(valueTooDeep(cyc), true);
  assertEquals(valueTooDeep(parseYaml("a: &a [1, *a]\n")), true);
});

Deno.test("depth: YAML text scan, hand-written shapes", () => {
  const cases: [string, number][] = [
    ["a: 1\n", 1],
    ["- 1\n", 1],
    ["- - - x\n", 3],
    ["a:\n- x\n- y\nb: 1\n", 2],
    ["a:\n  b:\n    c: [1, [2, {d: 3}]]\ne: 1\n", 6],
    ["- a: 1\n  b:\n    - c\n- d\n", 3],
    ["? a\n: b\n", 1],
    ["a: |\n  x: [[[\n  - - -\nb: 1\n", 1],
    ["# x: [[[\na: 'q: [[[' # - - -\n", 1],
    ["a: [1,\n  [2]]\nb: {c: 1}\n", 3],
    ["--- !!map\na: &x 1\nb: *x\n...\n--- [[1]]\n", 2],
    ['a:\n  - b: "multi\n      line: [[["\n    c:\n      d: 1\n', 4],
  ];
  for (const [text, depth] of cases) {
    const docs = parseAllDocuments(text) as Document[];
    assertEquals(docs.flatMap((d) => d.errors), [], JSON.stringify(text));
    assertEquals(
      Math.max(...docs.map((d) => depthOf(d.toJS()))),
      depth,
      `reference depth of ${JSON.stringify(text)}`,
    );
    assertEquals(yamlTextTooDeep(text, depth), false, JSON.stringify(text));
    assertEquals(yamlTextTooDeep(text, depth - 1), true, JSON.stringify(text));
  }
  // Deep attacks in every notation, 3 MiB each, refused quickly.
  for (const text of ["- ".repeat(1 << 20), "[".repeat(3 << 20), "{a: ".repeat(1 << 19)]) {
    const t0 = performance.now();
    assert(yamlTextTooDeep(text));
    assert(performance.now() - t0 < 1000, "scan too slow");
  }
});

const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.string({ minLength: 1 }), tie("value"), { maxKeys: 3 }),
  ),
})).value;

const yamlOptions = fc.record({
  indent: fc.integer({ min: 1, max: 8 }),
  indentSeq: fc.boolean(),
  lineWidth: fc.constantFrom(0, 20, 80),
  defaultStringType: fc.constantFrom("PLAIN", "QUOTE_DOUBLE", "BLOCK_LITERAL", "BLOCK_FOLDED"),
  /** Bit n set: the n-th collection (mod 31) is written in flow style. */
  flowMask: fc.integer({ min: 0, max: 0x7fffffff }),
});

/** `v` as YAML, block and flow collections mixed as `flowMask` says. */
function toYaml(v: unknown, { flowMask, ...opts }: { flowMask: number } & Record<string, unknown>) {
  const doc = new Document(v);
  let n = 0;
  visit(doc, (_key, node) => {
    if (isCollection(node)) node.flow = ((flowMask >> (n++ % 31)) & 1) === 1;
  });
  return doc.toString(opts);
}

Deno.test("depth: text scans agree with the parsed depth on random documents", () => {
  fc.assert(
    fc.property(jsonValue, yamlOptions, (v, opts) => {
      const d = depthOf(v);
      const json = JSON.stringify(v);
      if (jsonTextTooDeep(json, d) || !(d === 0 || jsonTextTooDeep(json, d - 1))) {
        throw new Error(`JSON scan wrong for ${json}`);
      }
      const yaml = toYaml(v, opts);
      let back: unknown;
      try {
        back = parseYaml(yaml);
      } catch {
        return; // yaml cannot read back some of its own edge-case output (e.g. `" ":\n[]`)
      }
      assertEquals(depthOf(back), d, "yaml round trip");
      if (yamlTextTooDeep(yaml, d) || !(d === 0 || yamlTextTooDeep(yaml, d - 1))) {
        throw new Error(`YAML scan wrong for depth ${d}:\n${yaml}`);
      }
      if (valueTooDeep(v, d) || !(d === 0 || valueTooDeep(v, d - 1))) {
        throw new Error(`value scan wrong for ${json}`);
      }
    }),
    { numRuns: 2000 },
  );
});
