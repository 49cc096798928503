/**
 * The connections multiplexed over one CloudStream tunnel (docs/protocol.md §10), the same on both
 * ends: a connect message opens connection `id`, DATA messages carry its bytes either way, and
 * REMOVE_CONNECT from either side ends it. KubeEdge has no per-connection flow control; neither
 * does the wire here, so a reader that falls behind pauses the whole tunnel's socket (as a
 * blocked Go reader does) and a writer waits while more than {@link MAX_IN_FLIGHT} bytes are
 * queued on the socket.
 */
import { encodeTunnelMessage, type TunnelMessage, TunnelMessageType } from "./message.ts";

/** The socket under a tunnel, as the mux needs it. */
export interface TunnelSocket {
  /** Sends one frame payload (a WebSocket text frame); `done` runs once it left the process. */
  send(frame: Uint8Array, done: (err?: Error) => void): void;
  /** Stops / restarts reading frames. */
  pause(): void;
  resume(): void;
}

/** Bytes a connection may have queued on the socket before its writer waits. */
export const MAX_IN_FLIGHT = 1 << 20;
/** Largest DATA payload we send (edgecore sends 256-byte reads; bigger is cheaper). */
export const DATA_CHUNK = 32 * 1024;
/** Unread bytes one connection may hold before the tunnel's socket is paused. */
const READ_HIGH_WATER = 1 << 20;

/** One multiplexed connection. */
export class TunnelConn {
  /** Bytes from the peer. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer (each write waits for socket room). */
  readonly writable: WritableStream<Uint8Array>;
  /** Resolves once the connection ended (either side). */
  readonly ended: Promise<void>;
  #ctrl!: ReadableStreamDefaultController<Uint8Array>;
  #end!: () => void;
  #done = false;
  #readerPaused = false;
  #inFlight = 0;
  #room: (() => void) | undefined;

  constructor(readonly id: number, readonly mux: TunnelMux) {
    this.ended = new Promise((r) => this.#end = r);
    this.readable = new ReadableStream<Uint8Array>({
      start: (c) => void (this.#ctrl = c),
      pull: () => this.#resumeReader(),
      cancel: () => this.close(),
    }, new ByteLengthQueuingStrategy({ highWaterMark: READ_HIGH_WATER }));
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.write(chunk),
      close: () => this.close(),
      abort: () => this.close(),
    });
  }

  /** True once ended. */
  get closed(): boolean {
    return this.#done;
  }

  /** Sends bytes as DATA messages; resolves when the socket has room for more. */
  async write(chunk: Uint8Array): Promise<void> {
    for (let at = 0; at < chunk.length; at += DATA_CHUNK) {
      if (this.#done) throw new Error(`tunnel connection ${this.id} is closed`);
      const part = chunk.subarray(at, Math.min(chunk.length, at + DATA_CHUNK));
      this.#inFlight += part.length;
      this.mux.sendMessage(this.id, TunnelMessageType.Data, part, () => {
        this.#inFlight -= part.length;
        if (this.#inFlight <= MAX_IN_FLIGHT / 2) this.#room?.();
      });
      if (this.#inFlight > MAX_IN_FLIGHT) {
        await new Promise<void>((r) => this.#room = r);
        this.#room = undefined;
      }
    }
  }

  /** Ends the connection and tells the peer (REMOVE_CONNECT), once. */
  close(): void {
    if (this.#done) return;
    this.mux.sendMessage(this.id, TunnelMessageType.RemoveConnect);
    this.#finish();
  }

  /** Data arrived from the peer. */
  deliver(data: Uint8Array): void {
    if (this.#done || data.length === 0) return;
    this.#ctrl.enqueue(data.slice());
    if ((this.#ctrl.desiredSize ?? 1) <= 0 && !this.#readerPaused) {
      this.#readerPaused = true;
      this.mux.pauseFor();
    }
  }

  /** The peer removed the connection (or the tunnel went away). */
  remoteEnded(): void {
    this.#finish();
  }

  #resumeReader(): void {
    if (!this.#readerPaused) return;
    this.#readerPaused = false;
    this.mux.resumeFor();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#resumeReader();
    try {
      this.#ctrl.close();
    } catch { /* already closed or cancelled */ }
    this.#room?.();
    this.mux.forget(this.id);
    this.#end();
  }
}

/** A new connection the peer opened (edge side: the cloud's connect messages). */
export type AcceptFn = (msg: TunnelMessage, conn: TunnelConn) => void;

/** The connections of one tunnel. */
export class TunnelMux {
  readonly #conns = new Map<number, TunnelConn>();
  #paused = 0;
  #closed = false;

  constructor(readonly socket: TunnelSocket, readonly accept?: AcceptFn) {}

  /** Live connections. */
  get size(): number {
    return this.#conns.size;
  }

  /** Opens connection `id` with a connect message of `type` carrying `connector` JSON. */
  open(id: number, type: number, connector: unknown): TunnelConn {
    if (this.#closed) throw new Error("the stream tunnel is closed");
    const conn = new TunnelConn(id, this);
    this.#conns.set(id, conn);
    this.sendMessage(id, type, new TextEncoder().encode(JSON.stringify(connector)));
    return conn;
  }

  /** Routes one decoded message. Messages for unknown connections are ignored, as KubeEdge does. */
  dispatch(msg: TunnelMessage): void {
    const conn = this.#conns.get(msg.connectId);
    switch (msg.type) {
      case TunnelMessageType.Data:
        conn?.deliver(msg.data);
        return;
      case TunnelMessageType.RemoveConnect:
        conn?.remoteEnded();
        return;
      default:
        if (this.accept && !conn && msg.type !== TunnelMessageType.CloseConnect) {
          const c = new TunnelConn(msg.connectId, this);
          this.#conns.set(msg.connectId, c);
          this.accept(msg, c);
        }
    }
  }

  /** Sends one message; errors (a closed socket) end the tunnel's connections via `closeAll`. */
  sendMessage(id: number, type: number, data?: Uint8Array, done?: () => void): void {
    this.socket.send(encodeTunnelMessage(id, type, data), () => done?.());
  }

  /** Ends every connection (the tunnel closed). */
  closeAll(): void {
    this.#closed = true;
    for (const c of [...this.#conns.values()]) c.remoteEnded();
  }

  /** @internal */
  forget(id: number): void {
    this.#conns.delete(id);
  }

  /** @internal A connection's reader is full. */
  pauseFor(): void {
    if (this.#paused++ === 0) this.socket.pause();
  }

  /** @internal A connection's reader has room again. */
  resumeFor(): void {
    if (--this.#paused === 0) this.socket.resume();
  }
}
