/**
 * CloudHub's WebSocket transport (docs/protocol.md §3.2, §3.3): TLS with required, verified client
 * certificates (`node:https` + `npm:ws`, because `Deno.serve` cannot request client certs),
 * any URL path, identity from the `node_id` header, one JSON message per frame.
 *
 * Refusals, documented once:
 * - before the upgrade, as an HTTP status with the reason as a text body: no or untrusted client
 *   certificate → TLS handshake failure (counted as `tls_handshake`); no `node_id` header → 400;
 *   `ConnectionUse` not `msg` → 400; client certificate CN ≠ `system:node:<node_id>` (when
 *   authorization is on, the default) → 403; node limit or hub stopping → 503;
 * - after the upgrade, as a WebSocket close with a reason: malformed frame → 1007, frame over
 *   `maxPayload` → 1009 (sent by `ws`), hub stopping → 1001, every session close (keepalive
 *   timeout, replaced, node deleted, write error) → 1000.
 * Each refusal or close is counted once in `edgecloud_cloudhub_closed_connections_total{reason}`;
 * closes requested through {@link EdgeConnection.close} are counted by the session.
 *
 * Connections not yet upgraded are bounded (lib/conn_guard.ts, `limits`): TLS handshake,
 * headers and upgrade must be done within 10 s and at most 1024 may wait at once; the rest are
 * closed and counted in `edgecloud_listener_dropped_connections_total{listener="websocket"}`.
 *
 * @example
 * ```ts
 * const ws = new WebSocketTransport({ acceptor, metrics, certPem, keyPem, caPem, port: 0 });
 * const port = await ws.start();
 * await ws.stop();
 * ```
 */
import https from "node:https";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import { type RawData, WebSocket, WebSocketServer } from "ws";
import {
  decodeMessage,
  encodeMessage,
  type Message,
  MessageDecodeError,
  type MessageEnv,
  newRespByMessage,
  Operation,
  sharedContentJson,
} from "../modules/mod.ts";
import {
  type ConnGuard,
  type ConnLimits,
  createLogger,
  guardNodeServer,
  listenError,
  rawSocket,
} from "../lib/mod.ts";
import { CloseReason, type CloseReasonLabel, type HubMetrics } from "./metrics.ts";
import { type ConnectionAcceptor, type EdgeConnection, ListenBacklog } from "./transport.ts";
import { InboundQueue } from "./inbound.ts";
import { wsFrameBytes } from "../protocol/mod.ts";

/** The setting that moves this listener (named when its port is taken). */
const WS_SETTING = "modules.cloudHub.websocket.port";

const log = createLogger("cloudhub.websocket");

/** Default frame cap: 8 MiB (gorilla has none; a cap keeps one edge from exhausting memory). */
export const DefaultMaxPayload = 8 * 1024 * 1024;

/** Close codes used by the hub. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  InvalidPayload: 1007,
  TooBig: 1009,
  Internal: 1011,
} as const;

/** Options of {@link WebSocketTransport}. */
export interface WebSocketTransportOptions {
  acceptor: ConnectionAcceptor;
  metrics: HubMetrics;
  /** Server certificate PEM (the cloudcore cert). */
  certPem: string;
  /** Server key PEM. */
  keyPem: string;
  /** CA PEM that client certificates must chain to. */
  caPem: string;
  /** Bind address (default `0.0.0.0`). */
  hostname?: string;
  /** Port (default 10000; 0 picks a free one). */
  port?: number;
  /** Require client cert CN `system:node:<node_id>` (default true). */
  authorization?: boolean;
  /** Largest accepted frame in bytes (default {@link DefaultMaxPayload}). */
  maxPayload?: number;
  /** Ids and clock for control replies. */
  env?: MessageEnv;
  /**
   * Limits on connections not yet upgraded: TLS handshake, headers and upgrade within
   * `handshakeTimeoutMs` (default 10 s), at most `maxPending` at once (default 1024; more are
   * closed at once), keep-alive idle `idleTimeoutMs` for plain requests (default 5 s). Drops are
   * counted in `edgecloud_listener_dropped_connections_total{listener="websocket"}`.
   */
  limits?: Partial<ConnLimits>;
}

