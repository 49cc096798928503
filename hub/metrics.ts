/**
 * CloudHub's Prometheus metrics, on a registry per hub (so several hubs in one test process do
 * not share counters). `npm:prom-client` works unchanged under Deno.
 *
 * @example
 * ```ts
 * const metrics = new HubMetrics();
 * metrics.closedConnections.inc({ reason: "keepalive_timeout" });
 * const text = await metrics.render(); // Prometheus text format
 * ```
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Low-cardinality labels for `edgecloud_cloudhub_closed_connections_total{reason}`. */
export const CloseReason = {
  TlsHandshake: "tls_handshake",
  MissingNodeId: "missing_node_id",
  MissingConnectionUse: "missing_connection_use",
  Unauthorized: "unauthorized",
  NodeLimit: "node_limit",
  NotJson: "malformed_not_json",
  NotMessage: "malformed_not_message",
  FrameTooLarge: "frame_too_large",
  ProtocolError: "protocol_error",
  KeepaliveTimeout: "keepalive_timeout",
  Replaced: "replaced",
  PeerClosed: "peer_closed",
  WriteError: "write_error",
  HubStopping: "hub_stopping",
  NodeDeleted: "node_deleted",
} as const;

/** One of {@link CloseReason}'s values. */
export type CloseReasonLabel = typeof CloseReason[keyof typeof CloseReason];

/** One label set's count, kept outside prom-client (see HubMetrics' constructor). */
interface CountCell<L extends string> {
  readonly labels: Record<L, string>;
  n: number;
}

/** Makes `counter` hold exactly `cells`' counts (prom-client counters have no set()). */
function copyCounts<L extends string>(counter: Counter<L>, cells: Map<string, CountCell<L>>): void {
  counter.reset();
  for (const c of cells.values()) counter.inc(c.labels, c.n);
}

/** All CloudHub metrics. */
export class HubMetrics {
  /** The registry to render (`/metrics`). */
  readonly registry = new Registry();
  /** Nodes with a live session. */
  readonly connectedNodes: Gauge;
  /** The same value under KubeEdge's own name (`cloud/pkg/common/monitor`). */
  readonly kubeedgeConnectedNodes: Gauge;
  /** Messages read from edges, by operation. */
  readonly messagesIn: Counter<"operation">;
  /** Messages written to edges, by operation and path (`ack`, `noack`, `control`). */
  readonly messagesOut: Counter<"operation" | "path">;
  /** Messages waiting for delivery, by queue (`ack`, `noack`). */
  readonly queueDepth: Gauge<"queue">;
  /** Ack-path resends (same msg_id, after 5 s without ACK). */
  readonly resends: Counter;
  /** Ack-path messages requeued with back-off after five unacknowledged writes. */
  readonly requeues: Counter;
  /** Time from first write to ACK. */
  readonly ackLatency: Histogram;
  /** Connections closed or refused, by reason ({@link CloseReason}). */
  readonly closedConnections: Counter<"reason">;
  /**
   * Connections a listener closed before they were ready (TLS handshake plus request or upgrade),
   * by listener and reason (`handshake_timeout`, `over_capacity`; lib/conn_guard.ts).
   */
  readonly listenerDrops: Counter<"listener" | "reason">;
  /** Connections a listener holds that are not ready yet (under its handshake deadline). */
  readonly listenerPending: Gauge<"listener">;
  /** Downstream messages dropped, by reason. */
  readonly dropped: Counter<"reason">;
  /** Upstream messages that found no module/group on the bus, by target. */
  readonly unroutable: Counter<"target">;
  /** How late a timer due every 50 ms fired (sampled while the monitor serves). */
  readonly eventLoopLag: Histogram;

  readonly #pendingSources = new Map<string, () => number>();

