/**
 * The test suite's one set of assertions. Hand-written because @std/assert lives on JSR, which is
 * unreachable here; node:assert's strict deep equality is used where it is exact. Tests import
 * these, not node:assert.
 */
import { deepStrictEqual, notDeepStrictEqual } from "node:assert";

/** Fails unless `actual` deep-equals `expected` (strict). */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  deepStrictEqual(actual, expected, msg);
}

/** Fails if `actual` deep-equals `expected`. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  notDeepStrictEqual(actual, expected, msg);
}

/** Fails unless `value` is truthy. */
export function assert(value: unknown, msg = "assertion failed"): asserts value {
  if (!value) throw new Error(msg);
}

/** Fails unless `text` matches `re`. */
export function assertMatch(text: string, re: RegExp, msg?: string): void {
  if (!re.test(text)) throw new Error(msg ?? `expected ${re} to match ${JSON.stringify(text)}`);
}

/** Fails unless `text` contains `part`. */
export function assertStringIncludes(text: string, part: string, msg?: string): void {
  if (!text.includes(part)) {
    throw new Error(msg ?? `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`);
  }
}

// deno-lint-ignore no-explicit-any
type ErrorClass<E extends Error = Error> = new (...args: any[]) => E;

/** Fails unless `fn` throws (an instance of `cls`, whose message includes `includes`). */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  cls?: ErrorClass<E>,
  includes?: string,
): E {
  try {
    fn();
  } catch (err) {
    checkError(err, cls, includes);
    return err as E;
  }
  throw new Error("expected function to throw");
}

/** Async form of {@link assertThrows}. */
export async function assertRejects<E extends Error = Error>(
  fn: () => Promise<unknown>,
  cls?: ErrorClass<E>,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    checkError(err, cls, includes);
    return err as E;
  }
  throw new Error("expected promise to reject");
}

function checkError(err: unknown, cls?: ErrorClass<Error>, includes?: string): void {
  if (cls && !(err instanceof cls)) {
    throw new Error(
      `expected ${cls.name}, got ${(err as Error)?.name}: ${(err as Error)?.message}`,
    );
  }
  if (includes && !String((err as Error)?.message).includes(includes)) {
    throw new Error(
      `expected error message to include ${JSON.stringify(includes)}, got ${
        JSON.stringify((err as Error)?.message)
      }`,
    );
  }
}
