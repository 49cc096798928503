/**
 * The per-node no-ack queue (docs/protocol.md §4.1, §4.4): fire-and-forget messages in arrival order.
 *
 * Unlike KubeEdge (which discards an offline node's pool on reconnect, §4.6), the queue belongs
 * to the node and is delivered when it reconnects. It is bounded: when `capacity` messages
 * (default 1000) wait, the oldest is dropped and counted, because no-ack traffic (lists, status
 * responses, membership) is either superseded by newer messages or re-requested by the edge.
 */
import type { Message } from "../modules/mod.ts";

/** Options of {@link NoAckQueue}. */
export interface NoAckQueueOptions {
  /** Maximum messages kept per node (default 1000). */
  capacity?: number;
  /** Called with each message dropped because the queue was full. */
  onOverflow?: (msg: Message) => void;
  /** Called when the depth changes by `delta`. */
  onDepth?: (delta: number) => void;
}

const noop = () => {};

/** Default bound of a node's no-ack queue. */
export const DefaultNoAckCapacity = 1000;

/** A bounded FIFO with an async `next`, or {@link tryNext} + {@link onReady} for one consumer. */
export class NoAckQueue {
  readonly capacity: number;
  #items: Message[] = [];
  #head = 0;
  /** Wake-ups of consumers waiting for a message (usually none or one: the node's session). */
  #waiters: Array<() => void> | undefined;
  readonly #onOverflow: (msg: Message) => void;
  readonly #onDepth: (delta: number) => void;

  constructor(opts: NoAckQueueOptions = {}) {
    this.capacity = opts.capacity ?? DefaultNoAckCapacity;
    this.#onOverflow = opts.onOverflow ?? noop;
    this.#onDepth = opts.onDepth ?? noop;
  }

  /** Messages waiting. */
  get depth(): number {
    return this.#items.length - this.#head;
  }

  /** Appends a message, dropping the oldest when full. */
  push(msg: Message): void {
    if (this.depth >= this.capacity) {
      const dropped = this.#items[this.#head];
      this.#head++;
      this.#onDepth(-1);
      this.#onOverflow(dropped);
    }
    this.#items.push(msg);
    this.#onDepth(1);
    const waiters = this.#waiters;
    if (!waiters?.length) return;
    this.#waiters = undefined;
    for (const w of waiters) w();
  }

  /** Puts a message back at the front (a write that failed before reaching the socket). */
  unshift(msg: Message): void {
    if (this.#head > 0) this.#items[--this.#head] = msg;
    else this.#items.unshift(msg);
    this.#onDepth(1);
  }

  /** Takes the oldest message, or undefined when none waits. */
  tryNext(): Message | undefined {
    if (this.depth === 0) return undefined;
    const msg = this.#items[this.#head];
    this.#head++;
    if (this.#head === this.#items.length) {
      // Empty: start over, so an idle node's queue keeps no delivered message alive.
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    this.#onDepth(-1);
    return msg;
  }

  /**
   * Calls `callback` once, synchronously, on the next {@link push}; registering the same
   * callback twice before then registers it once. How a session waits without a promise.
   */
  onReady(callback: () => void): void {
    const waiters = this.#waiters ??= [];
    if (!waiters.includes(callback)) waiters.push(callback);
  }

  /** Withdraws a callback registered with {@link onReady}. */
  offReady(callback: () => void): void {
    const waiters = this.#waiters;
    const i = waiters ? waiters.indexOf(callback) : -1;
    if (i >= 0) waiters!.splice(i, 1);
  }

  /** Takes the oldest message, waiting for one; rejects when `signal` aborts. */
  async next(signal: AbortSignal): Promise<Message> {
    for (;;) {
      signal.throwIfAborted();
      const msg = this.tryNext();
      if (msg !== undefined) return msg;
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          this.offReady(wake);
          reject(signal.reason);
        };
        const wake = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        this.onReady(wake);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    }
  }

  /** Drops everything (node deleted, hub stopping). */
  clear(): void {
    this.#onDepth(-this.depth);
    this.#items = [];
    this.#head = 0;
  }
}
