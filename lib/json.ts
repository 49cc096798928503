/**
 * Structural equality of JSON values, as the API server, the edge controller and the device
 * controller all compare objects.
 *
 * @example
 * ```ts
 * import { jsonEqual } from "./lib/mod.ts";
 * jsonEqual({ a: 1, b: [2] }, { b: [2], a: 1, c: undefined }); // true
 * ```
 */

/** Deep structural equality of JSON values (key order ignored; an `undefined` value is a missing key). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>, bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => jsonEqual(ao[k], bo[k]));
}

/** True for a plain JSON object (not null, not an array). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
