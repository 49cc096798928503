/**
 * The kubelet's streaming protocols on both ends of a relayed upgrade: the kubelet side
 * (exec, attach, port-forward over SPDY from a container runtime) and the API side (kubectl's
 * WebSocket streams translated to SPDY towards the kubelet).
 *
 * @module
 */
export type {
  ByteDuplex,
  ContainerRuntime,
  StreamIO,
  TerminalSize,
  UpgradeRequest,
} from "./types.ts";
export {
  afterHead,
  headBytes,
  type ParsedHead,
  readHead,
  statusOf,
  writeTextResponse,
} from "./http_head.ts";
export {
  exitStatus,
  PORTFORWARD_PROTOCOL,
  PORTFORWARD_WEBSOCKET_PROTOCOL,
  REMOTECOMMAND_PROTOCOLS,
  type StreamOptions,
  streamOptions,
  WsChannel,
} from "./remotecommand.ts";
export {
  negotiate,
  offeredProtocols,
  serveKubeletUpgrade,
  STREAM_CREATION_TIMEOUT_MS,
} from "./kubelet_server.ts";
export {
  openRemoteCommandStreams,
  type RemoteCommandStreams,
  spdyUpgradeHeaders,
  type UpgradedSpdy,
  type UpgradeRefused,
  upgradeSpdy,
} from "./exec_client.ts";
