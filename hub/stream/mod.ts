/**
 * CloudStream: the edge nodes' kubelets reached through their stream tunnels, for kubectl logs,
 * exec, attach, port-forward and metrics (docs/cloudstream.md).
 *
 * @module
 */
export { CloudStream, type CloudStreamOptions, type StreamListener } from "./cloudstream.ts";
export { KubeletProxy, type WebSocketUpgrade } from "./kubelet_proxy.ts";
export { TunnelSession } from "./session.ts";
export { TUNNEL_PATH, TunnelServer } from "./tunnel_server.ts";
export { TUNNEL_PORT_ANNOTATION, TUNNEL_PORT_CONFIGMAP } from "./tunnel_port.ts";