/** Bytes queued on a socket above which writes wait for the flush. */
const WRITE_HIGH_WATER = 1 << 20;

const CONTROL_OPS: ReadonlySet<string> = new Set([
  Operation.Config,
  Operation.Ping,
  Operation.Pong,
]);

/** The no-op error listener of a socket being upgraded or refused (one function for all). */
const ignoreError = () => {};

/** Close reasons are limited to 123 bytes by RFC 6455. */
function closeText(reason: string): string {
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length <= 123) return reason;
  return new TextDecoder().decode(bytes.slice(0, 120)).replace(/\uFFFD$/, "") + "...";
}

function headerValue(req: IncomingMessage, name: string): string {
  const v = req.headers[name.toLowerCase()];
  return (Array.isArray(v) ? v[0] : v ?? "").trim();
}

/** One edge connection over WebSocket. */
export class WsEdgeConnection implements EdgeConnection {
  readonly transport = "websocket" as const;
  readonly closed: Promise<string>;
  #resolveClosed!: (reason: string) => void;
  #inbound: InboundQueue | undefined;
  /** Messages read before the session attached its handler (rare: allocated on demand). */
  #backlog: Message[] | undefined;
  #localReason: string | undefined;
  #killTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly ws: WebSocket,
    readonly nodeId: string,
    readonly projectId: string,
    readonly remoteAddress: string,
    readonly metrics: HubMetrics,
    readonly env?: MessageEnv,
    /** Called once the socket has closed (the transport forgets it; no promise reaction). */
    onClosed?: (conn: WsEdgeConnection) => void,
  ) {
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    ws.on("message", (data, isBinary) => this.#onFrame(data, isBinary));
    ws.on("error", (err: Error & { code?: string }) => {
      const tooBig = err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH";
      const label = tooBig ? CloseReason.FrameTooLarge : CloseReason.ProtocolError;
      const reason = tooBig ? "frame too large" : `protocol error: ${err.message}`;
      log.warn("websocket error", { node: nodeId, error: err.message });
      this.#closeWith(reason, label, tooBig ? CloseCode.TooBig : CloseCode.InvalidPayload);
      // ws stops reading after a receive error, so the peer's close frame never arrives:
      // give our close frame a moment to flush, then drop the socket.
      clearTimeout(this.#killTimer);
      this.#killTimer = setTimeout(() => this.ws.terminate(), 1_000);
    });
    ws.on("close", (code, reasonBuf) => {
      clearTimeout(this.#killTimer);
      let reason = this.#localReason;
      if (reason === undefined) {
        const text = reasonBuf.toString();
        reason = `peer closed (${code}${text ? ` ${text}` : ""})`;
        this.metrics.closedConnections.inc({ reason: CloseReason.PeerClosed });
      }
      this.#resolveClosed(reason);
      onClosed?.(this);
    });
  }

  write(msg: Message): void | Promise<void> {
    if (this.ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new Error(`connection to ${this.nodeId} is closed`));
    }
    // gorilla's WriteJSON: one text frame, JSON plus a trailing newline (json.Encoder).
    const text = encodeMessage(msg, sharedContentJson(msg.content)) + "\n";
    if (this.ws.bufferedAmount < WRITE_HIGH_WATER) {
      // The frame is queued in order; a failure later closes the socket, which ends the
      // session (ack-path messages are then released to the node's pool). Skipping the
      // per-write callback and promise keeps them off the hot path.
      this.ws.send(text);
      return;
    }
    // Back-pressure: past the high-water mark, wait until this frame is flushed.
    return new Promise((resolve, reject) => {
      this.ws.send(text, (err) => (err ? reject(err) : resolve()));
    });
  }

  onMessage(handler: (msg: Message) => void | Promise<void>): void {
    // The socket itself is the read flow (ws.pause() / ws.resume()).
    const inbound = new InboundQueue(
      handler,
      this.ws,
      (err) => log.error("message handler failed", { node: this.nodeId, error: err }),
    );
    this.#inbound = inbound;
    const backlog = this.#backlog;
    this.#backlog = undefined;
    if (backlog) { for (const msg of backlog) inbound.push(msg); }
  }

  close(reason: string, code: number = CloseCode.Normal): void {
    if (this.#localReason !== undefined) return;
    this.#localReason = reason;
    this.#shutdown(reason, code);
  }

  /** A close the transport itself decides (counted here). */
  #closeWith(reason: string, label: CloseReasonLabel, code: number): void {
    if (this.#localReason !== undefined) return;
    this.metrics.closedConnections.inc({ reason: label });
    this.#localReason = reason;
    this.#shutdown(reason, code);
  }

  #shutdown(reason: string, code: number): void {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    try {
      this.ws.close(code, closeText(reason));
    } catch {
      this.ws.terminate();
    }
    // A peer that never answers the close handshake must not hold the socket.
    this.#killTimer = setTimeout(() => this.ws.terminate(), 5_000);
  }

  #onFrame(data: RawData, _isBinary: boolean): void {
    if (this.#localReason !== undefined) return;
    let msg: Message;
    try {
      msg = decodeMessage(wsFrameBytes(data));
    } catch (err) {
      const notJson = err instanceof MessageDecodeError && err.message.startsWith("not JSON");
      log.warn("malformed frame; closing connection", { node: this.nodeId, error: err });
      this.#closeWith(
        `malformed message: ${(err as Error).message}`,
        notJson ? CloseReason.NotJson : CloseReason.NotMessage,
        CloseCode.InvalidPayload,
      );
      return;
    }
    if (CONTROL_OPS.has(msg.route.operation ?? "")) {
      // viaduct answers config/ping/pong itself with "ack" (§3.3) and drops the message.
      this.write(newRespByMessage(msg, "ack", this.env))?.catch(() => {});
      this.metrics.countOut(Operation.Response, "control");
      return;
    }
    if (!this.#inbound) {
      (this.#backlog ??= []).push(msg);
      return;
    }
    this.#inbound.push(msg);
  }

  get readPaused(): boolean {
    return this.#inbound?.paused ?? false;
  }
}

