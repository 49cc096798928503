/**
 * The edge side of the WebSocket link, as edgecore's EdgeHub dials it (docs/protocol.md §3.2):
 * `wss://<server>/<projectID>/<nodeName>/events` with the headers `Node_id`, `Project_id` and
 * `Connectionuse: msg` (Go's canonical spelling), presenting the node's client certificate and
 * verifying the server certificate against the CA (including the IP/name).
 *
 * @example
 * ```ts
 * const link = await dialEdgeWebSocket({ server: "127.0.0.1:10000", nodeName: "n1", caPem, certPem, keyPem });
 * link.ws.on("message", (data) => ...);
 * ```
 */
import { WebSocket } from "ws";

/** The default `projectID` of edgecore. */
export const DefaultProjectId = "e632aba927ea4ac2b575ec1603d56f10";

/** Thrown when the hub refuses the connection or TLS fails. */
export class EdgeConnectError extends Error {
  override name = "EdgeConnectError";
  /** HTTP status of a refused upgrade (undefined for network/TLS failures). */
  readonly status?: number;
  /** The response body of a refused upgrade (the hub's reason). */
  readonly body?: string;

  constructor(message: string, status?: number, body?: string) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** Options of {@link dialEdgeWebSocket}. */
export interface DialOptions {
  /** `host:port` of CloudHub's WebSocket listener. */
  server: string;
  nodeName: string;
  /** Default {@link DefaultProjectId}. */
  projectId?: string;
  /** CA that signed the hub's server certificate (PEM). */
  caPem: string;
  /** Client certificate and key (PEM); omit both to connect without one (tests). */
  certPem?: string;
  keyPem?: string;
  /** TLS server name to verify (default: the host of `server`). */
  serverName?: string;
  /** Handshake timeout (default 30 s, like edgecore). */
  handshakeTimeoutMs?: number;
  /** Extra or replacement headers (tests: omit ConnectionUse, forge node_id ...). */
  headers?: Record<string, string | undefined>;
}

/** An open link. */
export interface EdgeLink {
  ws: WebSocket;
  url: string;
  /**
   * Frames that arrived before the caller attached its own `message` listener, oldest first;
   * the first call also stops the buffering. Call it right after adding the listener.
   */
  takeEarlyFrames(): WebSocket.RawData[];
}

/** The URL edgecore dials. */
export function edgeHubUrl(server: string, projectId: string, nodeName: string): string {
  return `wss://${server}/${projectId}/${nodeName}/events`;
}

/** Dials the hub; resolves once the upgrade succeeded. */
export function dialEdgeWebSocket(opts: DialOptions): Promise<EdgeLink> {
  const projectId = opts.projectId ?? DefaultProjectId;
  const url = edgeHubUrl(opts.server, projectId, opts.nodeName);
  const headers: Record<string, string> = {
    Node_id: opts.nodeName,
    Project_id: projectId,
    Connectionuse: "msg",
  };
  for (const [k, v] of Object.entries(opts.headers ?? {})) {
    for (const existing of Object.keys(headers)) {
      if (existing.toLowerCase() === k.toLowerCase()) delete headers[existing];
    }
    if (v !== undefined) headers[k] = v;
  }
  return new Promise((resolve, reject) => {
    const tlsOptions: Record<string, unknown> = {
      ca: opts.caPem,
      cert: opts.certPem,
      key: opts.keyPem,
      headers,
      handshakeTimeout: opts.handshakeTimeoutMs ?? 30_000,
      perMessageDeflate: false,
      rejectUnauthorized: true,
    };
    // ws passes TLS options through to tls.connect; its types omit `servername`.
    if (opts.serverName) tlsOptions.servername = opts.serverName;
    const ws = new WebSocket(url, tlsOptions as WebSocket.ClientOptions);
    // A hub with messages queued for the node sends them right after the upgrade, often in the
    // same TCP segment as the 101 answer. ws emits those frames as soon as it switches to the
    // socket, before our promise resolves and the caller can listen: without this buffer they
    // were dropped (seen as resends after the ACK timeout, tests/e2e/hub_kill_test.ts).
    const early: WebSocket.RawData[] = [];
    const buffer = (data: WebSocket.RawData) => early.push(data);
    ws.on("message", buffer);
    const takeEarlyFrames = () => {
      ws.off("message", buffer);
      return early.splice(0);
    };
    let settled = false;
    const fail = (err: EdgeConnectError) => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    ws.once("open", () => {
      if (settled) return;
      settled = true;
      ws.removeAllListeners("error");
      ws.removeAllListeners("unexpected-response");
      resolve({ ws, url, takeEarlyFrames });
    });
    ws.on("unexpected-response", (_req, res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (c: Uint8Array) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8").trim();
        fail(
          new EdgeConnectError(
            `hub refused the connection: ${res.statusCode} ${body}`,
            res.statusCode,
            body,
          ),
        );
        ws.terminate();
      });
      res.on("error", () => {});
    });
    ws.on("error", (err: Error) => {
      fail(new EdgeConnectError(`cannot connect to ${url}: ${err.message}`));
    });
  });
}
