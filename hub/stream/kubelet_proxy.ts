/**
 * The embedded API's way to the nodes' kubelets (its `NodeProxy`): GETs become logs or metrics
 * connections whose body streams back; upgrades (kubectl exec, attach, port-forward) are relayed
 * byte for byte when kubectl speaks SPDY, and translated when it speaks WebSocket
 * (see websocket_streams.ts), since edgecore's kubelet server speaks SPDY only.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { TunnelServer } from "./tunnel_server.ts";
import type { StreamKind, TunnelSession } from "./session.ts";
import { relaySocket } from "./relay.ts";

/** Headers that never go to an edge. */
const PRIVATE = new Set(["authorization", "cookie", "proxy-authorization", "host"]);

/**
 * A request's headers as they go to the kubelet, repeated ones kept apart (as Go's http.Header
 * holds them): no credentials, no impersonation.
 */
export function edgeHeaders(req: IncomingMessage): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const k = req.rawHeaders[i].toLowerCase();
    if (PRIVATE.has(k) || k.startsWith("impersonate-")) continue;
    out.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
  }
  return out;
}

/** Handles WebSocket upgrades (set by the composition once the translation exists). */
export type WebSocketUpgrade = (
  session: TunnelSession,
  kind: "exec" | "attach" | "portforward",
  kubeletPath: string,
  req: IncomingMessage,
  socket: Duplex,
  head: Uint8Array,
) => void;

/** A `NodeProxy` over the tunnel server's sessions. */
export class KubeletProxy {
  constructor(
    readonly tunnels: TunnelServer,
    readonly websocket?: WebSocketUpgrade,
  ) {}

  connected(node: string): boolean {
    return this.tunnels.session(node) !== undefined;
  }

  #session(node: string): TunnelSession {
    const s = this.tunnels.session(node);
    if (!s) throw new Error(`node ${node} has no CloudStream tunnel`);
    return s;
  }

  get(
    node: string,
    kind: "logs" | "metrics",
    kubeletPath: string,
    headers: Headers,
    signal: AbortSignal,
  ): ReadableStream<Uint8Array> {
    const conn = this.#session(node).open(kind, kubeletPath, headers);
    if (signal.aborted) conn.close();
    else signal.addEventListener("abort", () => conn.close(), { once: true });
    return conn.readable;
  }

  upgrade(
    node: string,
    kind: "exec" | "attach" | "portforward",
    kubeletPath: string,
    req: IncomingMessage,
    socket: Duplex,
    head: Uint8Array,
  ): void {
    const session = this.#session(node);
    const upgrade = String(req.headers.upgrade ?? "").toLowerCase();
    if (upgrade === "websocket") {
      if (this.websocket) return this.websocket(session, kind, kubeletPath, req, socket, head);
      // kubectl falls back to SPDY when its WebSocket upgrade is refused.
      const body = "WebSocket streams are not served; use SPDY\n";
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
          `Content-Length: ${body.length}\r\n\r\n${body}`,
      );
      return;
    }
    const conn = session.open(kind as StreamKind, kubeletPath, edgeHeaders(req), req.method);
    void relaySocket(socket, conn, head);
  }
}
