import { assertEquals, assertStringIncludes } from "../assert.ts";
import { END, perfSummary, START, targetRows } from "../../scripts/readme_perf.ts";

const root = new URL("../../", import.meta.url);
const read = (p: string) => Deno.readTextFile(new URL(p, root));

Deno.test("README's performance summary is docs/performance.md's Targets table", async () => {
  const perf = await read("docs/performance.md");
  const readme = await read("README.md");
  assertStringIncludes(readme, `${START}${perfSummary(perf)}${END}`);
});

Deno.test("perfSummary: every target row, the misses marked, the count", () => {
  const md =
    `# P\n\n## Targets\n\n| scenario | measure | target | measured | met |\n|---|---|---|---|---|\n` +
    `| a | x | >= 2 | 1 | **no** |\n| b | y | < 5 ms | 3 ms | yes |\n\n## Machine\n`;
  assertEquals(targetRows(md), [["a", "x", ">= 2", "1", "no"], [
    "b",
    "y",
    "< 5 ms",
    "3 ms",
    "yes",
  ]]);
  assertEquals(
    perfSummary(md),
    "1/2 targets met (docs/performance.md): a x 1 (target >= 2, not met); b y 3 ms (target < 5 ms)",
  );
});
