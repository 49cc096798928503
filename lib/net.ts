/**
 * Host-name helpers shared by the servers and clients.
 *
 * @example
 * ```ts
 * import { isIpLiteral } from "./lib/mod.ts";
 * isIpLiteral("10.0.0.1"); // true
 * isIpLiteral("localhost"); // false
 * ```
 */

/** True when `host` is an IP address literal (dotted IPv4, or anything with a colon: IPv6). */
export function isIpLiteral(host: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.includes(":");
}
