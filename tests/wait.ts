/**
 * The test suite's one wait-until helper: polls `probe` until it returns a value that counts as
 * done, then returns that value; fails naming `what` (and the last error, when errors are
 * retried) after the timeout. Every test module's own helper name delegates here.
 */

/** How {@link waitUntil} polls. */
export interface WaitOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Pause between probes (default 20 ms). */
  intervalMs?: number;
  /** A probe that throws is retried instead of failing at once (the last error is reported). */
  retryErrors?: boolean;
  /** Done when the value is not `undefined` (default: when it is truthy). */
  defined?: boolean;
  /** More context for the failure message. */
  detail?: () => string;
}

/** A value that counts as done by truthiness. */
export type Done<T> = Exclude<T, false | undefined | null | 0 | "">;

/** See module docs. */
export async function waitUntil<T>(
  probe: () => T | Promise<T>,
  what: string,
  opts: WaitOptions = {},
): Promise<Done<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (opts.defined ? v !== undefined : v) return v as Done<T>;
    } catch (err) {
      if (!opts.retryErrors) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      const extra = [opts.detail?.(), last ? String(last) : ""].filter(Boolean).join(": ");
      throw new Error(`timed out waiting for ${what}${extra ? `: ${extra}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
  }
}
