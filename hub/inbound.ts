/**
 * How a transport hands one connection's incoming messages to the session: one at a time in
 * arrival order, except {@link isOrderFree} ones (keepalives, ACKs), which run as soon as they
 * are read; and when too many wait for a slow handler, the transport stops reading (WebSocket:
 * `ws.pause()`; QUIC: the stream readers wait) until the handlers catch up ({@link ReadPause}).
 * WebSocket and QUIC share this so a node behaves the same on either.
 *
 * @example
 * ```ts
 * const inbound = new InboundQueue(handler, { pause: () => ws.pause(), resume: () => ws.resume() }, logError);
 * inbound.push(msg);
 * ```
 */
import { Operation } from "../modules/mod.ts";
import type { Message } from "../modules/mod.ts";

/**
 * Per-connection read back-pressure: a transport stops reading a node once more than
 * `pauseAbove` of its messages wait for their handlers, and reads again below `resumeBelow`.
 */
export const ReadPause = { pauseAbove: 64, resumeBelow: 16 } as const;

/**
 * Messages whose handling depends on no earlier message from the node: keepalives (reset a timer)
 * and responses (settle an ACK or a volume request). Transports handle them as soon as they are
 * read instead of queueing them behind slow upstream handlers (a nodestatus waiting on a busy
 * API), which at 1,000 nodes delayed keepalives past their interval and closed healthy sessions.
 */
export function isOrderFree(msg: Message): boolean {
  const op = msg.route.operation;
  return op === Operation.Keepalive || op === Operation.Response;
}

/** What the queue tells the transport when reading must stop or may go on. */
export interface ReadFlow {
  pause(): void;
  resume(): void;
}

/** One connection's incoming messages on their way to the handler; see module docs. */
export class InboundQueue {
  /** The handler chain while messages wait (unset when none does). */
  #chain: Promise<void> | undefined;
  /** Messages queued or running in the handler chain. */
  #pending = 0;
  #paused = false;

  constructor(
    readonly handler: (msg: Message) => void | Promise<void>,
    readonly flow: ReadFlow,
    readonly onError: (err: unknown) => void,
  ) {}

  /** True while reading is paused (back-pressure). */
  get paused(): boolean {
    return this.#paused;
  }

  /** Hands `msg` to the handler now or after the messages before it. */
  push(msg: Message): void {
    // Run at once when nothing waits (ACKs and keepalives complete synchronously: no promise
    // chain), or when the message depends on no earlier one: keepalives and ACKs do not wait
    // behind slow handlers, and later messages do not wait for them.
    const orderFree = this.#pending > 0 && isOrderFree(msg);
    if (this.#pending === 0 || orderFree) {
      let result: void | Promise<void>;
      try {
        result = this.handler(msg);
      } catch (err) {
        this.onError(err);
        return;
      }
      if (!(result instanceof Promise)) return;
      if (orderFree) {
        result.catch(this.onError);
        return;
      }
      this.#pending++;
      this.#chain = result.catch(this.onError).finally(() => this.#settled());
      return;
    }
    this.#pending++;
    if (this.#pending > ReadPause.pauseAbove && !this.#paused) {
      this.#paused = true;
      this.flow.pause();
    }
    this.#chain = (this.#chain ?? Promise.resolve()).then(async () => {
      try {
        await this.handler(msg);
      } catch (err) {
        this.onError(err);
      } finally {
        this.#settled();
      }
    });
  }

  #settled(): void {
    // Idle: drop the settled chain (one promise per connection otherwise kept for nothing).
    if (--this.#pending === 0) this.#chain = undefined;
    if (this.#paused && this.#pending < ReadPause.resumeBelow) {
      this.#paused = false;
      this.flow.resume();
    }
  }
}
