/**
 * Minimal assertions for tests: @std/assert (JSR) is unreachable here, and node:assert lacks
 * the rejects-with-class-and-message form the tests want. Hand-written for that reason.
 */
import { deepStrictEqual } from "node:assert";

/** Throws unless `cond` is truthy. */
export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

/** Deep equality (node:assert's strict deep equal). */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  deepStrictEqual(actual, expected, msg);
}

/** Throws unless `text` matches `re`. */
export function assertMatch(text: string, re: RegExp): void {
  if (!re.test(text)) throw new Error(`expected ${re} to match:\n${text}`);
}

/** Throws unless `text` contains `part`. */
export function assertStringIncludes(text: string, part: string): void {
  if (!text.includes(part)) throw new Error(`expected to find "${part}" in:\n${text}`);
}

/** Awaits `fn` and requires it to reject with `cls` (and a message containing `includes`). */
export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  cls?: new (...args: any[]) => E,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    if (cls && !(err instanceof cls)) {
      throw new Error(
        `expected ${cls.name}, got ${err instanceof Error ? err.name : typeof err}: ${err}`,
      );
    }
    if (includes && !(err as Error).message.includes(includes)) {
      throw new Error(`expected message to include "${includes}", got "${(err as Error).message}"`);
    }
    return err as E;
  }
  throw new Error("expected the promise to reject");
}
