import { assertEquals } from "../assert.ts";
import { cloudcoreBin, sideBySide } from "../../harness/side_by_side.ts";

Deno.test("sideBySide: both figures and their ratio, 'not run' without cloudcore", () => {
  assertEquals(sideBySide("KB", 40, 160), ["KB", "40.0", "160.0", "0.25"]);
  assertEquals(sideBySide("ms", 12.345, undefined, 2), ["ms", "12.35", "not run", "-"]);
  assertEquals(sideBySide("x", NaN, 3), ["x", "not run", "3.0", "-"]);
  assertEquals(sideBySide("lost", 0, 0, 0), ["lost", "0", "0", "-"]);
});

Deno.test("cloudcoreBin: the flag wins over CLOUDCORE_BIN", () => {
  const before = Deno.env.get("CLOUDCORE_BIN");
  try {
    Deno.env.set("CLOUDCORE_BIN", "/env/cloudcore");
    assertEquals(cloudcoreBin("/flag/cloudcore"), "/flag/cloudcore");
    assertEquals(cloudcoreBin(undefined), "/env/cloudcore");
  } finally {
    if (before === undefined) Deno.env.delete("CLOUDCORE_BIN");
    else Deno.env.set("CLOUDCORE_BIN", before);
  }
});
