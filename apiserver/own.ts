/**
 * Own-property access to JSON objects that come from clients.
 *
 * In Kubernetes maps (labels, annotations, ConfigMap and Secret data, selectors) `constructor`,
 * `toString` or `__proto__` are ordinary keys. Reads must therefore never see Object.prototype,
 * and writes must never change a prototype: a plain `o[k] = v` with `k === "__proto__"` does
 * exactly that wherever the standard `Object.prototype.__proto__` accessor exists (Node,
 * browsers, `deno --unsafe-proto`; Deno removes it by default). These helpers are safe either way.
 */

/** A JSON object. */
export type JsonObject = Record<string, unknown>;

/** True for a JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** True when `o` is an object with an own property `k`. */
export function hasOwn(o: unknown, k: string): boolean {
  return o !== null && typeof o === "object" && Object.hasOwn(o, k);
}

/** The own property `k` of `o`, or undefined (inherited properties are never returned). */
export function getOwn(o: unknown, k: string): unknown {
  return hasOwn(o, k) ? (o as JsonObject)[k] : undefined;
}

/** Defines `o[k] = v` as an own, enumerable data property (never invokes a setter). */
export function setOwn(o: JsonObject, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
}
