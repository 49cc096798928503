/**
 * Turns Deno permission errors into one line naming the permission and the flag to add, e.g.
 * `permission denied: write access to /x/data; run with --allow-write=/x/data`.
 */

// Deno 2: `Requires write access to "/x", run again with the --allow-write flag`.
const REQUIRES =
  /Requires (\w+) access(?: to "([^"]*)")?, run again with the (--allow-[\w-]+) flag/;

/** Returns true for an error raised by Deno's permission checks or by the OS (EACCES). */
export function isPermissionError(err: unknown): boolean {
  return err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied;
}

/**
 * One line (without the `edgecloud: ` prefix) describing a permission error, or undefined if
 * `err` is not one.
 *
 * @example
 * ```ts
 * permissionErrorLine(new Deno.errors.NotCapable(
 *   'Requires write access to "/x/data", run again with the --allow-write flag'));
 * // "permission denied: write access to /x/data; run with --allow-write=/x/data"
 * ```
 */
export function permissionErrorLine(err: unknown): string | undefined {
  if (!isPermissionError(err)) {
    // Libraries wrap Deno's refusal (client-node's node-fetch: `request to https://h:p/...
    // failed, reason: Requires net access to "h:p", ...`): look through messages and causes.
    const wrapped = wrappedRequires(err);
    return wrapped ? requiresLine(wrapped) : undefined;
  }
  const message = (err as Error).message;
  const m = REQUIRES.exec(message);
  if (m) return requiresLine(m);
  // The OS refused (EACCES): no Deno flag helps, say what was refused.
  return `permission denied: ${message.split("\n")[0]}`;
}

function requiresLine(m: RegExpExecArray): string {
  const [, kind, target, flag] = m;
  return target
    ? `permission denied: ${kind} access to ${target}; run with ${flag}=${target}`
    : `permission denied: ${kind} access; run with ${flag}`;
}

/** Finds Deno's "Requires ... access" text in an error's message or its `cause` chain. */
function wrappedRequires(err: unknown): RegExpExecArray | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const m = REQUIRES.exec(e.message);
    if (m) return m;
  }
  return undefined;
}
