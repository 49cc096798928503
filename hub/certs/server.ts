/**
 * The cert server on :10002 (§5.1–5.2): `GET /ca.crt`, `GET /edge.crt` (DER CSR in the GET body,
 * bearer token or client certificate), `GET /node/{name}`.
 *
 * Built on `node:https` because Deno.serve cannot request client certificates. As cloudcore
 * (`ClientAuth: RequestClientCert`), a client certificate is asked for but optional and not
 * verified by TLS; the `/edge.crt` handler verifies it against the CA itself.
 *
 * @example
 * ```ts
 * const server = new CertServer({ port: 10002, ca, serverCert, nodeExists: async () => true });
 * const { port } = await server.start();
 * // ...
 * await server.close();
 * ```
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import {
  type ConnGuard,
  type ConnLimits,
  createLogger,
  type DropReasonLabel,
  guardNodeServer,
  listenError,
} from "../../lib/mod.ts";
import {
  type CA,
  CertError,
  checkNodeName,
  CsrError,
  CsrPolicyError,
  type KeyPairPem,
  NODE_CN_PREFIX,
  NODE_ORGANIZATION,
  parseBearerHeader,
  signNodeCSR,
  tlsOptions,
  TokenError,
  verifyBearer,
  verifyClientCert,
} from "../../pki/mod.ts";
import { ListenBacklog } from "../transport.ts";

/** The setting that moves this listener (named when its port is taken). */
const HTTPS_SETTING = "modules.cloudHub.https.port";

const log = createLogger("certserver");

/** Largest accepted CSR body (cloudcore's `MaxRespBodyLength`, 1 MiB). */
export const MAX_CSR_BODY = 1 << 20;
/** Default validity of signed edge certificates in days (`edgeCertSigningDuration`). */
export const DEFAULT_SIGNING_DAYS = 365;

/** Options of {@link CertServer}. */
export interface CertServerOptions {
  /** Listen address (default `0.0.0.0`; tests use `127.0.0.1`). */
  address?: string;
  /** Listen port (10002 by default in config; 0 in tests). */
  port: number;
  /** The CA that signs edge certificates and verifies client certificates. */
  ca: CA;
  /** The cloudcore server certificate served over TLS. */
  serverCert: KeyPairPem;
  /** Verifies a bearer JWT, throwing `TokenError`; default: {@link verifyBearer} with the CA. */
  tokenVerifier?: (jwt: string) => Promise<void>;
  /** Answers `GET /node/{name}`; without it the route answers 500. */
  nodeExists?: (name: string) => Promise<boolean>;
  /** Validity of signed edge certificates in days (default 365). */
  signingDays?: number;
  /** Clock used for client-certificate validity and signing. */
  now?: () => Date;
  /**
   * Connection limits (lib/conn_guard.ts): TLS handshake plus first request headers within
   * `handshakeTimeoutMs` (default 10 s), at most `maxPending` such connections at once (default
   * 1024; more are closed at once), keep-alive idle `idleTimeoutMs` (default 5 s).
   */
  limits?: Partial<ConnLimits>;
  /** Called for every connection dropped by those limits (e.g. to count it in a metric). */
  onConnectionDrop?: (reason: DropReasonLabel) => void;
}

/** Requests served, by route (`/ca.crt`, `/edge.crt`, `/node`, `other`) then by HTTP status. */
export type CertServerCounters = Record<string, Record<string, number>>;

/** Thrown for HTTP-level failures inside a handler; carries the status and a text body. */
class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The :10002 HTTPS cert server. */
export class CertServer {
  /** Requests by route and status, for the metrics endpoint. */
  readonly counters: CertServerCounters = {};
  readonly #opts: CertServerOptions;
  readonly #sockets = new Set<Socket>();
  #server: https.Server | null = null;
  #guard: ConnGuard<Socket> | null = null;

  /** @param opts see {@link CertServerOptions} */
  constructor(opts: CertServerOptions) {
    this.#opts = opts;
  }

