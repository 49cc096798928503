/**
 * A SPDY/3.1 connection over a byte pipe, as moby/spdystream (Kubernetes' httpstream) uses it:
 * streams opened with SYN_STREAM and answered with SYN_REPLY, data until a FIN each way, RST to
 * abort, PING echoed, GOAWAY to end. Like spdystream there is no flow control (WINDOW_UPDATE and
 * SETTINGS are read and ignored); instead a stream whose reader falls behind pauses reading the
 * connection. A frame that breaks the protocol ends this connection, nothing else.
 */
import {
  concat,
  FLAG_FIN,
  type Frame,
  FrameReader,
  FrameWriter,
  RstStatus,
  type SpdyHeaders,
  SpdyProtocolError,
} from "./frames.ts";

/** The byte pipe under a connection. */
export interface SpdyTransport {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}

/** Largest DATA frame we send. */
const MAX_DATA = 32 * 1024;
/** Unread bytes per stream before the connection stops reading. */
const STREAM_HIGH_WATER = 1 << 20;

/** One stream. */
export class SpdyStream {
  readonly readable: ReadableStream<Uint8Array>;
  #ctrl!: ReadableStreamDefaultController<Uint8Array>;
  #remoteDone = false;
  #localDone = false;
  #replied: PromiseWithResolvers<void> = Promise.withResolvers();
  #room: PromiseWithResolvers<void> | undefined;

