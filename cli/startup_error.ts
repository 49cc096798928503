/**
 * The single stderr line for an error that stops `edgecloud` from starting: no stack traces.
 */
import { ConfigError } from "../config/mod.ts";
import { UsageError } from "./args.ts";
import { permissionErrorLine } from "./permissions_error.ts";

/** Formats `err` as `edgecloud: <one line>`. */
export function startupErrorLine(err: unknown): string {
  const line = (text: string) => `edgecloud: ${text.replace(/\s*[\r\n]+\s*/g, " ").trim()}`;
  if (err instanceof ConfigError || err instanceof UsageError) return line(err.message);
  const permission = permissionErrorLine(err);
  if (permission) return line(permission);
  if (err instanceof Deno.errors.AddrInUse) return line(`address in use: ${err.message}`);
  const unstable = unstableFlagLine(err);
  if (unstable) return line(unstable);
  if (err instanceof Error) return line(err.message || err.name);
  return line(String(err));
}

// Unstable APIs are simply absent without their flag; say which flag instead of "is not a function".
const UNSTABLE: ReadonlyArray<[RegExp, string]> = [
  [
    /Deno\.openKv is not a function/,
    "the embedded API stores its objects in Deno KV: run with --unstable-kv (or use --kubeconfig)",
  ],
  [
    /Deno\.(QuicEndpoint|listenDatagram|connectQuic)\b.*is not a (function|constructor)/,
    "QUIC and systemd notifications need --unstable-net",
  ],
];

function unstableFlagLine(err: unknown): string | undefined {
  if (!(err instanceof TypeError)) return undefined;
  return UNSTABLE.find(([pattern]) => pattern.test(err.message))?.[1];
}