  /** Reports `read()` as the listener's pending connections until the returned function runs. */
  trackPending(listener: string, read: () => number): () => void {
    this.#pendingSources.set(listener, read);
    return () => {
      if (this.#pendingSources.get(listener) === read) this.#pendingSources.delete(listener);
    };
  }

  constructor() {
    const registers = [this.registry];
    this.connectedNodes = new Gauge({
      name: "edgecloud_cloudhub_connected_nodes",
      help: "Edge nodes with a live session.",
      registers,
    });
    this.kubeedgeConnectedNodes = new Gauge({
      name: "KubeEdge_CloudHub_connected_nodes",
      help: "Number of nodes that connected to the cloudHub instance (KubeEdge name).",
      registers,
    });
    // The per-message metrics count into plain numbers and reach prom-client only when it is
    // read (`collect`): prom-client builds and hashes a label object on every inc(), even
    // through a labels() child, and these run several times per message.
    const inCounts = this.#inCounts;
    const outCounts = this.#outCounts;
    const depth = this.#depth;
    this.messagesIn = new Counter({
      name: "edgecloud_cloudhub_messages_in_total",
      help: "Messages received from edge nodes, by operation.",
      labelNames: ["operation"],
      registers,
      collect() {
        copyCounts(this, inCounts);
      },
    });
    this.messagesOut = new Counter({
      name: "edgecloud_cloudhub_messages_out_total",
      help: "Messages written to edge nodes, by operation and path.",
      labelNames: ["operation", "path"],
      registers,
      collect() {
        copyCounts(this, outCounts);
      },
    });
    this.queueDepth = new Gauge({
      name: "edgecloud_cloudhub_queue_depth",
      help: "Downstream messages waiting for delivery (all nodes), by queue.",
      labelNames: ["queue"],
      registers,
      collect() {
        this.set({ queue: "ack" }, depth.ack);
        this.set({ queue: "noack" }, depth.noack);
      },
    });
    this.resends = new Counter({
      name: "edgecloud_cloudhub_resends_total",
      help: "Ack-path messages written again with the same msg_id after no ACK.",
      registers,
    });
    this.requeues = new Counter({
      name: "edgecloud_cloudhub_requeues_total",
      help: "Ack-path messages requeued with back-off after five unacknowledged writes.",
      registers,
    });
    this.ackLatency = new Histogram({
      name: "edgecloud_cloudhub_ack_latency_seconds",
      help: "Time from the first write of an ack-path message to its ACK.",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.closedConnections = new Counter({
      name: "edgecloud_cloudhub_closed_connections_total",
      help: "Edge connections closed or refused, by reason.",
      labelNames: ["reason"],
      registers,
    });
    this.listenerDrops = new Counter({
      name: "edgecloud_listener_dropped_connections_total",
      help:
        "Connections a listener closed before TLS handshake and request headers, upgrade or QUIC header were done: too slow (handshake_timeout) or over the pending cap (over_capacity).",
      labelNames: ["listener", "reason"],
      registers,
    });
    const pendingSources = this.#pendingSources;
    this.listenerPending = new Gauge({
      name: "edgecloud_listener_pending_connections",
      help:
        "Connections a listener holds that are not ready yet (TLS handshake, request headers, upgrade): each is closed if its handshake deadline passes first.",
      labelNames: ["listener"],
      registers,
      collect() {
        this.reset();
        for (const [listener, read] of pendingSources) this.set({ listener }, read());
      },
    });
    this.dropped = new Counter({
      name: "edgecloud_cloudhub_dropped_messages_total",
      help: "Downstream messages dropped, by reason.",
      labelNames: ["reason"],
      registers,
    });
    this.unroutable = new Counter({
      name: "edgecloud_cloudhub_unroutable_messages_total",
      help: "Upstream messages whose target module or group is not on the bus.",
      labelNames: ["target"],
      registers,
    });
    this.eventLoopLag = new Histogram({
      name: "edgecloud_event_loop_lag_seconds",
      help: "How late a timer due every 50 ms fired: time the process's event loop was busy.",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
  }

  readonly #inCounts = new Map<string, CountCell<"operation">>();
  readonly #outCounts = new Map<string, CountCell<"operation" | "path">>();
  readonly #depth = { ack: 0, noack: 0 };

  /** Counts one message read from an edge. */
  countIn(operation: string): void {
    const cell = this.#inCounts.get(operation);
    if (cell) cell.n++;
    else this.#inCounts.set(operation, { labels: { operation }, n: 1 });
  }

  /** Counts one message written to an edge. */
  countOut(operation: string, path: "ack" | "noack" | "control"): void {
    const key = `${path}/${operation}`;
    const cell = this.#outCounts.get(key);
    if (cell) cell.n++;
    else this.#outCounts.set(key, { labels: { operation, path }, n: 1 });
  }

  /** Moves the depth of all nodes' `queue` by `delta`. */
  addQueueDepth(queue: "ack" | "noack", delta: number): void {
    this.#depth[queue] += delta;
  }

  /** Sets both connected-node gauges. */
  setConnected(n: number): void {
    this.connectedNodes.set(n);
    this.kubeedgeConnectedNodes.set(n);
  }

  /** Reads a counter/gauge value for one label set (tests and the bench). */
  async value(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = this.registry.getSingleMetric(name);
    if (!metric) return 0;
    const data = await metric.get();
    let sum = 0;
    for (const v of data.values) {
      const l = v.labels as Record<string, string | number>;
      if (Object.entries(labels).every(([k, want]) => String(l[k]) === want)) {
        // Histograms report buckets too; only count plain samples.
        if (!("metricName" in v) || v.metricName === name) sum += v.value;
      }
    }
    return sum;
  }

  /** Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The content type of {@link render}'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