  constructor(readonly conn: SpdyConnection, readonly id: number, readonly headers: SpdyHeaders) {
    this.readable = new ReadableStream<Uint8Array>({
      start: (c) => void (this.#ctrl = c),
      pull: () => {
        this.#room?.resolve();
        this.#room = undefined;
      },
      cancel: () => this.reset(),
    }, new ByteLengthQueuingStrategy({ highWaterMark: STREAM_HIGH_WATER }));
    this.#replied.promise.catch(() => {});
  }

  /** A header value (first), by lower-case name. */
  header(name: string): string | undefined {
    return this.headers.get(name.toLowerCase())?.[0];
  }

  /** Resolves when the peer answered our SYN_STREAM. */
  get replied(): Promise<void> {
    return this.#replied.promise;
  }

  /** True once both sides sent FIN (or a reset). */
  get finished(): boolean {
    return this.#remoteDone && this.#localDone;
  }

  /** Answers a stream the peer opened (server side). */
  reply(): Promise<void> {
    return this.conn.send(this.conn.writer.synReply(this.id, new Map()));
  }

  /** Sends data (in frames of at most 32 KiB). */
  async write(data: Uint8Array): Promise<void> {
    if (this.#localDone) throw new Error(`SPDY stream ${this.id} is closed for writing`);
    for (let at = 0; at < data.length; at += MAX_DATA) {
      await this.conn.send(
        this.conn.writer.data(
          this.id,
          data.subarray(at, Math.min(data.length, at + MAX_DATA)),
          false,
        ),
      );
    }
  }

  /** Half-closes: FIN (an empty DATA frame), as spdystream's Close. */
  async close(): Promise<void> {
    if (this.#localDone) return;
    this.#localDone = true;
    await this.conn.send(this.conn.writer.data(this.id, new Uint8Array(0), true)).catch(() => {});
    this.#maybeForget();
  }

  /** Aborts the stream both ways (RST_STREAM CANCEL). */
  reset(): void {
    if (this.finished) return;
    this.#localDone = true;
    void this.conn.send(this.conn.writer.rstStream(this.id, RstStatus.Cancel)).catch(() => {});
    this.remoteEnded(new Error(`SPDY stream ${this.id} was reset`));
  }

  /** @internal */
  onReply(fin: boolean): void {
    this.#replied.resolve();
    if (fin) this.remoteEnded();
  }

  /** @internal Data from the peer; resolves once there is room for more. */
  onData(data: Uint8Array, fin: boolean): Promise<void> | undefined {
    if (this.#remoteDone) return;
    if (data.length) this.#ctrl.enqueue(data);
    if (fin) return void this.remoteEnded();
    if ((this.#ctrl.desiredSize ?? 1) <= 0) {
      this.#room ??= Promise.withResolvers();
      return this.#room.promise;
    }
  }

  /** @internal The peer finished (FIN), reset the stream, or the connection ended. */
  remoteEnded(err?: Error): void {
    if (this.#remoteDone) return;
    this.#remoteDone = true;
    this.#replied.reject(err ?? new Error(`SPDY stream ${this.id} ended before its reply`));
    try {
      if (err) this.#ctrl.error(err);
      else this.#ctrl.close();
    } catch { /* cancelled */ }
    this.#room?.resolve();
    if (err) this.#localDone = true;
    this.#maybeForget();
  }

  #maybeForget(): void {
    if (this.finished) this.conn.forget(this.id);
  }
}

/** Options of {@link SpdyConnection}. */
export interface SpdyConnectionOptions {
  /** "client" opens odd stream ids, "server" even ones. */
  role: "client" | "server";
  /** Streams the peer opens (server side): reply (or reset) them. */
  onStream?(stream: SpdyStream): void;
  /** The bytes read past an HTTP head before the connection took over. */
  initial?: Uint8Array;
}

/** See module docs. */
export class SpdyConnection {
  readonly writer = new FrameWriter();
  readonly #reader = new FrameReader();
  readonly #out: WritableStreamDefaultWriter<Uint8Array>;
  readonly #streams = new Map<number, SpdyStream>();
  #nextId: number;
  #sending: Promise<void> = Promise.resolve();
  #closed = false;
  /** Resolves when the connection ended, with the protocol error if one ended it. */
  readonly done: Promise<Error | undefined>;

  constructor(readonly io: SpdyTransport, readonly opts: SpdyConnectionOptions) {
    this.#nextId = opts.role === "client" ? 1 : 2;
    this.#out = io.writable.getWriter();
    this.done = this.#readLoop();
  }

  /** Live streams. */
  get streams(): number {
    return this.#streams.size;
  }

  /** Queues one frame; resolves once written. */
  send(frame: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("SPDY connection closed"));
    this.#sending = this.#sending.then(() => this.#out.write(frame));
    return this.#sending;
  }

  /** Opens a stream; resolves once the peer replied. */
  async open(headers: SpdyHeaders, fin = false): Promise<SpdyStream> {
    const id = this.#nextId;
    this.#nextId += 2;
    const s = new SpdyStream(this, id, headers);
    this.#streams.set(id, s);
    await this.send(this.writer.synStream(id, headers, fin ? FLAG_FIN : 0));
    await s.replied;
    return s;
  }

  /** Ends the connection: GOAWAY, then the byte pipe is closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.send(this.writer.goAway(0)).catch(() => {});
    await this.#sending.catch(() => {});
    this.#closed = true;
    await this.#out.close().catch(() => {});
    for (const s of [...this.#streams.values()]) s.remoteEnded(new Error("SPDY connection closed"));
  }

  /** @internal */
  forget(id: number): void {
    this.#streams.delete(id);
  }

  async #readLoop(): Promise<Error | undefined> {
    const reader = this.io.readable.getReader();
    let failure: Error | undefined;
    try {
      if (this.opts.initial?.length) await this.#handle(this.#reader.push(this.opts.initial));
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await this.#handle(this.#reader.push(value));
      }
    } catch (e) {
      failure = e instanceof Error ? e : new Error(String(e));
      if (e instanceof SpdyProtocolError) {
        await this.send(this.writer.goAway(0, 1)).catch(() => {});
      }
    } finally {
      reader.releaseLock();
      for (const s of [...this.#streams.values()]) {
        s.remoteEnded(failure ?? new Error("SPDY connection ended"));
      }
      this.#streams.clear();
      if (!this.#closed) {
        this.#closed = true;
        await this.#sending.catch(() => {});
        await this.#out.close().catch(() => {});
      }
    }
    return failure;
  }

  async #handle(frames: Frame[]): Promise<void> {
    for (const f of frames) {
      switch (f.kind) {
        case "data": {
          const s = this.#streams.get(f.streamId);
          const wait = s?.onData(f.data, (f.flags & FLAG_FIN) !== 0);
          if (wait) await wait;
          break;
        }
        case "syn_stream": {
          if (this.#streams.has(f.streamId)) {
            throw new SpdyProtocolError(`stream ${f.streamId} opened twice`);
          }
          const s = new SpdyStream(this, f.streamId, f.headers);
          this.#streams.set(f.streamId, s);
          if (f.flags & FLAG_FIN) s.remoteEnded();
          if (this.opts.onStream) this.opts.onStream(s);
          else s.reset();
          break;
        }
        case "syn_reply":
          this.#streams.get(f.streamId)?.onReply((f.flags & FLAG_FIN) !== 0);
          break;
        case "headers":
          if (f.flags & FLAG_FIN) this.#streams.get(f.streamId)?.remoteEnded();
          break;
        case "rst_stream": {
          const s = this.#streams.get(f.streamId);
          s?.remoteEnded(new Error(`SPDY stream ${f.streamId} was reset (${f.status})`));
          this.#streams.delete(f.streamId);
          break;
        }
        case "ping":
          // Echo the peer's pings (ids of the other parity); ours are not sent.
          await this.send(this.writer.ping(f.id)).catch(() => {});
          break;
        case "goaway":
          return;
        default:
          break; // SETTINGS, WINDOW_UPDATE, unknown: ignored, as spdystream does
      }
    }
  }
}

export { concat };
