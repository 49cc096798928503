import { assertEquals } from "../assert.ts";
import { isLogLevel } from "../../lib/log.ts";

Deno.test("isLogLevel: the four levels, and no name inherited from Object.prototype", () => {
  for (const level of ["debug", "info", "warn", "error"]) assertEquals(isLogLevel(level), true);
  for (const name of ["toString", "constructor", "__proto__", "hasOwnProperty", "valueOf", ""]) {
    assertEquals(isLogLevel(name), false, name);
  }
});
