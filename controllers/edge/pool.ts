/**
 * A bounded worker pool: KubeEdge's buffered channel (`buffer.*`) drained by N goroutines
 * (`load.*`). `push` waits while the buffer is full, which back-pressures the dispatcher exactly
 * like a blocking Go channel send.
 *
 * The N workers are a limit on handlers running at once, not N waiting tasks. KubeEdge sizes
 * some of them by the node limit (`queryNodeWorkers`, `createLeaseWorkers`: one per node), which
 * costs Go an idle goroutine each; a suspended async function per idle worker cost this process
 * ~200,000 generators, promises and closures at `nodeLimit: 100000` (~1 KB each, most of the
 * hub's heap in a snapshot taken during `deno task bench:fanout`), all of it marked again by
 * every major GC. A handler now exists only while it runs.
 *
 * @example
 * ```ts
 * const pool = new WorkerPool<string>("nodeStatus", 1024, 1, async (item) => await save(item));
 * await pool.push("n1"); // resolves once the item is running or buffered
 * await pool.stop();
 * ```
 */
import { BusClosedError, Inbox } from "../../modules/mod.ts";
import { createLogger } from "../../lib/mod.ts";

const log = createLogger("edgecontroller");

/** See module docs. */
export class WorkerPool<T> {
  readonly #buffer: Inbox<T>;
  readonly #limit: number;
  readonly #handler: (item: T) => Promise<void>;
  /** Handlers started and not yet settled. */
  #running = 0;
  #stopped = false;
  #idle: Array<() => void> = [];
  processed = 0;
  failed = 0;

  constructor(
    readonly name: string,
    buffer: number,
    workers: number,
    handler: (item: T) => Promise<void>,
  ) {
    this.#buffer = new Inbox<T>(Math.max(1, buffer), `pool ${name}`);
    this.#limit = Math.max(1, workers);
    this.#handler = handler;
  }

  /**
   * Queues an item: it starts at once while fewer than `workers` handlers run and nothing is
   * buffered (items run in arrival order when the limit is 1), else it waits in the buffer, and
   * the returned promise waits while the buffer is full.
   */
  push(item: T, signal?: AbortSignal): Promise<void> {
    if (this.#stopped) return Promise.reject(new BusClosedError(`pool ${this.name} is closed`));
    if (this.#running < this.#limit && this.#buffer.size === 0) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      this.#start(item);
      return Promise.resolve();
    }
    return this.#buffer.push(item, signal);
  }

  /** Items waiting. */
  get size(): number {
    return this.#buffer.size;
  }

  /** Handlers running now. */
  get running(): number {
    return this.#running;
  }

  /** Closes the buffer (queued items are dropped) and waits for running handlers to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#buffer.close();
    if (this.#running > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #start(item: T): void {
    this.#running++;
    // A microtask, as a waiting goroutine would pick the item up: the pusher's stack unwinds
    // before the handler runs.
    queueMicrotask(() => this.#run(item));
  }

  async #run(item: T): Promise<void> {
    try {
      await this.#handler(item);
      this.processed++;
    } catch (err) {
      this.failed++;
      log.error("worker failed", { pool: this.name, error: err });
    }
    this.#running--;
    if (!this.#stopped && this.#buffer.size > 0) {
      this.#start(this.#buffer.tryShift() as T);
      return;
    }
    if (this.#running === 0) { for (const resolve of this.#idle.splice(0)) resolve(); }
  }
}
