/**
 * HTTP/1.1 heads on a raw byte pipe, for upgrades relayed through a tunnel: write a request or
 * response head, read one back (up to the blank line) and keep the bytes after it.
 */
import type { ByteDuplex } from "./types.ts";

/** Longest head accepted. */
const MAX_HEAD = 64 * 1024;
const enc = new TextEncoder();

/** A parsed head and the pipe positioned after it. */
export interface ParsedHead {
  /** Request line or status line. */
  start: string;
  headers: Headers;
  /** Bytes read past the head. */
  rest: Uint8Array;
  /** The rest of the pipe's readable side (after `rest`). */
  reader: ReadableStreamDefaultReader<Uint8Array>;
}

/** Writes a head (`start` line plus headers) as one chunk. */
export function headBytes(start: string, headers: Iterable<[string, string]>): Uint8Array {
  let s = `${start}\r\n`;
  for (const [k, v] of headers) s += `${k}: ${v}\r\n`;
  return enc.encode(s + "\r\n");
}

/** Reads one head from `readable`. Throws when the pipe ends first or the head is too long. */
export async function readHead(readable: ReadableStream<Uint8Array>): Promise<ParsedHead> {
  const reader = readable.getReader();
  let buf = new Uint8Array(0);
  for (;;) {
    const end = findBlankLine(buf);
    if (end >= 0) {
      const lines = new TextDecoder().decode(buf.subarray(0, end)).split("\r\n");
      const headers = new Headers();
      for (const line of lines.slice(1)) {
        const i = line.indexOf(":");
        if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
      }
      return { start: lines[0], headers, rest: buf.subarray(end + 4), reader };
    }
    if (buf.length > MAX_HEAD) throw new Error("HTTP head longer than 64 KiB");
    const { done, value } = await reader.read();
    if (done) throw new Error("the connection ended before a complete HTTP head");
    const next = new Uint8Array(buf.length + value.length);
    next.set(buf);
    next.set(value, buf.length);
    buf = next;
  }
}

function findBlankLine(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

/** The pipe after a head: `rest` first, then whatever the reader still yields. */
export function afterHead(head: ParsedHead, writable: WritableStream<Uint8Array>): ByteDuplex {
  let first: Uint8Array | undefined = head.rest.length ? head.rest : undefined;
  const readable = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (first) {
        c.enqueue(first);
        first = undefined;
        return;
      }
      const { done, value } = await head.reader.read();
      if (done) c.close();
      else c.enqueue(value);
    },
    cancel: (why) => head.reader.cancel(why),
  });
  return { readable, writable };
}

/** The status code of a response head's status line (0 when it is not one). */
export function statusOf(start: string): number {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(start);
  return m ? Number(m[1]) : 0;
}

/** Writes a complete plain-text HTTP response (for refusals) and closes the pipe. */
export async function writeTextResponse(
  writable: WritableStream<Uint8Array>,
  status: number,
  reason: string,
  body: string,
): Promise<void> {
  const b = enc.encode(body);
  const w = writable.getWriter();
  try {
    await w.write(headBytes(`HTTP/1.1 ${status} ${reason}`, [
      ["Content-Type", "text/plain; charset=utf-8"],
      ["Content-Length", String(b.length)],
      ["Connection", "close"],
    ]));
    await w.write(b);
    await w.close();
  } catch { /* the peer went away */ }
}
