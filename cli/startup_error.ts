/**
 * The single stderr line for an error that stops `edgecloud` from starting: no stack traces.
 */
import { ConfigError } from "../config/error.ts";
import { UsageError } from "./args.ts";
import { permissionErrorLine } from "./permissions_error.ts";

/** Formats `err` as `edgecloud: <one line>`. */
export function startupErrorLine(err: unknown): string {
  const line = (text: string) => `edgecloud: ${text.replace(/\s*[\r\n]+\s*/g, " ").trim()}`;
  if (err instanceof ConfigError || err instanceof UsageError) return line(err.message);
  const permission = permissionErrorLine(err);
  if (permission) return line(permission);
  if (err instanceof Deno.errors.AddrInUse) return line(`address in use: ${err.message}`);
  if (err instanceof Error) return line(err.message || err.name);
  return line(String(err));
}
