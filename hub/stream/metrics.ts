/** CloudStream's metrics, in the hub's registry. */
import { Counter, Gauge, type Registry } from "prom-client";

/** Why a stream tunnel ended. */
export const TunnelCloseReason = {
  Unauthorized: "unauthorized",
  MissingHostname: "missing_hostname",
  EndpointUpdate: "endpoint_update_failed",
  Malformed: "malformed_frame",
  Replaced: "replaced",
  PeerClosed: "peer_closed",
  Stopping: "stopping",
} as const;

/** One of {@link TunnelCloseReason}'s values. */
export type TunnelCloseReasonLabel = typeof TunnelCloseReason[keyof typeof TunnelCloseReason];

/** Gauges and counters of the tunnel and stream servers. */
export class StreamMetrics {
  readonly tunnels: Gauge;
  readonly connections: Counter<"kind">;
  readonly closedTunnels: Counter<"reason">;
  readonly webSocketStreams: Counter<"kind">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.tunnels = new Gauge({
      name: "edgecloud_cloudstream_tunnels",
      help: "Edge nodes with a live CloudStream tunnel.",
      registers,
    });
    this.connections = new Counter({
      name: "edgecloud_cloudstream_connections_total",
      help: "Streams opened through tunnels, by kind (logs, exec, attach, portforward, metrics).",
      labelNames: ["kind"],
      registers,
    });
    this.webSocketStreams = new Counter({
      name: "edgecloud_cloudstream_websocket_streams_total",
      help:
        "kubectl WebSocket streams translated for the kubelet (exec and attach to SPDY, port-forward tunnelled), by kind.",
      labelNames: ["kind"],
      registers,
    });
    this.closedTunnels = new Counter({
      name: "edgecloud_cloudstream_closed_tunnels_total",
      help: "Stream tunnels closed or refused, by reason.",
      labelNames: ["reason"],
      registers,
    });
  }
}
