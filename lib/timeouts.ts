/**
 * Timeouts: an abortable sleep and a deadline on a promise, both leaving no timer behind (tests
 * run with sanitizers).
 *
 * @example
 * ```ts
 * import { sleep, withTimeout } from "./lib/mod.ts";
 * await sleep(10);
 * await withTimeout(fetch("http://127.0.0.1:1"), 1_000, () => new Error("too slow"));
 * ```
 */

/** An abortable sleep that leaves no timer behind (tests run with sanitizers). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * `p`, or a rejection with `onTimeout()` once `ms` pass (whichever comes first); the timer is
 * cleared either way. `p` keeps running after a timeout.
 */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
