/**
 * Pieces of "edgecloud beside cloudcore" that need no process: where cloudcore's binary comes
 * from, and one figure for both hubs as report cells with their ratio.
 */

/** cloudcore's binary from the flag or CLOUDCORE_BIN ("" when neither is given). */
export function cloudcoreBin(flag: string | undefined): string {
  return flag ?? Deno.env.get("CLOUDCORE_BIN") ?? "";
}

/** A figure for edgecloud and cloudcore (undefined = not run) as table cells with the ratio. */
export function sideBySide(
  label: string,
  e: number | undefined,
  c: number | undefined,
  digits = 1,
): string[] {
  const cell = (v: number | undefined) =>
    v === undefined || !Number.isFinite(v) ? "not run" : v.toFixed(digits);
  const ratio = e !== undefined && c !== undefined && c !== 0 && Number.isFinite(e / c)
    ? (e / c).toFixed(2)
    : "-";
  return [label, cell(e), cell(c), ratio];
}
