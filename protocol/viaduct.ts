/**
 * Viaduct's QUIC framing (docs/protocol.md §3.4): a 10-byte header (u32 BE version `0x01010100`,
 * package type, flags, u32 BE payload length ≤ 32 MiB) followed by a protobuf `message.Message`
 * (the checked-in `protocol/proto/message.proto`), and the translation to and from our
 * {@link Message} model.
 *
 * Content translation (viaduct's translator, `GetContentData`): a `Uint8Array` is sent as is, a
 * string as its UTF-8 bytes, anything else as its JSON. On decode the content arrives as bytes
 * with no type: it becomes the parsed JSON value when the bytes are JSON, else the UTF-8 string,
 * else (invalid UTF-8) the raw `Uint8Array`. So a string holding JSON comes back parsed (§1.2:
 * cloud handlers accept both forms) and the string `"123"` comes back as the number 123.
 * The protobuf has no resourceVersion and no destination: those are not carried.
 *
 * @example
 * ```ts
 * const bytes = encodeFrame(msg);
 * const reader = new FrameReader();
 * for (const m of reader.push(bytes)) console.log(m.route.operation);
 * ```
 */
import { emptyMessage, getContentData, type Message, type MessageHeader } from "../modules/mod.ts";
import { ProtoMessage, type ProtoMessageObject } from "./proto/mod.ts";

/** Viaduct protocol version: major 1, minor 1, fix 1, low byte 0. */
export const VIADUCT_VERSION = 0x01010100;
/** Size of the frame header. */
export const FRAME_HEADER_SIZE = 10;
/** Largest payload viaduct accepts (32 MiB). */
export const MAX_FRAME_PAYLOAD = 32 * 1024 * 1024;

/** Package types (byte 4). Only Message is served. */
export const PackageType = { Message: 0x01, Stream: 0x02, UserDefined: 0x04 } as const;

/** What went wrong with a frame. */
export type ViaductErrorKind = "version" | "type" | "length" | "protobuf" | "truncated";

/** A frame that is not valid viaduct; the stream carrying it must be closed. */
export class ViaductError extends Error {
  override name = "ViaductError";
  constructor(readonly kind: ViaductErrorKind, message: string) {
    super(message);
  }
}

/** A parsed frame header. */
export interface FrameHeader {
  version: number;
  type: number;
  flags: number;
  length: number;
}

/** Encodes a frame header for a payload of `length` bytes. */
export function encodeFrameHeader(length: number, type: number = PackageType.Message, flags = 0) {
  if (!Number.isInteger(length) || length < 0 || length > MAX_FRAME_PAYLOAD) {
    throw new ViaductError("length", `frame length ${length} is over the ${MAX_FRAME_PAYLOAD} cap`);
  }
  const out = new Uint8Array(FRAME_HEADER_SIZE);
  const view = new DataView(out.buffer);
  view.setUint32(0, VIADUCT_VERSION);
  out[4] = type;
  out[5] = flags;
  view.setUint32(6, length);
  return out;
}

/**
 * Parses and validates the first 10 bytes of a frame.
 * @throws ViaductError for a wrong version, a type other than Message, or a length over the cap.
 */
