import { assert, assertEquals } from "../assert.ts";
import { compareResourceVersion, ResourceVersionError } from "../../kube/mod.ts";

Deno.test("resourceVersion: ParseUint rules (leading zeros, uint64 bound) without BigInt", () => {
  assertEquals(compareResourceVersion("0010", "9"), 1);
  assertEquals(compareResourceVersion("000", "0"), 0);
  assertEquals(compareResourceVersion("99", "100"), -1);
  assertEquals(compareResourceVersion("018446744073709551615", "18446744073709551615"), 0);
  for (const bad of ["", "-1", "1e3", " 1", "18446744073709551616", "99999999999999999999"]) {
    let threw = false;
    try {
      compareResourceVersion(bad, "1");
    } catch (err) {
      threw = err instanceof ResourceVersionError;
    }
    assert(threw, `accepted ${JSON.stringify(bad)}`);
  }
  // Same order as the numbers, for random pairs.
  for (let i = 0; i < 2000; i++) {
    const a = BigInt(Math.floor(Math.random() * 2 ** 53)) * BigInt(1 + (i % 3000));
    const b = BigInt(Math.floor(Math.random() * 2 ** 53)) * BigInt(1 + (i % 2999));
    if (a > 0xffffffffffffffffn || b > 0xffffffffffffffffn) continue;
    assertEquals(compareResourceVersion(String(a), String(b)), a < b ? -1 : a > b ? 1 : 0);
  }
});
