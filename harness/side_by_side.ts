/**
 * Pieces of "edgecloud beside cloudcore" that need no process: where cloudcore's binary comes
 * from, and one figure for both hubs as report cells with their ratio.
 */

/** cloudcore's binary from the flag or CLOUDCORE_BIN ("" when neither is given). */
export function cloudcoreBin(flag: string | undefined): string {
  return flag ?? Deno.env.get("CLOUDCORE_BIN") ?? "";
}

/**
 * A figure for edgecloud and cloudcore as table cells with the ratio; a missing value reads
 * `missing` for edgecloud and cloudcore alike ("not run" unless the run says why, e.g. "not
 * within 240 s").
 */
export function sideBySide(
  label: string,
  e: number | undefined,
  c: number | undefined,
  digits = 1,
  missing: { e?: string; c?: string } = {},
): string[] {
  const cell = (v: number | undefined, why = "not run") =>
    v === undefined || !Number.isFinite(v) ? why : v.toFixed(digits);
  const ratio = e !== undefined && c !== undefined && c !== 0 && Number.isFinite(e / c)
    ? (e / c).toFixed(2)
    : "-";
  return [label, cell(e, missing.e), cell(c, missing.c), ratio];
}
