/**
 * A bounded FIFO with back-pressure: `push` waits while the inbox is full, `shift` waits while
 * it is empty. Closing rejects every waiter. This is a beehive module channel (buffer 1024).
 */

import { Fifo } from "../lib/mod.ts";

/** Thrown to waiters when an inbox or the bus is closed. */
export class BusClosedError extends Error {
  override name = "BusClosedError";
}

interface PendingPush<T> {
  item: T;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface PendingShift<T> {
  resolve: (item: T) => void;
  reject: (err: Error) => void;
}

/** Bounded async queue (see module docs). */
export class Inbox<T> {
  // Fifo, not arrays: thousands of receivers can wait on one inbox (a worker pool).
  readonly #items = new Fifo<T>();
  readonly #pushers = new Fifo<PendingPush<T>>();
  readonly #shifters = new Fifo<PendingShift<T>>();
  #closed = false;

  constructor(readonly capacity: number, readonly label = "inbox") {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`${label}: capacity must be >= 1`);
    }
  }

  /** Items buffered (not counting senders blocked by back-pressure). */
  get size(): number {
    return this.#items.length;
  }

  /** Senders currently waiting for room. */
  get blockedSenders(): number {
    return this.#pushers.length;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Adds an item, waiting for room while full. An aborted `signal` withdraws the item and
   * rejects with the signal's reason, so a timed-out sender leaves nothing behind.
   */
  push(item: T, signal?: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.reject(new BusClosedError(`${this.label} is closed`));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const waiter = this.#shifters.shift();
    if (waiter) {
      waiter.resolve(item);
      return Promise.resolve();
    }
    if (this.#items.length < this.capacity) {
      this.#items.push(item);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const pending: PendingPush<T> = { item, resolve, reject };
      this.#pushers.push(pending);
      if (signal) {
        const onAbort = () => {
          if (this.#pushers.remove(pending)) reject(signal.reason);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        const done = () => signal.removeEventListener("abort", onAbort);
        pending.resolve = () => {
          done();
          resolve();
        };
        pending.reject = (err) => {
          done();
          reject(err);
        };
      }
    });
  }

  /** Adds an item only if there is room now; returns false otherwise. */
  tryPush(item: T): boolean {
    if (this.#closed) return false;
    const waiter = this.#shifters.shift();
    if (waiter) {
      waiter.resolve(item);
      return true;
    }
    if (this.#items.length >= this.capacity) return false;
    this.#items.push(item);
    return true;
  }

  /** Takes the oldest item if there is one now (making room for a blocked sender); else undefined. */
  tryShift(): T | undefined {
    if (this.#items.length === 0) return undefined;
    const item = this.#items.shift() as T;
    const pusher = this.#pushers.shift();
    if (pusher) {
      this.#items.push(pusher.item);
      pusher.resolve();
    }
    return item;
  }

  /** Takes the oldest item, waiting while empty. Rejects with BusClosedError once closed and drained. */
  shift(): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.tryShift() as T);
    if (this.#closed) return Promise.reject(new BusClosedError(`${this.label} is closed`));
    return new Promise<T>((resolve, reject) => this.#shifters.push({ resolve, reject }));
  }

  /**
   * Closes the inbox: blocked senders and receivers are rejected. Buffered items are dropped
   * unless `drain` is true, in which case receivers may still take them.
   */
  close(drain = false): void {
    if (this.#closed) return;
    this.#closed = true;
    const err = new BusClosedError(`${this.label} is closed`);
    for (const p of this.#pushers.drain()) p.reject(err);
    for (const s of this.#shifters.drain()) s.reject(err);
    if (!drain) this.#items.clear();
  }
}
