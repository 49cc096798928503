/**
 * The edge end of CloudStream (edgecore's EdgeStream): the tunnel client and the kubelet server
 * interface it serves from.
 *
 * @module
 */
export type { EdgeByteDuplex, EdgeKubelet, EdgeUpgradeRequest } from "./kubelet.ts";
export { dialStreamTunnel, type StreamTunnel, type StreamTunnelOptions } from "./tunnel_client.ts";
