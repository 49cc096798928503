/**
 * The bytes of one WebSocket message as `npm:ws` hands it over (one Buffer, an ArrayBuffer, or
 * the fragments of a fragmented message), for the JSON message decoder. Both ends read frames
 * this way.
 */
import { Buffer } from "node:buffer";

/** What `npm:ws` passes to a `message` listener. */
export type WsData = Buffer | ArrayBuffer | Buffer[];

/** The message's bytes, without copying a single Buffer. */
export function wsFrameBytes(data: WsData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}
