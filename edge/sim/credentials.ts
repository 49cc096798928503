/**
 * Node credentials for the simulator: each node bootstraps by token against the cert server once
 * (edge/bootstrap.ts, exactly as edgecore), and the result is cached in a directory so the next
 * run with the same CA reuses it instead of signing thousands of CSRs again.
 *
 * @example
 * ```ts
 * const creds = await obtainCredentials(["sim-0", "sim-1"], {
 *   certServer: "127.0.0.1:10002", token, cacheDir: ".edgecloud/edge-sim",
 * });
 * ```
 */
import { bootstrap } from "../bootstrap.ts";
import { splitToken } from "../../pki/mod.ts";
import type { NodeCredentials } from "./link.ts";

/** Options of {@link obtainCredentials}. */
export interface CredentialOptions {
  /** Cert server `host:port`. */
  certServer: string;
  /** Join token `<ca hash>.<jwt>`. */
  token: string;
  /** Cache directory (default: no cache). Entries live under `<dir>/<ca hash>/<node>.json`. */
  cacheDir?: string;
  /** Bootstraps in flight at once (default 8). */
  concurrency?: number;
  /**
   * Bootstrap one identity (`sharedName`) and use it for every node. Only works against a hub
   * with `authorization: false` (the cert CN will not match the node id).
   */
  shared?: boolean;
  /** Name of the shared identity (default `edge-sim`). */
  sharedName?: string;
  /** Called after each node's credentials are ready (progress). */
  onProgress?: (done: number, total: number) => void;
}

async function cached(
  dir: string | undefined,
  name: string,
  make: () => Promise<NodeCredentials>,
): Promise<NodeCredentials> {
  if (!dir) return await make();
  const file = `${dir}/${name}.json`;
  try {
    return JSON.parse(await Deno.readTextFile(file)) as NodeCredentials;
  } catch {
    // not cached yet (or unreadable): bootstrap and store
  }
  const creds = await make();
  await Deno.writeTextFile(file, JSON.stringify(creds), { mode: 0o600 });
  return creds;
}

/** Bootstraps (or loads cached) credentials for every name; see module docs. */
export async function obtainCredentials(
  names: readonly string[],
  opts: CredentialOptions,
): Promise<Map<string, NodeCredentials>> {
  const { caHash } = splitToken(opts.token);
  const dir = opts.cacheDir ? `${opts.cacheDir}/${caHash.slice(0, 16)}` : undefined;
  if (dir) await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const make = (nodeName: string) => async () => {
    const c = await bootstrap({ server: opts.certServer, token: opts.token, nodeName });
    return { caPem: c.caPem, certPem: c.certPem, keyPem: c.keyPem };
  };
  const out = new Map<string, NodeCredentials>();
  if (opts.shared) {
    const name = opts.sharedName ?? "edge-sim";
    const creds = await cached(dir, name, make(name));
    for (const n of names) out.set(n, creds);
    opts.onProgress?.(names.length, names.length);
    return out;
  }
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++];
      out.set(name, await cached(dir, name, make(name)));
      opts.onProgress?.(++done, names.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 8) }, worker));
  return out;
}
