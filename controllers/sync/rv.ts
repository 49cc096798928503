/**
 * resourceVersion comparison as `synccontroller.CompareResourceVersion`: both sides are
 * unsigned 64-bit decimals. KubeEdge panics on non-numeric values; edgecloud treats them as
 * "not newer" and logs instead.
 */

/** Thrown for a resourceVersion that is not a uint64 decimal. */
export class ResourceVersionError extends Error {
  override name = "ResourceVersionError";
}

/** Parses a resourceVersion as uint64. */
export function parseResourceVersion(rv: string): bigint {
  if (!/^\d{1,20}$/.test(rv)) {
    throw new ResourceVersionError(`resourceVersion ${JSON.stringify(rv)} is not a uint64`);
  }
  const v = BigInt(rv);
  if (v > 0xffffffffffffffffn) {
    throw new ResourceVersionError(`resourceVersion ${rv} overflows uint64`);
  }
  return v;
}

/** -1, 0 or 1 like Go's comparison of the two parsed values. */
export function compareResourceVersion(a: string, b: string): number {
  const x = parseResourceVersion(a);
  const y = parseResourceVersion(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
