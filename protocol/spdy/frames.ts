/**
 * SPDY/3.1 frames (what Kubernetes' `httpstream/spdy` speaks, via moby/spdystream): control frames
 * `1 | version 3 | type | flags | length(24)` and data frames `0 | stream id(31) | flags |
 * length(24)`. Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are `count(32)` then
 * `len(32) name len(32) value` pairs, compressed with one zlib stream per direction, primed with
 * {@link SPDY3_DICTIONARY} and flushed (Z_SYNC_FLUSH) per frame.
 *
 * Hand-written: no maintained npm SPDY/3.1 implementation exists (spdy-transport is unmaintained
 * and built on Node streams); zlib itself is pako.
 */
import * as pako from "pako";
import { SPDY3_DICTIONARY } from "./dictionary.ts";

/** Control frame types. */
export const FrameType = {
  SynStream: 1,
  SynReply: 2,
  RstStream: 3,
  Settings: 4,
  Ping: 6,
  GoAway: 7,
  Headers: 8,
  WindowUpdate: 9,
} as const;

/** FLAG_FIN (all frames) and FLAG_UNIDIRECTIONAL (SYN_STREAM). */
export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes used here. */
export const RstStatus = { ProtocolError: 1, RefusedStream: 3, Cancel: 5, InternalError: 6 };

/** Largest frame we accept (SPDY allows 16 MiB; spdystream sends far smaller). */
export const MAX_FRAME = 1 << 24;

/** Header names (lower case) → values (several values of one name joined by NUL on the wire). */
export type SpdyHeaders = Map<string, string[]>;

/** A decoded frame. */
export type Frame =
  | { kind: "data"; streamId: number; flags: number; data: Uint8Array }
  | {
    kind: "syn_stream";
    streamId: number;
    assoc: number;
    priority: number;
    flags: number;
    headers: SpdyHeaders;
  }
  | { kind: "syn_reply"; streamId: number; flags: number; headers: SpdyHeaders }
  | { kind: "headers"; streamId: number; flags: number; headers: SpdyHeaders }
  | { kind: "rst_stream"; streamId: number; status: number }
  | { kind: "ping"; id: number }
  | { kind: "goaway"; lastStreamId: number; status: number }
  | { kind: "settings" }
  | { kind: "window_update"; streamId: number; delta: number }
  | { kind: "unknown"; type: number };

/** A frame that breaks the protocol: the connection must end. */
export class SpdyProtocolError extends Error {
  override name = "SpdyProtocolError";
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Compresses header blocks (one per connection direction). */
export class HeaderCompressor {
  readonly #deflate = new pako.Deflate({ dictionary: SPDY3_DICTIONARY, level: 6 });
  #out: Uint8Array[] = [];

  constructor() {
    this.#deflate.onData = (c: Uint8Array) => this.#out.push(c);
  }

  compress(headers: SpdyHeaders): Uint8Array {
    const parts: Uint8Array[] = [];
    const u32 = (n: number) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, n);
      parts.push(b);
    };
    u32(headers.size);
    for (const [name, values] of headers) {
      const n = enc.encode(name.toLowerCase());
      const v = enc.encode(values.join("\0"));
      u32(n.length);
      parts.push(n);
      u32(v.length);
      parts.push(v);
    }
    this.#out = [];
    this.#deflate.push(concat(parts), 2 /* Z_SYNC_FLUSH */);
    return concat(this.#out);
  }
}

/** Decompresses header blocks (one per connection direction). */
export class HeaderDecompressor {
  readonly #inflate = new pako.Inflate({ dictionary: SPDY3_DICTIONARY });
  #out: Uint8Array[] = [];

  constructor() {
    this.#inflate.onData = (c: Uint8Array) => this.#out.push(c);
  }

  decompress(block: Uint8Array): SpdyHeaders {
    this.#out = [];
    this.#inflate.push(block, 2);
    if (this.#inflate.err) {
      throw new SpdyProtocolError(`header block does not inflate: ${this.#inflate.msg}`);
    }
    const raw = concat(this.#out);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    let at = 0;
    const u32 = () => {
      if (at + 4 > raw.length) throw new SpdyProtocolError("truncated header block");
      const v = view.getUint32(at);
      at += 4;
      return v;
    };
    const str = () => {
      const n = u32();
      if (at + n > raw.length) throw new SpdyProtocolError("truncated header block");
      const s = dec.decode(raw.subarray(at, at + n));
      at += n;
      return s;
    };
    const out: SpdyHeaders = new Map();
    for (let i = u32(); i > 0; i--) {
      const name = str().toLowerCase();
      out.set(name, [...out.get(name) ?? [], ...str().split("\0")]);
    }
    return out;
  }
}

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function control(type: number, flags: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, 0x8003);
  v.setUint16(2, type);
  v.setUint32(4, (flags << 24) | body.length);
  out.set(body, 8);
  return out;
}

