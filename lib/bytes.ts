/**
 * Byte helpers every layer shares: base64 in and out, and joining chunks.
 *
 * @example
 * ```ts
 * import { concat, decodeBase64, encodeBase64 } from "./lib/mod.ts";
 * const joined = concat([new Uint8Array([1]), new Uint8Array([2, 3])]);
 * decodeBase64(encodeBase64(joined)); // Uint8Array [1, 2, 3]
 * ```
 */

/** Base64 of bytes, in slices so large values do not overflow the argument limit. */
export function encodeBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** Bytes of standard base64 text; throws (as `atob` does) when `text` is not base64. */
export function decodeBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** Bytes of base64url text (padding optional). */
export function decodeBase64Url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return decodeBase64(b64 + "=".repeat((4 - b64.length % 4) % 4));
}

/** The chunks joined into one array. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.byteLength;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}
