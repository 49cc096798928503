/**
 * A counting semaphore (hand-written: a dozen lines, and no npm package is worth the dependency).
 * Caps concurrent API requests so a burst queues here, in order, instead of piling up as open
 * requests against the API: DeviceController's status PATCHes, KubeSyncStore's ObjectSync
 * writes.
 */

import { Fifo } from "./fifo.ts";

/** See module docs. */
export class Semaphore {
  #free: number;
  readonly #waiters = new Fifo<() => void>();

  constructor(readonly size: number) {
    this.#free = Math.max(1, size);
  }

  /** Runs `fn` once a slot is free. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((r) => this.#waiters.push(r));
    try {
      return await fn();
    } finally {
      const next = this.#waiters.shift();
      if (next) next();
      else this.#free++;
    }
  }
}
