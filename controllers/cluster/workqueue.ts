/**
 * A keyed work queue like client-go's rate-limited workqueue, for one worker: a key added while
 * queued is queued once; a key added while it is being processed runs once more afterwards; a
 * failed key is retried with capped exponential back-off; `addAfter` schedules a key later.
 * `stop()` cancels every timer and waits for the running item.
 */
import { createLogger } from "../../lib/mod.ts";

const log = createLogger("workqueue");

/** Queue settings. */
export interface WorkQueueOptions {
  /** First retry delay of a failed key (default 50 ms), doubled per failure. */
  retryBaseMs?: number;
  /** Cap of the retry delay (default 5 s). */
  retryMaxMs?: number;
}

/** See module docs. */
export class WorkQueue {
  readonly #name: string;
  readonly #process: (key: string) => Promise<void>;
  readonly #queue: string[] = [];
  readonly #queued = new Set<string>();
  readonly #timers = new Map<string, { at: number; id: ReturnType<typeof setTimeout> }>();
  readonly #failures = new Map<string, number>();
  readonly #retryBase: number;
  readonly #retryMax: number;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #stopped = false;

  constructor(name: string, process: (key: string) => Promise<void>, opts: WorkQueueOptions = {}) {
    this.#name = name;
    this.#process = process;
    this.#retryBase = opts.retryBaseMs ?? 50;
    this.#retryMax = opts.retryMaxMs ?? 5000;
  }

  /** Queues `key` now. */
  add(key: string): void {
    if (this.#stopped) return;
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#queue.push(key);
    this.#wake?.();
  }

  /** Queues `key` after `ms` (an earlier pending schedule of the same key wins). */
  addAfter(key: string, ms: number): void {
    if (this.#stopped) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const cur = this.#timers.get(key);
    if (cur && cur.at <= at) return;
    if (cur) clearTimeout(cur.id);
    const id = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, ms);
    this.#timers.set(key, { at, id });
  }

  /** Starts the worker (idempotent). */
  start(): void {
    this.#loop ??= this.#run();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const key = this.#queue.shift();
      if (key === undefined) {
        await new Promise<void>((resolve) => this.#wake = resolve);
        this.#wake = undefined;
        continue;
      }
      this.#queued.delete(key);
      try {
        await this.#process(key);
        this.#failures.delete(key);
      } catch (err) {
        if (this.#stopped) break;
        const n = (this.#failures.get(key) ?? 0) + 1;
        this.#failures.set(key, n);
        const delay = Math.min(this.#retryMax, this.#retryBase * 2 ** (n - 1));
        log.warn("sync failed, retrying", { queue: this.#name, key, retryInMs: delay, error: err });
        this.addAfter(key, delay);
      }
    }
  }

  /** Stops the worker and every timer; waits for the item in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t.id);
    this.#timers.clear();
    this.#wake?.();
    await this.#loop;
  }
}