/** The TLS WebSocket listener; see module docs. */
export class WebSocketTransport {
  readonly #opts: WebSocketTransportOptions;
  readonly #server: https.Server;
  readonly #wss: WebSocketServer;
  readonly #guard: ConnGuard<Socket>;
  readonly #untrackPending: () => void;
  readonly #conns = new Set<WsEdgeConnection>();
  readonly #forget = (conn: WsEdgeConnection) => void this.#conns.delete(conn);
  #port = 0;

  constructor(opts: WebSocketTransportOptions) {
    this.#opts = opts;
    this.#server = https.createServer({
      cert: opts.certPem,
      key: opts.keyPem,
      ca: opts.caPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: "TLSv1.2",
    });
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.maxPayload ?? DefaultMaxPayload,
      // KubeEdge negotiates no extensions; compression would only cost CPU per session.
      perMessageDeflate: false,
    });
    this.#guard = guardNodeServer(this.#server, {
      listener: "websocket",
      limits: opts.limits,
      onDrop: (reason) => opts.metrics.listenerDrops.inc({ listener: "websocket", reason }),
      readyOnRequest: false,
    });
    this.#untrackPending = opts.metrics.trackPending("websocket", () => this.#guard.pending);
    this.#server.on("tlsClientError", (err: Error, tls: TLSSocket) => {
      // A connection the guard dropped mid-handshake is counted there.
      if (this.#guard.wasDropped(rawSocket(tls))) return;
      log.warn("TLS handshake failed", { error: err.message });
      opts.metrics.closedConnections.inc({ reason: CloseReason.TlsHandshake });
    });
    this.#server.on("request", (_req, res) => {
      // gorilla answers a non-WebSocket request with 400.
      res.writeHead(400, { "content-type": "text/plain; charset=utf-8" });
      res.end("Bad Request: expected a WebSocket upgrade\n");
    });
    this.#server.on("upgrade", (req, socket, head) => this.#onUpgrade(req, socket, head));
  }

  /** The bound port (after {@link start}). */
  get port(): number {
    return this.#port;
  }

  /** Live connections. */
  get connections(): number {
    return this.#conns.size;
  }

  /** Listens; resolves with the bound port. */
  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      const where = {
        port: this.#opts.port ?? 10000,
        host: this.#opts.hostname ?? "0.0.0.0",
        backlog: ListenBacklog,
      };
      const onError = (err: Error) =>
        reject(
          listenError(err, "websocket server", where.host, where.port, WS_SETTING),
        );
      this.#server.once("error", onError);
      this.#server.listen(where, () => {
        this.#server.off("error", onError);
        const addr = this.#server.address();
        this.#port = typeof addr === "object" && addr ? addr.port : 0;
        log.info("websocket server listening", { port: this.#port });
        resolve(this.#port);
      });
    });
  }

  #refuse(
    socket: Duplex,
    status: number,
    text: string,
    reason: string,
    label: CloseReasonLabel,
  ): void {
    this.#opts.metrics.closedConnections.inc({ reason: label });
    log.warn("connection refused", { status, reason });
    const body = reason + "\n";
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${new TextEncoder().encode(body).length}\r\n\r\n${body}`,
    );
    const timer = setTimeout(() => socket.destroy(), 1_000);
    socket.once("close", () => clearTimeout(timer));
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Until ws takes the socket (it adds its own error listener), or for a refused one.
    socket.on("error", ignoreError);
    const tls = socket as TLSSocket;
    const nodeId = headerValue(req, "node_id");
    const projectId = headerValue(req, "project_id");
    if (!nodeId) {
      return this.#refuse(
        socket,
        400,
        "Bad Request",
        "missing node_id header",
        CloseReason.MissingNodeId,
      );
    }
    const use = headerValue(req, "ConnectionUse");
    if (use !== "msg") {
      return this.#refuse(
        socket,
        400,
        "Bad Request",
        use
          ? `unsupported ConnectionUse ${JSON.stringify(use)} (only "msg")`
          : "missing ConnectionUse header",
        CloseReason.MissingConnectionUse,
      );
    }
    if (this.#opts.authorization ?? true) {
      const cn = String(tls.getPeerCertificate?.()?.subject?.CN ?? "");
      if (cn !== `system:node:${nodeId}`) {
        return this.#refuse(
          socket,
          403,
          "Forbidden",
          `client certificate CN ${JSON.stringify(cn)} does not match node_id ${
            JSON.stringify(nodeId)
          } ` +
            `(expected "system:node:${nodeId}")`,
          CloseReason.Unauthorized,
        );
      }
    }
    const refusal = this.#opts.acceptor.admit(nodeId);
    if (refusal) {
      const text = refusal.status === 503 ? "Service Unavailable" : "Refused";
      return this.#refuse(socket, refusal.status, text, refusal.reason, CloseReason.NodeLimit);
    }
    const remote = `${req.socket.remoteAddress ?? "?"}:${req.socket.remotePort ?? 0}`;
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#guard.release(rawSocket(tls));
      socket.off("error", ignoreError);
      const conn = new WsEdgeConnection(
        ws,
        nodeId,
        projectId,
        remote,
        this.#opts.metrics,
        this.#opts.env,
        this.#forget,
      );
      this.#conns.add(conn);
      this.#opts.acceptor.accept(conn);
    });
  }

  /** Stops listening and closes every connection (1001), waiting until all are closed. */
  async stop(): Promise<void> {
    const closing = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const conn of this.#conns) conn.close("cloudhub is stopping", CloseCode.GoingAway);
    // Peers get a moment to answer the close frame; then the sockets are dropped, so a stop
    // stays well inside the module registry's stop timeout.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const all = Promise.all([...this.#conns].map((c) => c.closed));
    await Promise.race([
      all,
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          for (const conn of this.#conns) conn.ws.terminate();
          resolve();
        }, 1_000);
      }),
    ]);
    clearTimeout(timer);
    await all;
    this.#wss.close();
    this.#guard.closeAll();
    this.#untrackPending();
    // Sockets still in the TLS handshake or refused ones would keep server.close() waiting.
    (this.#server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    await closing;
  }
}