  /** Starts listening; resolves with the bound port. */
  start(): Promise<{ port: number }> {
    const server = https.createServer(
      {
        ...tlsOptions(this.#opts.ca, this.#opts.serverCert),
        requestCert: true,
        rejectUnauthorized: false,
        minVersion: "TLSv1.2",
      },
      (req, res) => void this.#handle(req, res),
    );
    // Before #track: a connection over the pending cap is destroyed before anything else.
    this.#guard = guardNodeServer(server, {
      listener: "https",
      limits: this.#opts.limits,
      onDrop: this.#opts.onConnectionDrop,
      readyOnRequest: true,
    });
    server.on("secureConnection", (socket: TLSSocket) => this.#track(socket));
    server.on("connection", (socket: Socket) => this.#track(socket));
    server.on("tlsClientError", (err: Error) => log.debug("TLS handshake failed", { error: err }));
    this.#server = server;
    return new Promise((resolve, reject) => {
      const where = {
        port: this.#opts.port,
        host: this.#opts.address ?? "0.0.0.0",
        backlog: ListenBacklog,
      };
      server.once(
        "error",
        (err: Error) =>
          reject(listenError(err, "cert server", where.host, where.port, HTTPS_SETTING)),
      );
      server.listen(where, () => {
        server.off("error", reject);
        const address = server.address();
        const port = typeof address === "object" && address ? address.port : this.#opts.port;
        log.info("cert server listening", { address: this.#opts.address ?? "0.0.0.0", port });
        resolve({ port });
      });
    });
  }

  /** Stops listening and closes every open connection. */
  close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (!server) return Promise.resolve();
    this.#guard?.closeAll();
    this.#guard = null;
    return new Promise((resolve) => {
      server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
      this.#sockets.clear();
    });
  }

  #track(socket: Socket): void {
    if (this.#sockets.has(socket)) return;
    this.#sockets.add(socket);
    socket.once("close", () => this.#sockets.delete(socket));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "https://localhost").pathname;
    let route = "other";
    try {
      if (path === "/ca.crt") {
        route = "/ca.crt";
        requireGet(req);
        this.#send(route, res, 200, this.#opts.ca.certDer, "application/octet-stream");
      } else if (path === "/edge.crt") {
        route = "/edge.crt";
        requireGet(req);
        const der = await this.#edgeCert(req);
        this.#send(route, res, 200, der, "application/octet-stream");
      } else if (path.startsWith("/node/") && path.length > "/node/".length) {
        route = "/node";
        requireGet(req);
        const name = decodePathSegment(path.slice("/node/".length));
        if (name.includes("/")) throw new HttpError(404, "404 page not found");
        if (!this.#opts.nodeExists) throw new HttpError(500, "node lookup is not configured");
        const found = await this.#opts.nodeExists(name);
        this.#send(route, res, found ? 200 : 404, found ? "Node found" : "Node not found");
      } else {
        throw new HttpError(404, "404 page not found");
      }
    } catch (err) {
      if (err instanceof HttpError) {
        if (err.status >= 500) {
          log.error("cert server request failed", { path, error: err.message });
        } else {log.info("cert server request refused", {
            path,
            status: err.status,
            reason: err.message,
          });}
        this.#send(route, res, err.status, err.message);
      } else {
        log.error("cert server handler failed", { path, error: err });
        this.#send(route, res, 500, `internal error: ${err instanceof Error ? err.message : err}`);
      }
    }
  }

  async #edgeCert(req: IncomingMessage): Promise<Uint8Array> {
    const nodeName = header(req, "nodename") ?? "";
    await this.#authenticate(req, nodeName);
    const body = await readBody(req, MAX_CSR_BODY);
    try {
      const der = await signNodeCSR(this.#opts.ca, body, {
        nodeName,
        extKeyUsages: header(req, "extkeyusages"),
        validityDays: this.#opts.signingDays ?? DEFAULT_SIGNING_DAYS,
        now: this.#opts.now?.(),
      });
      log.info("signed edge certificate", { node: nodeName });
      return der;
    } catch (err) {
      if (err instanceof CsrPolicyError) {
        throw new HttpError(403, `refused to sign for node ${nodeName}: ${err.message}`);
      }
      if (err instanceof CsrError) {
        throw new HttpError(400, err.message);
      }
      throw new HttpError(500, `failed to sign the certificate: ${(err as Error).message}`);
    }
  }

  /**
   * Who is asking: a presented client certificate decides alone (as cloudcore); otherwise the
   * bearer token. Unlike cloudcore, a certificate authenticates only the node it names: the
   * `NodeName` header must be that node, and a legacy `CN=kubeedge.io` certificate (which names
   * no node) is refused, so a node can renew its own certificate and nobody else's.
   */
  async #authenticate(req: IncomingMessage, nodeName: string): Promise<void> {
    const peer = (req.socket as TLSSocket).getPeerCertificate?.(false);
    const raw = peer && "raw" in peer ? peer.raw as Uint8Array | undefined : undefined;
    if (raw && raw.length > 0) {
      let id;
      try {
        id = await verifyClientCert(this.#opts.ca, new Uint8Array(raw), this.#opts.now?.());
      } catch (err) {
        const reason = err instanceof CertError ? err.message : String(err);
        throw new HttpError(401, `failed to verify edgecert: ${reason}`);
      }
      const legacy = id.organizations.length === 1 && id.organizations[0] === "KubeEdge" &&
        id.commonName === "kubeedge.io";
      if (legacy) {
        throw new HttpError(
          403,
          `a legacy certificate (CN=kubeedge.io, O=KubeEdge) names no node and cannot renew one; join node ${nodeName} again with a token`,
        );
      }
      const node = id.organizations.length === 1 && id.organizations[0] === NODE_ORGANIZATION &&
        id.commonName === `${NODE_CN_PREFIX}${nodeName}`;
      if (!node) {
        throw new HttpError(
          401,
          `request node name is not match with the certificate: NodeName "${nodeName}", certificate CN "${id.commonName}" O ${
            JSON.stringify(id.organizations)
          }`,
        );
      }
      return;
    }
    try {
      const jwt = parseBearerHeader(header(req, "authorization"));
      const verify = this.#opts.tokenVerifier ??
        ((t: string) => verifyBearer(this.#opts.ca, t, this.#opts.now?.()));
      await verify(jwt);
    } catch (err) {
      if (err instanceof TokenError) {
        throw new HttpError(401, `token validation failure: ${err.message}`);
      }
      throw err;
    }
    // The join token is fleet-wide: it admits a node name, which must then be a valid one.
    try {
      checkNodeName(nodeName);
    } catch (err) {
      throw new HttpError(400, (err as Error).message);
    }
  }

  #send(
    route: string,
    res: ServerResponse,
    status: number,
    body: Uint8Array | string,
    contentType = "text/plain; charset=utf-8",
  ): void {
    const byStatus = this.counters[route] ??= {};
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    if (res.headersSent || res.writableEnded) return;
    const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
    const headers: Record<string, string | number> = {
      "Content-Type": contentType,
      "Content-Length": bytes.byteLength,
    };
    // After refusing a request whose body we did not read, close rather than reuse the stream.
    if (status >= 400) headers["Connection"] = "close";
    res.writeHead(status, headers);
    res.end(bytes);
  }
}

function requireGet(req: IncomingMessage): void {
  if (req.method !== "GET") throw new HttpError(405, `${req.method} not allowed`);
}

/** `decodeURIComponent`, with a malformed escape such as `%ZZ` answered 400, not 500. */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `malformed escape in path segment ${JSON.stringify(segment)}`);
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Reads a request body of at most `limit` bytes; a longer one is refused with 413. */
function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) {
    drain(req, limit);
    return Promise.reject(new HttpError(413, `request body exceeds ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    let done = false;
    req.on("data", (chunk: Uint8Array) => {
      if (done) return;
      total += chunk.length;
      if (total > limit) {
        done = true;
        chunks.length = 0;
        drain(req, limit);
        reject(new HttpError(413, `request body exceeds ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      const out = new Uint8Array(total);
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.length;
      }
      resolve(out);
    });
    req.on("error", (err) => {
      if (done) return;
      done = true;
      reject(new HttpError(400, `cannot read request body: ${err.message}`));
    });
  });
}

/**
 * Discards the rest of a refused body so the client can read the error response (as Go's server
 * does), but cuts the connection once `8 × limit` more bytes arrive so nobody can stream forever.
 */
function drain(req: IncomingMessage, limit: number): void {
  let discarded = 0;
  req.on("data", (chunk: Uint8Array) => {
    discarded += chunk.length;
    if (discarded > 8 * limit) req.socket.destroy();
  });
  req.resume();
}
