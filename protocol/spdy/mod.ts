/**
 * SPDY/3.1 as Kubernetes' httpstream speaks it (kubectl ↔ API server ↔ kubelet streams).
 *
 * @module
 */
export {
  SpdyConnection,
  type SpdyConnectionOptions,
  SpdyStream,
  type SpdyTransport,
} from "./connection.ts";
export { SPDY3_DICTIONARY } from "./dictionary.ts";
export {
  FrameReader,
  FrameWriter,
  HeaderCompressor,
  HeaderDecompressor,
  type SpdyHeaders,
  SpdyProtocolError,
} from "./frames.ts";
