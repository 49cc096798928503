/**
 * CloudStream's tunnel server (docs/protocol.md §10): edges dial
 * `wss://<cloud>:<tunnelPort>/v1/kubeedge/connect` with their node certificate and the headers
 * `SessionHostNameOverride` (node name) and `SessionInternalIP`; each gets one
 * {@link TunnelSession}, found by node name or internal IP. As in cloudcore, the node's
 * `status.daemonEndpoints.kubeletEndpoint.Port` is set to the tunnel port on connect, and a node
 * whose endpoint cannot be written gets a CLOSE_CONNECT with the error.
 *
 * Deliberately stricter than cloudcore: the client certificate's CN must be
 * `system:node:<SessionHostNameOverride>` (cloudcore trusts the header, so any node could take
 * over another's tunnel and answer its `kubectl exec`), unless `authorization` is off.
 */
import https from "node:https";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import { type WebSocket, WebSocketServer } from "ws";
import {
  type ConnGuard,
  type ConnLimits,
  createLogger,
  guardNodeServer,
  listenError,
  rawSocket,
} from "../../lib/mod.ts";
import { TunnelSession } from "./session.ts";
import { type StreamMetrics, TunnelCloseReason, type TunnelCloseReasonLabel } from "./metrics.ts";

const log = createLogger("cloudstream");

/** The path edgecore dials. */
export const TUNNEL_PATH = "/v1/kubeedge/connect";
/** Largest tunnel frame accepted (1 MiB of data plus its header). */
const MAX_FRAME = (1 << 20) + 32;
/** A tunnel that sends nothing (edgecore pings every 5 s) for this long is closed. */
export const TUNNEL_IDLE_MS = 60_000;

/** Options of {@link TunnelServer}. */
export interface TunnelServerOptions {
  hostname: string;
  port: number;
  certPem: string;
  keyPem: string;
  caPem: string;
  /** Check the client certificate CN against the node name (default true). */
  authorization?: boolean;
  metrics: StreamMetrics;
  limits?: Partial<ConnLimits>;
  /** Called before a session is accepted; a throw refuses it with CLOSE_CONNECT (the message). */
  onConnect?(node: string, internalIP: string): Promise<void>;
  /** Called when a node's tunnel comes or goes. */
  onSessionChange?(node: string, session: TunnelSession | undefined): void;
}

/** The tunnel listener and its sessions. */
export class TunnelServer {
  readonly #opts: TunnelServerOptions;
  readonly #server: https.Server;
  readonly #wss: WebSocketServer;
  readonly #guard: ConnGuard<Socket>;
  readonly #byName = new Map<string, TunnelSession>();
  readonly #byIp = new Map<string, TunnelSession>();
  #idleTimer: ReturnType<typeof setInterval> | undefined;
  #port = 0;

