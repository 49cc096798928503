/**
 * Keepalive deadlines of many sessions on one timer. Every deadline is `now + interval` with the
 * same interval, so they expire in the order they were set: a FIFO with one timer armed for the
 * oldest live deadline replaces a timer per session (each a timer object, a closure and an entry
 * in the runtime's timer table, re-created on every keepalive). A reset leaves the old entry in
 * the FIFO; it is stale (its owner's deadline moved on) and skipped when it reaches the front.
 *
 * @example
 * ```ts
 * const timers = new KeepaliveTimers(systemClock, 30_000);
 * owner.at = timers.set(owner); // on every keepalive
 * timers.cancel(); // when the owner ends (it had a deadline)
 * ```
 */
import type { Clock, TimerHandle } from "../lib/mod.ts";

/** What {@link KeepaliveTimers} calls back. */
export interface KeepaliveOwner {
  /** The owner's current deadline (0: none); an entry with another value is stale. */
  readonly keepaliveAt: number;
  /** The current deadline passed. */
  keepaliveExpired(): void;
}

interface Entry {
  readonly owner: KeepaliveOwner;
  readonly at: number;
}

/** One FIFO and one timer for the keepalive deadlines of many owners; see module docs. */
export class KeepaliveTimers {
  readonly #clock: Clock;
  readonly intervalMs: number;
  #fifo: Entry[] = [];
  #head = 0;
  #lastAt = 0;
  #timer: TimerHandle | undefined;
  /** Owners with a deadline (the timer is dropped when none has one). */
  #owners = 0;

  constructor(clock: Clock, intervalMs: number) {
    this.#clock = clock;
    this.intervalMs = intervalMs;
  }

  /**
   * Sets `owner`'s deadline `intervalMs` from now and returns it; the owner stores it as its
   * {@link KeepaliveOwner.keepaliveAt}. Deadlines never go back in time (the FIFO's order).
   */
  set(owner: KeepaliveOwner): number {
    if (owner.keepaliveAt === 0) this.#owners++;
    const at = Math.max(this.#clock.now() + this.intervalMs, this.#lastAt);
    this.#lastAt = at;
    this.#fifo.push({ owner, at });
    // No timer: no other deadline is live, so this one is the next (the owner records it
    // only once this returns, so the FIFO cannot tell it is live yet).
    if (this.#timer === undefined) this.#armFor(at);
    return at;
  }

  /** An owner with a deadline ended (its entries are stale from now on). */
  cancel(): void {
    if (--this.#owners > 0) return;
    this.#owners = 0;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#fifo = [];
    this.#head = 0;
  }

  #live(e: Entry): boolean {
    return e.owner.keepaliveAt === e.at;
  }

  #arm(): void {
    while (this.#head < this.#fifo.length && !this.#live(this.#fifo[this.#head])) this.#head++;
    if (this.#head >= this.#fifo.length) {
      this.#fifo = [];
      this.#head = 0;
      return;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#fifo.length) {
      this.#fifo = this.#fifo.slice(this.#head);
      this.#head = 0;
    }
    this.#armFor(this.#fifo[this.#head].at);
  }

  #armFor(at: number): void {
    this.#timer = this.#clock.setTimeout(() => this.#fire(), Math.max(0, at - this.#clock.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    const due: Entry[] = [];
    while (this.#head < this.#fifo.length) {
      const e = this.#fifo[this.#head];
      if (e.at > now) break;
      this.#head++;
      if (this.#live(e)) due.push(e);
    }
    // An owner may set a new deadline or end here; each is checked again before its call.
    for (const e of due) if (this.#live(e)) e.owner.keepaliveExpired();
    if (this.#timer === undefined) this.#arm();
  }
}
