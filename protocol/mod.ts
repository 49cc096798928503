/**
 * What both ends speak: viaduct's framing and its protobuf message (docs/protocol.md §3), viaduct over
 * QUIC (ALPN, stream use types, the header message and {@link StreamIo}), and the QUIC node
 * credential carried in the header map. The hub and the edge both import this; it imports only
 * modules/ (the message model) and lib/.
 *
 * @example
 * ```ts
 * import { encodeFrame, FrameReader } from "./protocol/mod.ts";
 * const reader = new FrameReader();
 * const [msg] = reader.push(encodeFrame(message));
 * ```
 *
 * @module
 */
export {
  contentFromBytes,
  decodeFrameHeader,
  decodeProtoMessage,
  encodeFrame,
  encodeFrameHeader,
  encodeProtoMessage,
  FRAME_HEADER_SIZE,
  type FrameHeader,
  FrameReader,
  MAX_FRAME_PAYLOAD,
  PackageType,
  VIADUCT_VERSION,
  ViaductError,
  type ViaductErrorKind,
} from "./viaduct.ts";
export {
  MESSAGE_PROTO_SOURCE,
  ProtoMessage,
  ProtoMessageHeader,
  type ProtoMessageObject,
  ProtoMessageRouter,
} from "./proto/mod.ts";
export {
  ACK,
  buildHeaderMessage,
  HEADER_OPERATION,
  NACK,
  parseHeaderMap,
  QUIC_ALPN,
  QuicCloseCode,
  StreamIo,
  UseType,
} from "./quic_stream.ts";
export {
  type HeaderMap,
  headerValue,
  QUIC_AUTH_CONTEXT,
  QuicAuthError,
  QuicAuthHeader,
  quicAuthPayload,
  signQuicAuth,
  type SignQuicAuthOptions,
} from "./quic_auth.ts";
export { type WsData, wsFrameBytes } from "./ws_frame.ts";
