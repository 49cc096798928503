/**
 * CloudStream's stream server (`modules.cloudStream.streamPort`, 10003): what a real
 * kube-apiserver reaches when it calls a node's kubelet (through the iptables forward of the
 * node's kubelet port, docs/cloudstream.md). The routes are cloudcore's — `/containerLogs`,
 * `/exec`, `/attach`, `/stats`, `/metrics` — plus `/portForward`, which cloudcore lacks (it answers
 * 404, so `kubectl port-forward` to edge pods never works there); the node is the pod's
 * `spec.nodeName` for container paths, and the Host (node IP or name) or the
 * `X-Forwarded-Uri` of a nodes/proxy call for stats and metrics. Errors name the node or pod,
 * where cloudcore answers an empty 500.
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { createLogger, listenError } from "../../lib/mod.ts";
import type { KubeClient } from "../../kube/mod.ts";
import { edgeHeaders } from "./kubelet_proxy.ts";
import { relaySocket } from "./relay.ts";
import type { StreamKind } from "./session.ts";
import type { TunnelServer } from "./tunnel_server.ts";

const log = createLogger("cloudstream");

/** Options of {@link StreamServer}. */
export interface StreamServerOptions {
  hostname: string;
  port: number;
  certPem: string;
  keyPem: string;
  /** CA of the clients (kube-apiserver's kubelet client certificate); requested, not required. */
  caPem: string;
  tunnels: TunnelServer;
  kube: KubeClient;
}

class StreamError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** See module docs. */
export class StreamServer {
  readonly #server: https.Server;
  #port = 0;

  constructor(readonly opts: StreamServerOptions) {
    this.#server = https.createServer({
      cert: opts.certPem,
      key: opts.keyPem,
      ca: opts.caPem,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
    }, (req, res) => void this.#request(req, res));
    this.#server.on("upgrade", (req, socket, head) => void this.#upgrade(req, socket, head));
  }

  get port(): number {
    return this.#port;
  }

  start(): Promise<number> {
    const { hostname, port } = this.opts;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) =>
        reject(listenError(err, "stream server", hostname, port, "modules.cloudStream.streamPort"));
      this.#server.once("error", onError);
      this.#server.listen({ host: hostname, port }, () => {
        this.#server.off("error", onError);
        const a = this.#server.address();
        this.#port = typeof a === "object" && a ? a.port : 0;
        log.info("stream server listening", { port: this.#port });
        resolve(this.#port);
      });
    });
  }

  async stop(): Promise<void> {
    const closing = new Promise<void>((r) => this.#server.close(() => r()));
    (this.#server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    await closing;
  }

  /** The node of a container path (`/<kind>/<ns>/<pod>/...`), from the pod's nodeName. */
  async #podNode(path: string): Promise<string> {
    const seg = path.split("/");
    if (seg.length < 4) throw new StreamError(400, `can not get pod name from url path: ${path}`);
    const [ns, pod] = [decodeURIComponent(seg[2]), decodeURIComponent(seg[3])];
    let obj: { spec?: { nodeName?: string } };
    try {
      obj = await this.opts.kube.get(
        `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(pod)}`,
      );
    } catch (e) {
      throw new StreamError(404, `get pod ${ns}/${pod} failed: ${(e as Error).message}`);
    }
    const node = obj.spec?.nodeName ?? "";
    if (!node) throw new StreamError(400, `pod ${ns}/${pod} is not bound to a node`);
    return node;
  }

  /** The node of a stats or metrics call: X-Forwarded-Uri's node, else the Host's IP or name. */
  #metricsNode(req: IncomingMessage): string {
    const fwd = String(req.headers["x-forwarded-uri"] ?? "");
    const t = fwd.split("/");
    if (fwd.startsWith("/api/v1/nodes/") && t.length > 6) return t[4];
    const host = String(req.headers.host ?? "");
    return host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.split(":")[0];
  }

  #session(key: string) {
    const s = this.opts.tunnels.session(key);
    if (!s) {
      throw new StreamError(
        503,
        `node ${key} has no CloudStream tunnel: it is offline or its edgeStream is disabled`,
      );
    }
    return s;
  }

  async #request(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = req.url ?? "/";
      const path = url.split("?")[0];
      const first = path.split("/")[1] ?? "";
      let kind: StreamKind, node: string;
      if (first === "containerLogs") {
        kind = "logs";
        node = await this.#podNode(path);
      } else if (first === "stats" || first === "metrics") {
        kind = "metrics";
        node = this.#metricsNode(req);
      } else if (["exec", "attach", "portForward"].includes(first)) {
        throw new StreamError(400, "request was not an upgrade");
      } else {
        throw new StreamError(404, `404 page not found: ${path}`);
      }
      const conn = this.#session(node).open(kind, url, edgeHeaders(req));
      res.writeHead(200, kind === "logs" ? { "transfer-encoding": "chunked" } : {});
      res.flushHeaders();
      res.once("close", () => conn.close());
      const reader = conn.readable.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done || res.destroyed) break;
        if (!res.write(value)) await new Promise((r) => res.once("drain", r));
      }
      res.end();
    } catch (e) {
      const status = e instanceof StreamError ? e.status : 500;
      log.warn("stream request failed", { url: req.url, error: (e as Error).message });
      if (!res.headersSent) res.writeHead(status, { "content-type": "text/plain" });
      res.end(`${(e as Error).message}\n`);
    }
  }

  async #upgrade(req: IncomingMessage, socket: Duplex, head: Uint8Array): Promise<void> {
    socket.on("error", () => {});
    try {
      const path = (req.url ?? "/").split("?")[0];
      const first = path.split("/")[1] ?? "";
      const kind = ({ exec: "exec", attach: "attach", portForward: "portforward" } as const)[
        first as "exec"
      ];
      if (!kind) throw new StreamError(404, `404 page not found: ${path}`);
      const node = await this.#podNode(path);
      const conn = this.#session(node).open(kind, req.url ?? path, edgeHeaders(req), req.method);
      await relaySocket(socket, conn, head);
    } catch (e) {
      const status = e instanceof StreamError ? e.status : 500;
      const body = `${(e as Error).message}\n`;
      socket.end(
        `HTTP/1.1 ${status} Error\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
          `Content-Length: ${new TextEncoder().encode(body).length}\r\n\r\n${body}`,
      );
    }
  }
}
