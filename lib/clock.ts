/**
 * An injectable clock with timers, so keepalive and resend logic can be tested by advancing
 * time instead of sleeping.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const t = clock.setTimeout(() => console.log("fired"), 5_000);
 * clock.advance(5_000); // prints "fired"
 * ```
 */

/** Opaque timer handle. */
export type TimerHandle = number;

/** Time source and one-shot timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock (Date.now and global timers). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => clearTimeout(handle),
};

interface ManualTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/** A clock that only moves when {@link ManualClock.advance} is called (tests). */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<TimerHandle, ManualTimer>();

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = ++this.#seq;
    this.#timers.set(handle, { at: this.#now + Math.max(0, ms), seq: handle, fn });
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle);
  }

  /** Number of armed timers. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward, firing due timers in order (including ones they arm on the way). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: [TimerHandle, ManualTimer] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at > target) continue;
        if (
          !next || entry[1].at < next[1].at ||
          (entry[1].at === next[1].at && entry[1].seq < next[1].seq)
        ) {
          next = entry;
        }
      }
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = Math.max(this.#now, next[1].at);
      next[1].fn();
    }
    this.#now = target;
  }
}
