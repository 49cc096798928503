import { assert } from "../assert.ts";
import { isRecord, jsonEqual } from "../../lib/mod.ts";

Deno.test("jsonEqual: structural, key order ignored, undefined same as missing", () => {
  assert(jsonEqual({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 }));
  assert(jsonEqual({ a: 1, b: undefined }, { a: 1 }));
  assert(jsonEqual(undefined, undefined));
  assert(!jsonEqual({ a: 1 }, { a: 2 }));
  assert(!jsonEqual([1, 2], [2, 1]));
  assert(!jsonEqual([], {}));
  assert(!jsonEqual(null, {}));
  assert(!jsonEqual({ a: null }, {}));
  assert(!jsonEqual("1", 1));
});

Deno.test("isRecord: objects only, not null or arrays", () => {
  assert(isRecord({}) && isRecord({ a: 1 }));
  assert(!isRecord(null) && !isRecord([]) && !isRecord("x") && !isRecord(undefined));
});
