/**
 * CloudHub: what other folders (main.ts, cli) may use.
 *
 * @example
 * ```ts
 * import { CloudHub } from "./hub/mod.ts";
 * import { KubeSyncStore, kubeNodeAnnotator } from "./kube/mod.ts";
 * const hub = new CloudHub({
 *   tls: { certPem, keyPem, caPem },
 *   websocket: { address: "0.0.0.0", port: 10000 },
 *   syncStore: new KubeSyncStore(kube.http),
 *   advertiseAddress: "10.0.0.1",
 *   annotateNode: kubeNodeAnnotator(kube.http),
 * });
 * ```
 *
 * @module
 */
export { CloudHub, type CloudHubOptions, type CloudHubPorts } from "./cloudhub.ts";
export type { ConnectionAcceptor, EdgeConnection, Refusal, TransportKind } from "./transport.ts";
export { CloseReason, type CloseReasonLabel, HubMetrics } from "./metrics.ts";
export { type Monitor, type MonitorOptions, startMonitor } from "./monitor.ts";
export { isFromEdge, isNodeStopped, isToEdge, noAckRequired } from "./classify.ts";
export { type DeliveryOptions, SessionCloseText } from "./session.ts";
export {
  CloseCode,
  DefaultMaxPayload,
  WebSocketTransport,
  type WebSocketTransportOptions,
} from "./websocket.ts";
export {
  DEFAULT_QUIC_PORT,
  QuicListenError,
  QuicServer,
  type QuicServerOptions,
  type QuicServerStats,
} from "./quic.ts";
export {
  DEFAULT_UDS_ADDRESS,
  DEFAULT_UDS_TIMEOUT_MS,
  defaultUdsAddress,
  MAX_UDS_REQUEST,
  parseUnixAddress,
  UdsAddressError,
  UdsServer,
  type UdsServerOptions,
  type UdsStats,
} from "./uds.ts";