function words(...ns: number[]): Uint8Array {
  const b = new Uint8Array(ns.length * 4);
  const v = new DataView(b.buffer);
  ns.forEach((n, i) => v.setUint32(i * 4, n >>> 0));
  return b;
}

/** Encodes frames for one connection direction. */
export class FrameWriter {
  readonly #headers = new HeaderCompressor();

  data(streamId: number, data: Uint8Array, fin: boolean): Uint8Array {
    const out = new Uint8Array(8 + data.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, streamId & 0x7fffffff);
    v.setUint32(4, ((fin ? FLAG_FIN : 0) << 24) | data.length);
    out.set(data, 8);
    return out;
  }

  synStream(streamId: number, headers: SpdyHeaders, flags = 0): Uint8Array {
    const block = this.#headers.compress(headers);
    // stream id, associated id 0, priority 0 (3 bits) + unused + slot 0
    return control(
      FrameType.SynStream,
      flags,
      concat([words(streamId, 0), new Uint8Array(2), block]),
    );
  }

  synReply(streamId: number, headers: SpdyHeaders, flags = 0): Uint8Array {
    return control(
      FrameType.SynReply,
      flags,
      concat([words(streamId), this.#headers.compress(headers)]),
    );
  }

  rstStream(streamId: number, status: number): Uint8Array {
    return control(FrameType.RstStream, 0, words(streamId, status));
  }

  ping(id: number): Uint8Array {
    return control(FrameType.Ping, 0, words(id));
  }

  goAway(lastStreamId: number, status = 0): Uint8Array {
    return control(FrameType.GoAway, 0, words(lastStreamId, status));
  }
}

/** Decodes the frames of one connection direction from a byte stream, as bytes arrive. */
export class FrameReader {
  readonly #headers = new HeaderDecompressor();
  #buf: Uint8Array = new Uint8Array(0);

  /** Adds bytes; returns every frame now complete. Throws {@link SpdyProtocolError}. */
  push(chunk: Uint8Array): Frame[] {
    this.#buf = this.#buf.length ? concat([this.#buf, chunk]) : chunk;
    const frames: Frame[] = [];
    while (this.#buf.length >= 8) {
      const v = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
      const len = v.getUint32(4) & 0xffffff;
      if (len > MAX_FRAME) throw new SpdyProtocolError(`frame of ${len} bytes is too large`);
      if (this.#buf.length < 8 + len) break;
      const body = this.#buf.subarray(8, 8 + len);
      const flags = this.#buf[4];
      const first = v.getUint32(0);
      frames.push(
        first & 0x80000000
          ? this.#control(first, flags, body)
          : { kind: "data", streamId: first & 0x7fffffff, flags, data: body.slice() },
      );
      this.#buf = this.#buf.subarray(8 + len);
    }
    if (this.#buf.length === 0) this.#buf = new Uint8Array(0);
    return frames;
  }

  #control(first: number, flags: number, body: Uint8Array): Frame {
    const version = (first >>> 16) & 0x7fff;
    if (version !== 3) throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
    const type = first & 0xffff;
    const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const need = (n: number) => {
      if (body.length < n) throw new SpdyProtocolError(`control frame ${type} is too short`);
    };
    switch (type) {
      case FrameType.SynStream:
        need(10);
        return {
          kind: "syn_stream",
          streamId: v.getUint32(0) & 0x7fffffff,
          assoc: v.getUint32(4) & 0x7fffffff,
          priority: body[8] >> 5,
          flags,
          headers: this.#headers.decompress(body.subarray(10)),
        };
      case FrameType.SynReply:
      case FrameType.Headers:
        need(4);
        return {
          kind: type === FrameType.SynReply ? "syn_reply" : "headers",
          streamId: v.getUint32(0) & 0x7fffffff,
          flags,
          headers: this.#headers.decompress(body.subarray(4)),
        };
      case FrameType.RstStream:
        need(8);
        return {
          kind: "rst_stream",
          streamId: v.getUint32(0) & 0x7fffffff,
          status: v.getUint32(4),
        };
      case FrameType.Ping:
        need(4);
        return { kind: "ping", id: v.getUint32(0) };
      case FrameType.GoAway:
        need(4);
        return {
          kind: "goaway",
          lastStreamId: v.getUint32(0) & 0x7fffffff,
          status: body.length >= 8 ? v.getUint32(4) : 0,
        };
      case FrameType.Settings:
        return { kind: "settings" };
      case FrameType.WindowUpdate:
        need(8);
        return {
          kind: "window_update",
          streamId: v.getUint32(0) & 0x7fffffff,
          delta: v.getUint32(4) & 0x7fffffff,
        };
      default:
        return { kind: "unknown", type };
    }
  }
}
