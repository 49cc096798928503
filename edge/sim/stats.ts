/**
 * Counters shared by all simulated nodes, the live progress line and the JSON summary.
 */
import { Histogram, type HistogramSummary } from "./histogram.ts";

/** The JSON summary printed at the end of a simulation. */
export interface SimSummary {
  nodes: number;
  transport: "ws" | "quic";
  server: string;
  durationS: number;
  /** Nodes connected at the end. */
  connected: number;
  peakConnected: number;
  /** Time from start until every node had connected once (ms; -1 if some never did). */
  allConnectedMs: number;
  connectFailures: number;
  reconnects: number;
  /** Upstream messages sent, by kind. */
  sent: Record<string, number>;
  sendErrors: number;
  /** Downstream messages received (all, ack-path, and ACKs sent for them). */
  received: number;
  ackPathReceived: number;
  acksSent: number;
  /** Responses matched to our upstream requests. */
  responses: number;
  /** Upstream requests still waiting for their response at the end. */
  pendingAcks: number;
  /** Upstream requests whose response did not come within the response timeout. */
  unanswered: number;
  /** Ack-path messages received again on the connection that ACKed them (must be 0). */
  duplicatesAfterAck: number;
  /** ACKed messages sent again after a drop (legitimate: the ACK may have been lost). */
  resentAfterDrop: number;
  /** Distinct downstream objects seen (resource strings) and their final RV count. */
  objects: number;
  /** Upstream request → response round trip (ms). */
  rttMs: HistogramSummary;
  /** Downstream message timestamp → arrival at the edge (ms; same host clock). */
  downstreamLatencyMs: HistogramSummary;
  upMsgsPerSec: number;
  downMsgsPerSec: number;
}

/** Mutable counters; one instance per simulation. */
export class SimStats {
  readonly startedAt = performance.now();
  connected = 0;
  peakConnected = 0;
  everConnected = 0;
  allConnectedMs = -1;
  connectFailures = 0;
  reconnects = 0;
  readonly sent: Record<string, number> = {};
  sentTotal = 0;
  sendErrors = 0;
  received = 0;
  ackPathReceived = 0;
  responses = 0;
  unanswered = 0;
  duplicatesAfterAck = 0;
  resentAfterDrop = 0;
  readonly rtt = new Histogram();
  readonly downstreamLatency = new Histogram();
  /** Upstream request id → send time (performance.now()). */
  readonly pending = new Map<string, number>();

  /** Records one upstream send of `kind`. */
  countSent(kind: string): void {
    this.sent[kind] = (this.sent[kind] ?? 0) + 1;
    this.sentTotal++;
  }

  /** Moves requests older than `timeoutMs` from pending to unanswered. */
  expire(timeoutMs: number): void {
    const limit = performance.now() - timeoutMs;
    for (const [id, t] of this.pending) {
      // Map iterates in insertion order, so the first young entry ends the sweep.
      if (t > limit) break;
      this.pending.delete(id);
      this.unanswered++;
    }
  }

  /** Seconds since start. */
  elapsedS(): number {
    return (performance.now() - this.startedAt) / 1000;
  }
}

/** Produces the live progress line from successive snapshots (rates over the last interval). */
export class ProgressLine {
  #lastT = performance.now();
  #lastUp = 0;
  #lastDown = 0;

  constructor(readonly stats: SimStats, readonly nodes: number) {}

  /** One line: elapsed, connected, up/down msgs/s, pending ACKs, RTT p99. */
  line(): string {
    const s = this.stats;
    const now = performance.now();
    const dt = Math.max(1e-3, (now - this.#lastT) / 1000);
    const up = (s.sentTotal - this.#lastUp) / dt;
    const down = (s.received - this.#lastDown) / dt;
    this.#lastT = now;
    this.#lastUp = s.sentTotal;
    this.#lastDown = s.received;
    return `[${s.elapsedS().toFixed(0).padStart(4)}s] connected ${s.connected}/${this.nodes}` +
      ` up ${up.toFixed(0)} msg/s down ${down.toFixed(0)} msg/s pending-acks ${s.pending.size}` +
      ` unanswered ${s.unanswered} reconnects ${s.reconnects} fail ${s.connectFailures}`;
  }
}
