/**
 * A first-in first-out queue with O(1) `push` and `shift`.
 *
 * `Array.prototype.shift` moves every remaining element. An inbox drained by many waiting
 * receivers (a worker pool of `nodeLimit` workers: `queryNodeWorkers`, `createLeaseWorkers`)
 * keeps thousands of them queued, and each hand-over paid for the whole array: 3 % of the hub's
 * CPU in `deno task bench:latency --profile` at 1,000 nodes. Hand-written because it is a
 * dozen lines and no npm package is worth a dependency for it.
 *
 * @example
 * ```ts
 * const q = new Fifo<number>();
 * q.push(1);
 * q.push(2);
 * q.shift(); // 1
 * q.length; // 1
 * ```
 */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  /** Items queued. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Adds an item at the tail. */
  push(item: T): void {
    this.#items.push(item);
  }

  /** Removes and returns the oldest item; undefined when empty. */
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    // Give the consumed prefix back once it is most of the array.
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    } else if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    }
    return item;
  }

  /** Removes one item (identity); returns whether it was queued. O(n), for rare withdrawals. */
  remove(item: T): boolean {
    const i = this.#items.indexOf(item, this.#head);
    if (i < 0) return false;
    this.#items.splice(i, 1);
    return true;
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    const all = this.#items.slice(this.#head) as T[];
    this.#items = [];
    this.#head = 0;
    return all;
  }

  /** Drops every item. */
  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}