  constructor(opts: TunnelServerOptions) {
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
      maxPayload: MAX_FRAME,
      perMessageDeflate: false,
      // Tunnel frames are text frames with binary payloads (see protocol/stream/message.ts).
      skipUTF8Validation: true,
    });
    this.#guard = guardNodeServer(this.#server, {
      listener: "tunnel",
      limits: opts.limits,
      readyOnRequest: false,
    });
    this.#server.on("request", (_req, res) => {
      res.writeHead(400, { "content-type": "text/plain; charset=utf-8" });
      res.end("Bad Request: expected a WebSocket upgrade\n");
    });
    this.#server.on("upgrade", (req, socket, head) => this.#onUpgrade(req, socket, head));
  }

  /** The bound port (after {@link start}). */
  get port(): number {
    return this.#port;
  }

  /** Live sessions. */
  get size(): number {
    return this.#byName.size;
  }

  /** The session of a node, by name or internal IP. */
  session(key: string): TunnelSession | undefined {
    return this.#byName.get(key) ?? this.#byIp.get(key);
  }

  /** The internal IP a node's tunnel announced. */
  nodeIP(node: string): string | undefined {
    return this.#byName.get(node)?.internalIP;
  }

  /** Listens; resolves with the bound port. */
  start(): Promise<number> {
    this.#idleTimer = setInterval(() => this.#closeIdle(), TUNNEL_IDLE_MS / 4);
    return new Promise((resolve, reject) => {
      const onError = (err: Error) =>
        reject(listenError(
          err,
          "stream tunnel server",
          this.#opts.hostname,
          this.#opts.port,
          "modules.cloudStream.tunnelPort",
        ));
      this.#server.once("error", onError);
      this.#server.listen({ host: this.#opts.hostname, port: this.#opts.port }, () => {
        this.#server.off("error", onError);
        const addr = this.#server.address();
        this.#port = typeof addr === "object" && addr ? addr.port : 0;
        log.info("stream tunnel server listening", { port: this.#port });
        resolve(this.#port);
      });
    });
  }

  /** Closes every tunnel and the listener. */
  async stop(): Promise<void> {
    clearInterval(this.#idleTimer);
    const closing = new Promise<void>((r) => this.#server.close(() => r()));
    for (const s of [...this.#byName.values()]) s.close(TunnelCloseReason.Stopping);
    this.#wss.close();
    this.#guard.closeAll();
    (this.#server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    await closing;
  }

  #refuse(socket: Duplex, status: number, reason: string, label: TunnelCloseReasonLabel): void {
    this.#opts.metrics.closedTunnels.inc({ reason: label });
    log.warn("stream tunnel refused", { status, reason });
    const body = reason + "\n";
    socket.end(
      `HTTP/1.1 ${status} ${status === 403 ? "Forbidden" : "Bad Request"}\r\n` +
        `Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${new TextEncoder().encode(body).length}\r\n\r\n${body}`,
    );
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => {});
    const path = (req.url ?? "").split("?")[0].replace(/\/+$/, "");
    if (path !== TUNNEL_PATH) {
      return this.#refuse(socket, 400, `unknown path ${path}`, TunnelCloseReason.MissingHostname);
    }
    const node = headerValue(req, "SessionHostNameOverride");
    if (!node) {
      return this.#refuse(
        socket,
        400,
        "missing SessionHostNameOverride header",
        TunnelCloseReason.MissingHostname,
      );
    }
    if (this.#opts.authorization ?? true) {
      const cn = String((socket as TLSSocket).getPeerCertificate?.()?.subject?.CN ?? "");
      if (cn !== `system:node:${node}`) {
        return this.#refuse(
          socket,
          403,
          `client certificate CN ${JSON.stringify(cn)} does not match node ${
            JSON.stringify(node)
          } (expected "system:node:${node}")`,
          TunnelCloseReason.Unauthorized,
        );
      }
    }
    // cloudcore: the header, else the host part of the remote address.
    const ip = headerValue(req, "SessionInternalIP") || (req.socket.remoteAddress ?? "");
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#guard.release(rawSocket(socket as Socket));
      void this.#accept(ws, node, ip);
    });
  }

  async #accept(ws: WebSocket, node: string, ip: string): Promise<void> {
    const session = new TunnelSession(ws, node, ip, this.#opts.metrics);
    try {
      await this.#opts.onConnect?.(node, ip);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      log.warn("stream tunnel refused: node endpoint not updated", { node, error: why });
      session.refuse(why);
      this.#opts.metrics.closedTunnels.inc({ reason: TunnelCloseReason.EndpointUpdate });
      return;
    }
    const old = this.#byName.get(node);
    if (old) old.close(TunnelCloseReason.Replaced);
    this.#byName.set(node, session);
    if (ip) this.#byIp.set(ip, session);
    this.#opts.metrics.tunnels.set(this.#byName.size);
    this.#opts.onSessionChange?.(node, session);
    log.info("stream tunnel connected", { node, internalIP: ip });
    await session.closed;
    if (this.#byName.get(node) === session) {
      this.#byName.delete(node);
      this.#opts.onSessionChange?.(node, undefined);
    }
    if (ip && this.#byIp.get(ip) === session) this.#byIp.delete(ip);
    this.#opts.metrics.tunnels.set(this.#byName.size);
    log.info("stream tunnel closed", { node, reason: session.closeReason });
  }

  #closeIdle(): void {
    const now = Date.now();
    for (const s of this.#byName.values()) {
      if (now - s.lastSeen > TUNNEL_IDLE_MS) s.close(TunnelCloseReason.PeerClosed, "idle");
    }
  }
}

function headerValue(req: IncomingMessage, name: string): string {
  const v = req.headers[name.toLowerCase()];
  return (Array.isArray(v) ? v[0] : v ?? "").trim();
}
