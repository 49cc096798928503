/**
 * How many cases each fuzz property runs: 500 in the normal suite, `FUZZ_RUNS` (e.g. 10000 via
 * `deno task fuzz`) for the long run.
 */
export function fuzzRuns(): number {
  const raw = Deno.env.get("FUZZ_RUNS");
  const n = raw ? Number(raw) : 500;
  return Number.isInteger(n) && n > 0 ? n : 500;
}
