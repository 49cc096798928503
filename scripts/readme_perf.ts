/**
 * The README's performance summary, derived from docs/performance.md's "Targets" table (itself
 * generated from bench/results by scripts/perf_report.ts), so the two cannot disagree.
 * `deno task perf-report` rewrites both; tests/scripts/readme_perf_test.ts checks the README.
 */

/** Markers around the generated cell text in README.md. */
export const START = "<!-- perf:start -->";
export const END = "<!-- perf:end -->";

/** The rows of the Targets table: scenario, measure, target, measured, met. */
export function targetRows(performanceMd: string): string[][] {
  const section = performanceMd.split(/^## Targets\s*$/m)[1]?.split(/^## /m)[0] ?? "";
  return section.split("\n")
    .filter((l) => l.startsWith("|") && !/^\|\s*-/.test(l) && !/^\|\s*scenario\s*\|/.test(l))
    .map((l) => l.slice(1, -1).split("|").map((c) => c.trim().replaceAll("**", "")));
}

/** One line: each target's measured value against it, then how many are met. */
export function perfSummary(performanceMd: string): string {
  const rows = targetRows(performanceMd);
  if (rows.length === 0) return "no benchmark results yet (docs/performance.md)";
  const parts = rows.map(([scenario, measure, target, measured, met]) =>
    `${scenario} ${measure} ${measured} (target ${target}${met === "yes" ? "" : ", not met"})`
  );
  const met = rows.filter((r) => r[4] === "yes").length;
  return `${met}/${rows.length} targets met (docs/performance.md): ${parts.join("; ")}`;
}

/** `readme` with the text between the markers replaced by {@link perfSummary}. */
export function withPerfSummary(readme: string, performanceMd: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${START} … ${END} block`);
  return readme.slice(0, a + START.length) + perfSummary(performanceMd) + readme.slice(b);
}
