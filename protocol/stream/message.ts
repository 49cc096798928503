/**
 * CloudStream's tunnel message (docs/protocol.md §10): one WebSocket *text* frame carrying
 * `uvarint(connectID) uvarint(messageType) data`. The frame type is text although the payload is
 * binary (KubeEdge's Go peers never check UTF-8), so our WebSocket ends must skip UTF-8
 * validation. Data is at most 1 MiB (edgecore's read limit); larger reads are cut there.
 */

/** Message types, numbered as KubeEdge's `pkg/stream` constants. */
export const TunnelMessageType = {
  LogsConnect: 0,
  ExecConnect: 1,
  MetricConnect: 2,
  Data: 3,
  RemoveConnect: 4,
  CloseConnect: 5,
  AttachConnect: 6,
} as const;

/** One of {@link TunnelMessageType}. */
export type TunnelMessageType = (typeof TunnelMessageType)[keyof typeof TunnelMessageType];

/** The most data edgecore reads from one tunnel message (`MaxRespBodyLength`, 1 MiB). */
export const MAX_TUNNEL_DATA = 1 << 20;

/** A decoded tunnel message. */
export interface TunnelMessage {
  connectId: number;
  type: number;
  data: Uint8Array;
}

/** A tunnel frame that cannot be decoded (the connection carrying it is closed). */
export class TunnelFrameError extends Error {
  override name = "TunnelFrameError";
}

/** The name KubeEdge logs for a type (`MessageType.String`). */
export function tunnelTypeName(t: number): string {
  const names = ["LOGS_CONNECT", "EXEC_CONNECT", "METRIC_CONNECT", "DATA", "REMOVE_CONNECT"];
  if (t === TunnelMessageType.AttachConnect) return "ATTACH_CONNECT";
  if (t === TunnelMessageType.CloseConnect) return "CLOSE_CONNECT";
  return names[t] ?? "UNKNOWN";
}

// Go's encoding/binary uvarint, written here because it is 20 lines and no npm package is worth
// a dependency for it. Numbers stay below 2^53 (ids are counters).
function putUvarint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function readUvarint(b: Uint8Array, at: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (let i = at; i < b.length && i < at + 10; i++) {
    const byte = b[i];
    v += (byte & 0x7f) * mul;
    if (byte < 0x80) {
      if (!Number.isSafeInteger(v)) throw new TunnelFrameError("tunnel message: uvarint overflows");
      return [v, i + 1];
    }
    mul *= 0x80;
  }
  throw new TunnelFrameError("tunnel message: truncated uvarint header");
}

/** Encodes a message as the frame payload. */
export function encodeTunnelMessage(
  connectId: number,
  type: number,
  data?: Uint8Array,
): Uint8Array {
  const head: number[] = [];
  putUvarint(head, connectId);
  putUvarint(head, type);
  const out = new Uint8Array(head.length + (data?.length ?? 0));
  out.set(head, 0);
  if (data) out.set(data, head.length);
  return out;
}

/** Decodes a frame payload; throws {@link TunnelFrameError} on a malformed header. */
export function decodeTunnelMessage(frame: Uint8Array): TunnelMessage {
  const [connectId, at] = readUvarint(frame, 0);
  const [type, start] = readUvarint(frame, at);
  const end = Math.min(frame.length, start + MAX_TUNNEL_DATA);
  return { connectId, type, data: frame.subarray(start, end) };
}
