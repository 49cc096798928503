/**
 * A bounded worker pool: KubeEdge's buffered channel (`buffer.*`) drained by N goroutines
 * (`load.*`). `push` waits while the buffer is full, which back-pressures the dispatcher exactly
 * like a blocking Go channel send.
 */
import { BusClosedError, Inbox } from "../../modules/mod.ts";
import { createLogger } from "../../modules/log.ts";

const log = createLogger("edgecontroller");

/** See module docs. */
export class WorkerPool<T> {
  readonly #inbox: Inbox<T>;
  readonly #workers: Promise<void>[] = [];
  processed = 0;
  failed = 0;

  constructor(
    readonly name: string,
    buffer: number,
    workers: number,
    handler: (item: T) => Promise<void>,
  ) {
    this.#inbox = new Inbox<T>(Math.max(1, buffer), `pool ${name}`);
    for (let i = 0; i < Math.max(1, workers); i++) {
      this.#workers.push(this.#work(handler));
    }
  }

  async #work(handler: (item: T) => Promise<void>): Promise<void> {
    for (;;) {
      let item: T;
      try {
        item = await this.#inbox.shift();
      } catch (err) {
        if (err instanceof BusClosedError) return;
        throw err;
      }
      try {
        await handler(item);
        this.processed++;
      } catch (err) {
        this.failed++;
        log.error("worker failed", { pool: this.name, error: err });
      }
    }
  }

  /** Queues an item, waiting while the buffer is full. */
  push(item: T, signal?: AbortSignal): Promise<void> {
    return this.#inbox.push(item, signal);
  }

  /** Items waiting. */
  get size(): number {
    return this.#inbox.size;
  }

  /** Closes the buffer (queued items are dropped) and waits for running handlers to finish. */
  async stop(): Promise<void> {
    this.#inbox.close();
    await Promise.all(this.#workers);
  }
}
