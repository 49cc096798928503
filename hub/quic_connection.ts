/**
 * A node connected over QUIC as the hub's sessions see it: an {@link EdgeConnection} over a
 * `Deno.QuicConn`. Upstream messages from every stream go through one {@link InboundQueue}
 * (reading pauses while the handlers catch up); downstream messages go out, in order, on one
 * stream the hub opens itself.
 */
import { createLogger } from "../lib/mod.ts";
import { type Message, sharedContentBytes } from "../modules/mod.ts";
import { QuicCloseCode, StreamIo, UseType } from "../protocol/mod.ts";
import type { EdgeConnection } from "./transport.ts";
import { InboundQueue } from "./inbound.ts";

const log = createLogger("quic");

/** A node connected over QUIC, as sessions see it. */
export class QuicEdgeConnection implements EdgeConnection {
  readonly transport = "quic" as const;
  readonly closed: Promise<string>;
  #inbound: InboundQueue | null = null;
  readonly #backlog: Message[] = [];
  /** Stream readers waiting for the handlers to catch up (back-pressure). */
  readonly #resumers: Array<() => void> = [];
  #down: Promise<StreamIo> | null = null;
  readonly #streams = new Set<StreamIo>();
  #closed = false;
  #localReason: string | null = null;

  constructor(
    readonly conn: Deno.QuicConn,
    readonly nodeId: string,
    readonly projectId: string,
    readonly remoteAddress: string,
    closed: Promise<string>,
    readonly serveStream: (io: StreamIo) => void,
  ) {
    // A local close reports our own reason (Deno's `closed` then carries no reason).
    this.closed = closed.then((reason) => {
      this.#closed = true;
      return this.#localReason ?? reason;
    });
  }

  addStream(io: StreamIo): void {
    this.#streams.add(io);
  }

  removeStream(io: StreamIo): void {
    this.#streams.delete(io);
  }

  /**
   * Hands a message to the session (see InboundQueue). Resolves at once unless too many wait,
   * then once the handlers catch up: the stream readers await it, so reading stops meanwhile.
   */
  deliver(msg: Message): Promise<void> {
    if (!this.#inbound) {
      this.#backlog.push(msg);
      return Promise.resolve();
    }
    this.#inbound.push(msg);
    if (!this.#inbound.paused) return Promise.resolve();
    return new Promise((resolve) => this.#resumers.push(resolve));
  }

  /** True while the stream readers wait for the handlers to catch up (back-pressure). */
  get readPaused(): boolean {
    return this.#inbound?.paused ?? false;
  }

  onMessage(handler: (msg: Message) => void | Promise<void>): void {
    this.#inbound = new InboundQueue(
      handler,
      { pause: () => {}, resume: () => this.#resumers.splice(0).forEach((r) => r()) },
      (err) => log.error("message handler failed", { node: this.nodeId, error: err }),
    );
    for (const msg of this.#backlog.splice(0)) void this.deliver(msg);
  }

  write(msg: Message): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new Error(`QUIC connection to ${this.nodeId} is closed`));
    }
    if (!this.#down) {
      this.#down = (async () => {
        const io = new StreamIo(await this.conn.createBidirectionalStream());
        await io.writeRaw(new TextEncoder().encode(UseType.Message));
        return io;
      })();
      // The node may answer on this stream too.
      this.#down.then((io) => this.serveStream(io)).catch(() => {});
    }
    // A content shared by many nodes' messages (one object change) is encoded once.
    const content = sharedContentBytes(msg.content);
    return this.#down.then((io) => io.write(msg, content));
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#localReason = reason;
    try {
      this.conn.close({ closeCode: QuicCloseCode.Normal, reason });
    } catch {
      // already closed
    }
  }
}
