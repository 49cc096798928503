/**
 * CloudStream's tunnel wire (docs/protocol.md §10): the message codec, the connect messages' JSON
 * and the connections multiplexed over one tunnel, shared by the hub and the edge.
 *
 * @module
 */
export {
  canonicalHeaderKey,
  connector,
  connectorHeaders,
  connectorTarget,
  type EdgedConnector,
  goHeader,
  type GoUrl,
  KUBELET_SERVER,
  parseConnector,
} from "./connector.ts";
export {
  decodeTunnelMessage,
  encodeTunnelMessage,
  MAX_TUNNEL_DATA,
  TunnelFrameError,
  type TunnelMessage,
  TunnelMessageType,
  tunnelTypeName,
} from "./message.ts";
export {
  type AcceptFn,
  DATA_CHUNK,
  MAX_IN_FLIGHT,
  TunnelConn,
  TunnelMux,
  type TunnelSocket,
} from "./mux.ts";
