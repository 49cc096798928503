/**
 * One edge node's CloudStream tunnel on the hub: opens logs, metrics, exec, attach and
 * port-forward connections to the node's kubelet server (docs/protocol.md §10) and routes the
 * edge's DATA and REMOVE_CONNECT messages to them. A frame that cannot be decoded, or a binary
 * frame (KubeEdge sends text frames only), closes this tunnel with a reason and a metric.
 */
import type { RawData, WebSocket } from "ws";
import { wsFrameBytes } from "../../protocol/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import { connector } from "../../protocol/stream/mod.ts";
import {
  decodeTunnelMessage,
  TunnelFrameError,
  TunnelMessageType,
} from "../../protocol/stream/mod.ts";
import { type TunnelConn, TunnelMux } from "../../protocol/stream/mod.ts";
import { type StreamMetrics, TunnelCloseReason, type TunnelCloseReasonLabel } from "./metrics.ts";

const log = createLogger("cloudstream");

/** What a stream connection is for; picks the connect message type. */
export type StreamKind = "logs" | "metrics" | "exec" | "attach" | "portforward";

const CONNECT_TYPE: Record<StreamKind, number> = {
  logs: TunnelMessageType.LogsConnect,
  metrics: TunnelMessageType.MetricConnect,
  exec: TunnelMessageType.ExecConnect,
  attach: TunnelMessageType.AttachConnect,
  // edgecore's exec connection relays any upgrade request to its kubelet server, and that serves
  // /portForward; edgecore panics on an unknown message type, so there is no type of its own.
  portforward: TunnelMessageType.ExecConnect,
};

// Connection ids are unique per hub, as cloudcore's StreamServer counter.
let nextConnectId = 0;

/** A node's tunnel. */
export class TunnelSession {
  readonly mux: TunnelMux;
  readonly closed: Promise<void>;
  /** Wall time of the last frame or ping from the edge. */
  lastSeen = Date.now();
  closeReason: string | undefined;
  #resolveClosed!: () => void;

  constructor(
    readonly ws: WebSocket,
    readonly node: string,
    readonly internalIP: string,
    readonly metrics: StreamMetrics,
  ) {
    this.closed = new Promise((r) => this.#resolveClosed = r);
    this.mux = new TunnelMux({
      send: (frame, done) => {
        if (ws.readyState !== ws.OPEN) return done(new Error("tunnel closed"));
        ws.send(frame, { binary: false }, (err) => done(err ?? undefined));
      },
      pause: () => ws.pause(),
      resume: () => ws.resume(),
    });
    ws.on("message", (data: RawData, isBinary: boolean) => this.#onFrame(data, isBinary));
    ws.on("ping", () => this.lastSeen = Date.now());
    ws.on("error", () => {});
    ws.on("close", () => this.#finish(TunnelCloseReason.PeerClosed));
  }

  /** Live connections. */
  get connections(): number {
    return this.mux.size;
  }

  /**
   * Opens a connection to the node's kubelet server for `pathAndQuery`. Exec, attach and
   * port-forward carry the raw upgrade exchange; logs and metrics the response body.
   */
  open(
    kind: StreamKind,
    pathAndQuery: string,
    headers: Headers | Iterable<[string, string]>,
    method = "GET",
  ): TunnelConn {
    const id = ++nextConnectId;
    const upgrade = kind === "exec" || kind === "attach" || kind === "portforward";
    const c = connector(id, pathAndQuery, headers, upgrade ? method : undefined);
    this.metrics.connections.inc({ kind });
    return this.mux.open(id, CONNECT_TYPE[kind], c);
  }

  /** Refuses the tunnel: CLOSE_CONNECT with `why`, then close (cloudcore's endpoint failure). */
  refuse(why: string): void {
    this.mux.sendMessage(0, TunnelMessageType.CloseConnect, new TextEncoder().encode(why));
    this.close(TunnelCloseReason.EndpointUpdate, why);
  }

  /** Closes the tunnel and every connection on it. */
  close(reason: TunnelCloseReasonLabel, detail = ""): void {
    if (this.closeReason === undefined && reason !== TunnelCloseReason.PeerClosed) {
      this.metrics.closedTunnels.inc({ reason });
    }
    this.closeReason ??= detail ? `${reason}: ${detail}` : reason;
    try {
      this.ws.close(reason === TunnelCloseReason.Malformed ? 1002 : 1000, reason);
    } catch {
      this.ws.terminate();
    }
    this.#finish(reason);
  }

  #onFrame(data: RawData, isBinary: boolean): void {
    this.lastSeen = Date.now();
    if (isBinary) {
      log.warn("stream tunnel: binary frame, expected text", { node: this.node });
      return this.close(TunnelCloseReason.Malformed, "binary frame");
    }
    try {
      this.mux.dispatch(decodeTunnelMessage(wsFrameBytes(data)));
    } catch (e) {
      if (!(e instanceof TunnelFrameError)) throw e;
      log.warn("stream tunnel: malformed frame", { node: this.node, error: e.message });
      this.close(TunnelCloseReason.Malformed, e.message);
    }
  }

  #finish(reason: string): void {
    if (this.closeReason === undefined) {
      this.closeReason = reason;
      if (reason === TunnelCloseReason.PeerClosed) {
        this.metrics.closedTunnels.inc({ reason: TunnelCloseReason.PeerClosed });
      }
    }
    this.mux.closeAll();
    this.#resolveClosed();
  }
}