export function decodeFrameHeader(bytes: Uint8Array): FrameHeader {
  if (bytes.length < FRAME_HEADER_SIZE) {
    throw new ViaductError("truncated", `frame header needs 10 bytes, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, FRAME_HEADER_SIZE);
  const version = view.getUint32(0);
  if (version !== VIADUCT_VERSION) {
    throw new ViaductError(
      "version",
      `wrong viaduct version 0x${hex32(version)}, want 0x${hex32(VIADUCT_VERSION)}`,
    );
  }
  const type = bytes[4];
  if (type !== PackageType.Message) {
    throw new ViaductError("type", `unsupported viaduct package type 0x${hex8(type)}`);
  }
  const length = view.getUint32(6);
  if (length > MAX_FRAME_PAYLOAD) {
    throw new ViaductError("length", `frame length ${length} is over the ${MAX_FRAME_PAYLOAD} cap`);
  }
  return { version, type, flags: bytes[5], length };
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Content bytes back to a value: JSON when it parses, else the UTF-8 string, else the bytes. */
export function contentFromBytes(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return bytes;
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Encodes the protobuf body of a message (no frame header). `content`, when given, is
 * `getContentData(msg)` computed by the caller (a content shared by many nodes' messages is
 * encoded once: `sharedContentBytes`).
 */
export function encodeProtoMessage(msg: Message, content?: Uint8Array): Uint8Array {
  const h = msg.header;
  const r = msg.route;
  // encode() takes a plain object of the message's shape; fromObject() would only copy it.
  const obj = {
    header: {
      ID: h.id,
      ParentID: h.parentId ?? "",
      Timestamp: h.timestamp,
      Sync: h.sync ?? false,
      MessageType: h.type ?? "",
    },
    router: {
      Source: r.source ?? "",
      Group: r.group ?? "",
      Operation: r.operation ?? "",
      Resouce: r.resource ?? "",
    },
    Content: content ?? getContentData(msg),
  };
  return ProtoMessage.encode(obj).finish();
}

/**
 * Decodes a protobuf body into a {@link Message}.
 * @throws ViaductError (`protobuf`) when the bytes are not a valid `message.Message`.
 */
export function decodeProtoMessage(bytes: Uint8Array): Message {
  let obj: ProtoMessageObject;
  try {
    obj = ProtoMessage.toObject(ProtoMessage.decode(bytes), {
      longs: Number,
      defaults: false,
    }) as ProtoMessageObject;
  } catch (err) {
    throw new ViaductError("protobuf", `invalid protobuf message: ${(err as Error).message}`);
  }
  const ph = obj.header ?? {};
  const pr = obj.router ?? {};
  // Like the WebSocket decoder: the all-zero message edgecore can send is returned as such (the
  // hub drops it); any other message without an id is not a message (and is what most garbage
  // that happens to parse as protobuf looks like).
  if (!ph.ID) {
    // Go's viaduct leaves a nil content out; ours writes `null`: both are no content.
    const c = obj.Content;
    const noContent = !c?.length || (c.length === 4 && strictUtf8.decode(c) === "null");
    const zero = !ph.ParentID && !pr.Source && !pr.Group && !pr.Operation && !pr.Resouce &&
      noContent;
    if (zero) return emptyMessage();
    throw new ViaductError("protobuf", "invalid protobuf message: header has no ID");
  }
  const ts = ph.Timestamp;
  const header: MessageHeader = {
    id: ph.ID ?? "",
    timestamp: typeof ts === "number"
      ? ts
      : typeof ts === "string"
      ? Number(ts)
      : ts
      ? ts.toNumber()
      : 0,
  };
  if (ph.ParentID) header.parentId = ph.ParentID;
  if (ph.Sync) header.sync = true;
  if (ph.MessageType) header.type = ph.MessageType;
  const route: Message["route"] = {};
  if (pr.Source) route.source = pr.Source;
  if (pr.Group) route.group = pr.Group;
  if (pr.Operation) route.operation = pr.Operation;
  if (pr.Resouce) route.resource = pr.Resouce;
  // protobufjs hands out node Buffers; give callers a plain Uint8Array view.
  const raw = obj.Content ?? new Uint8Array();
  const content = contentFromBytes(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
  return { header, route, content };
}

/** Encodes one complete frame: header + protobuf body (`content`: see {@link encodeProtoMessage}). */
export function encodeFrame(msg: Message, content?: Uint8Array): Uint8Array {
  const body = encodeProtoMessage(msg, content);
  const out = new Uint8Array(FRAME_HEADER_SIZE + body.length);
  out.set(encodeFrameHeader(body.length), 0);
  out.set(body, FRAME_HEADER_SIZE);
  return out;
}

/**
 * Incremental frame reader for a byte stream: feed chunks as they arrive (partial frames,
 * several frames per chunk), get whole messages back. After it throws, the stream is unusable.
 */
export class FrameReader {
  #buf = new Uint8Array(0);
  #start = 0;
  #end = 0;
  #header: FrameHeader | null = null;

  /** Bytes received but not yet part of a returned message. */
  get pending(): number {
    return this.#end - this.#start;
  }

  /**
   * Adds a chunk and returns every message it completes.
   * @throws ViaductError as soon as a header or a body is invalid.
   */
  push(chunk: Uint8Array): Message[] {
    this.#append(chunk);
    const out: Message[] = [];
    while (true) {
      if (!this.#header) {
        if (this.pending < FRAME_HEADER_SIZE) break;
        // Validate the header as soon as it is complete: a wrong version or a huge length fails
        // fast instead of waiting for (or buffering) a body that will never be valid.
        this.#header = decodeFrameHeader(this.#buf.subarray(this.#start, this.#end));
        this.#start += FRAME_HEADER_SIZE;
      }
      const len = this.#header.length;
      if (this.pending < len) break;
      const body = this.#buf.subarray(this.#start, this.#start + len);
      this.#start += len;
      this.#header = null;
      out.push(decodeProtoMessage(body));
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return out;
  }

  /**
   * Call at end of stream.
   * @throws ViaductError (`truncated`) when a partial frame is left.
   */
  end(): void {
    if (this.#header || this.pending > 0) {
      const need = this.#header ? `${this.#header.length}-byte body` : "10-byte header";
      throw new ViaductError(
        "truncated",
        `stream ended inside a frame: ${this.pending} bytes of a ${need}`,
      );
    }
  }

  #append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.#end + chunk.length > this.#buf.length) {
      const live = this.#end - this.#start;
      const need = live + chunk.length;
      const next = need <= this.#buf.length
        ? this.#buf
        : new Uint8Array(Math.max(need, this.#buf.length * 2, 4096));
      // TypedArray.set copies correctly even when source and target share a buffer.
      next.set(this.#buf.subarray(this.#start, this.#end), 0);
      this.#buf = next;
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, "0");
}

function hex8(n: number): string {
  return n.toString(16).padStart(2, "0");
}
