/**
 * The edge end of CloudStream (edgecore's EdgeStream, docs/protocol.md §10): dials
 * `wss://<tunnelServer>/v1/kubeedge/connect` with the node certificate and the
 * `SessionHostNameOverride` / `SessionInternalIP` headers, pings every 5 s, and serves each
 * connect message from the node's {@link EdgeKubelet}: logs and metrics as a GET whose body goes
 * back as DATA, exec and attach (and port-forward, which the cloud sends as an exec connect) as a
 * raw upgrade relay. The end of a connection is a REMOVE_CONNECT either way; a CLOSE_CONNECT from
 * the cloud (it could not record the node's kubelet port) ends the tunnel with its reason.
 */
import { type RawData, WebSocket } from "ws";
import { connectorHeaders, connectorTarget, parseConnector } from "../../protocol/stream/mod.ts";
import { wsFrameBytes } from "../../protocol/mod.ts";
import {
  decodeTunnelMessage,
  type TunnelMessage,
  TunnelMessageType,
} from "../../protocol/stream/mod.ts";
import { type TunnelConn, TunnelMux } from "../../protocol/stream/mod.ts";
import type { EdgeKubelet } from "./kubelet.ts";

/** Options of {@link dialStreamTunnel}. */
export interface StreamTunnelOptions {
  /** `host:port` of the cloud's tunnel server (`modules.edgeStream.tunnelServer`). */
  server: string;
  nodeName: string;
  internalIP: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  kubelet: EdgeKubelet;
  /** Ping period (edgecore: 5 s). */
  pingMs?: number;
  handshakeTimeoutMs?: number;
}

/** A connected tunnel. */
export interface StreamTunnel {
  /** Resolves when the tunnel ends, with the cloud's CLOSE_CONNECT reason if it sent one. */
  readonly closed: Promise<string | undefined>;
  /** Live connections. */
  readonly connections: number;
  close(): void;
}

/** Dials the tunnel; resolves once connected. */
export function dialStreamTunnel(opts: StreamTunnelOptions): Promise<StreamTunnel> {
  const url = `wss://${opts.server}/v1/kubeedge/connect`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      ca: opts.caPem,
      cert: opts.certPem,
      key: opts.keyPem,
      rejectUnauthorized: true,
      perMessageDeflate: false,
      skipUTF8Validation: true,
      handshakeTimeout: opts.handshakeTimeoutMs ?? 30_000,
      headers: {
        SessionHostNameOverride: opts.nodeName,
        SessionInternalIP: opts.internalIP,
      },
    });
    let refusedWith: string | undefined;
    let resolveClosed!: (why: string | undefined) => void;
    const closed = new Promise<string | undefined>((r) => resolveClosed = r);
    const mux = new TunnelMux({
      send: (frame, done) => {
        if (ws.readyState !== ws.OPEN) return done(new Error("tunnel closed"));
        ws.send(frame, { binary: false }, (err) => done(err ?? undefined));
      },
      pause: () => ws.pause(),
      resume: () => ws.resume(),
    }, (msg, conn) => void serve(opts.kubelet, msg, conn));
    let ping: ReturnType<typeof setInterval> | undefined;
    ws.on("message", (data: RawData) => {
      let msg: TunnelMessage;
      try {
        msg = decodeTunnelMessage(wsFrameBytes(data));
      } catch {
        ws.close(1002, "malformed tunnel frame");
        return;
      }
      if (msg.type === TunnelMessageType.CloseConnect) {
        refusedWith = new TextDecoder().decode(msg.data);
        ws.close(1000, "closed by the cloud");
        return;
      }
      mux.dispatch(msg);
    });
    ws.on("close", () => {
      clearInterval(ping);
      mux.closeAll();
      resolveClosed(refusedWith);
    });
    ws.on("unexpected-response", (_req, res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (c: Uint8Array) => chunks.push(c));
      res.on("end", () => {
        reject(new Error(`tunnel refused: ${res.statusCode} ${Buffer.concat(chunks).toString()}`));
        ws.terminate();
      });
    });
    ws.on("error", (e: Error) => reject(new Error(`cannot connect to ${url}: ${e.message}`)));
    ws.once("open", () => {
      ws.removeAllListeners("error");
      ws.on("error", () => {});
      ping = setInterval(() => ws.ping("ping you"), opts.pingMs ?? 5_000);
      resolve({
        closed,
        get connections() {
          return mux.size;
        },
        close: () => ws.close(1000),
      });
    });
  });
}

/** Serves one connect message from the kubelet, then ends the connection. */
async function serve(kubelet: EdgeKubelet, msg: TunnelMessage, conn: TunnelConn): Promise<void> {
  try {
    const c = parseConnector(msg.data);
    const target = connectorTarget(c);
    const headers = connectorHeaders(c);
    if (
      msg.type === TunnelMessageType.LogsConnect || msg.type === TunnelMessageType.MetricConnect
    ) {
      const abort = new AbortController();
      conn.ended.then(() => abort.abort());
      const body = await kubelet.get(target, headers, abort.signal);
      await body.pipeTo(conn.writable, { signal: abort.signal }).catch(() => {});
    } else {
      await kubelet.upgrade({ method: c.method || "GET", url: target, headers }, conn);
    }
  } catch {
    // edgecore logs and ends the connection; the cloud sees REMOVE_CONNECT.
  } finally {
    conn.close();
  }
}
