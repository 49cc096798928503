/**
 * viaduct over QUIC, as both ends speak it (docs/protocol.md §3.4, docs/quic.md): the ALPN, the
 * stream use types, close codes, the header message and its `ack`/`nack` replies, and
 * {@link StreamIo}, one bidirectional stream carrying viaduct frames. The hub's listener is
 * hub/quic.ts, the edge's dialer edge/quic_client.ts.
 *
 * @example
 * ```ts
 * const io = new StreamIo(await conn.createBidirectionalStream());
 * await io.write(buildHeaderMessage({ Node_id: ["edge-1"] }));
 * const reply = await io.next(); // content "ack" or "nack"
 * ```
 */
import { buildMessage, type Message, Operation } from "../modules/mod.ts";
import { encodeFrame, FrameReader } from "./viaduct.ts";
import type { HeaderMap } from "./quic_auth.ts";

/** ALPN protocol both sides must offer. */
export const QUIC_ALPN = "kubeedge-viaduct";
/** Stream use types (3 ASCII bytes at the start of every non-control stream). */
export const UseType = { Message: "msg", Stream: "str" } as const;
/** QUIC application close codes. */
export const QuicCloseCode = { Normal: 0, Refused: 1, ProtocolError: 2 } as const;

/** The header message's operation and resource. */
export const HEADER_OPERATION = "header";
/** Control replies. */
export const ACK = "ack";
export const NACK = "nack";

/** Parses the header map (`{"Node_id":["n1"],...}`), given as an object or a JSON string. */
export function parseHeaderMap(content: unknown): HeaderMap | null {
  let v = content;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch {
      return null;
    }
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return null;
  const out: HeaderMap = {};
  for (const [k, vals] of Object.entries(v as Record<string, unknown>)) {
    if (Array.isArray(vals)) out[k] = vals.filter((x): x is string => typeof x === "string");
    else if (typeof vals === "string") out[k] = [vals];
  }
  return out;
}

/** Builds viaduct's header message for a header map (used by the edge client). */
export function buildHeaderMessage(headers: HeaderMap): Message {
  return buildMessage(
    { operation: HEADER_OPERATION, resource: HEADER_OPERATION },
    JSON.stringify(headers),
  );
}

const USE_TYPE_SIZE = 3;

/**
 * One QUIC bidirectional stream carrying viaduct frames: a frame reader on the receive side,
 * serialised writes on the send side.
 */
export class StreamIo {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #frames = new FrameReader();
  readonly #ready: Message[] = [];
  #prefix: Uint8Array | null = null;
  #writeChain: Promise<void> = Promise.resolve();
  #writeClosed = false;

  constructor(stream: Deno.QuicBidirectionalStream) {
    this.#reader = stream.readable.getReader();
    this.#writer = stream.writable.getWriter();
    // Write-side failures surface on write(); keep the writer's own promise from going unhandled.
    this.#writer.closed.catch(() => {});
  }

  /** Reads exactly 3 bytes (the use type); bytes after it stay for {@link next}. */
  async readUseType(): Promise<string | null> {
    let buf = new Uint8Array(0);
    while (buf.length < USE_TYPE_SIZE) {
      const { value, done } = await this.#reader.read();
      if (done) return null;
      const next = new Uint8Array(buf.length + value.length);
      next.set(buf);
      next.set(value, buf.length);
      buf = next;
    }
    this.#prefix = buf.subarray(USE_TYPE_SIZE);
    return new TextDecoder().decode(buf.subarray(0, USE_TYPE_SIZE));
  }

  /**
   * The next message, or null at a clean end of stream.
   * @throws ViaductError for a malformed frame or a stream ending inside one.
   */
  async next(): Promise<Message | null> {
    if (this.#prefix) {
      const p = this.#prefix;
      this.#prefix = null;
      this.#ready.push(...this.#frames.push(p));
    }
    while (this.#ready.length === 0) {
      const { value, done } = await this.#reader.read();
      if (done) {
        this.#frames.end();
        return null;
      }
      this.#ready.push(...this.#frames.push(value));
    }
    return this.#ready.shift()!;
  }

  /** Writes raw bytes (serialised with other writes). */
  writeRaw(bytes: Uint8Array): Promise<void> {
    const p = this.#writeChain.then(() => this.#writer.write(bytes));
    this.#writeChain = p.catch(() => {});
    return p;
  }

  /** Writes one framed message (`content`: its content's bytes if the caller has them). */
  write(msg: Message, content?: Uint8Array): Promise<void> {
    return this.writeRaw(encodeFrame(msg, content));
  }

  /** Finishes the send side after pending writes. */
  async closeWrite(): Promise<void> {
    if (this.#writeClosed) return;
    this.#writeClosed = true;
    await this.#writeChain;
    await this.#writer.close().catch(() => {});
  }

  /** Sends an `error` message with the reason, then closes both directions of this stream. */
  async fail(reason: string): Promise<void> {
    const err = buildMessage({ source: "cloudhub", operation: Operation.Error }, reason);
    await this.write(err).catch(() => {});
    await this.closeWrite();
    await this.#reader.cancel(reason).catch(() => {});
  }

  /** Drops the stream in both directions. */
  abort(): void {
    this.#writeClosed = true;
    this.#writer.abort().catch(() => {});
    this.#reader.cancel().catch(() => {});
  }
}
