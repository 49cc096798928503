/**
 * Serves a fetch-style handler (`Request` → `Response`, as for `Deno.serve`) on `node:http` or
 * `node:https` under a {@link ConnGuard}. `Deno.serve` (Deno 2.9.6) never drops a client that
 * connects and sends nothing, stops halfway through a TLS handshake or its headers, or idles on
 * a keep-alive connection, and it offers no per-connection hook to add that; `node:http(s)` does
 * both (see conn_guard.ts). HTTP/1.1 only: clients that offer h2 (kubectl, client-go) fall back.
 *
 * Responses stream with back-pressure (the next body chunk is read once the socket took the last
 * one), so a pull-based watch stream behaves as under `Deno.serve`; a client that goes away
 * aborts `request.signal` and cancels the response body. Neither idle nor request timeouts cut a
 * response that is streaming.
 *
 * @example
 * ```ts
 * const server = await serveFetch({ listener: "monitor", hostname: "127.0.0.1", port: 0 },
 *   () => new Response("ok\n"));
 * await server.close();
 * ```
 */
import http from "node:http";
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import {
  type ConnGuard,
  type ConnLimits,
  type DropReasonLabel,
  guardNodeServer,
  rawSocket,
} from "./conn_guard.ts";
import { listenError } from "./listen_error.ts";

/** Options of {@link serveFetch}. */
export interface FetchServerOptions {
  /** Listener name for logs. */
  listener: string;
  /** The config setting that moves this listener, named when its address is in use. */
  setting?: string;
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Serve HTTPS with this certificate and key (PEM); plain HTTP without. */
  tls?: { cert: string; key: string };
  /** Connection limits (handshake/header deadline, pending cap, keep-alive idle timeout). */
  limits?: Partial<ConnLimits>;
  /** Called for every connection the guard drops. */
  onDrop?(reason: DropReasonLabel): void;
  /** Turns a handler failure into a response (default: 500 with a short text). */
  onError?(err: unknown): Response;
  /** Listen backlog. */
  backlog?: number;
  /** How long {@link FetchServer.close} lets in-flight requests finish (default 1 s). */
  closeGraceMs?: number;
  /**
   * Takes an HTTP upgrade request (WebSocket, SPDY) with its socket and the bytes read past its
   * head. Without it, upgrade requests are refused with 400.
   */
  onUpgrade?(req: IncomingMessage, socket: Duplex, head: Uint8Array): void;
}

/** A running server. */
export interface FetchServer {
  /** The bound port. */
  readonly port: number;
  /** The listener's guard (pending count, drops). */
  readonly guard: ConnGuard<Socket>;
  /** Stops listening, closes idle connections at once and the rest after the grace period. */
  close(): Promise<void>;
}

/** A fetch-style request handler. */
export type FetchHandler = (req: Request) => Response | Promise<Response>;

const defaultError = () => new Response("internal error\n", { status: 500 });

/** Starts serving; resolves once listening. */
export async function serveFetch(
  opts: FetchServerOptions,
  handler: FetchHandler,
): Promise<FetchServer> {
  const onError = opts.onError ?? defaultError;
  const scheme = opts.tls ? "https" : "http";
  const serve = (req: IncomingMessage, res: ServerResponse) =>
    void respond(scheme, req, res, handler, onError).catch(() => res.destroy());
  const server = opts.tls
    ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key, minVersion: "TLSv1.2" }, serve)
    : http.createServer(serve);
  const guard = guardNodeServer(server, {
    listener: opts.listener,
    limits: opts.limits,
    onDrop: opts.onDrop,
    readyOnRequest: true,
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Uint8Array) => {
    socket.on("error", () => {});
    // An upgraded connection streams for as long as it lives: no handshake or idle deadline.
    guard.release(rawSocket(req.socket as Socket));
    if (opts.onUpgrade) return opts.onUpgrade(req, socket, head);
    const body = "upgrade not supported here\n";
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
        `Content-Length: ${body.length}\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => {
      reject(listenError(err, opts.listener, opts.hostname, opts.port, opts.setting ?? "its port"));
    });
    server.listen({ host: opts.hostname, port: opts.port, backlog: opts.backlog }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : opts.port;
  let closing: Promise<void> | undefined;
  return {
    port,
    guard,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), opts.closeGraceMs ?? 1_000);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        guard.closeAll();
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

/** Runs one request through `handler` and streams the response back. */
async function respond(
  scheme: string,
  req: IncomingMessage,
  res: ServerResponse,
  handler: FetchHandler,
  onError: (err: unknown) => Response,
): Promise<void> {
  const abort = new AbortController();
  res.once("close", () => abort.abort());
  let response: Response;
  try {
    response = await handler(toRequest(scheme, req, abort.signal));
  } catch (err) {
    response = onError(err);
  }
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of response.headers) {
    if (k !== "set-cookie") headers[k] = v;
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  res.writeHead(response.status, response.statusText || undefined, headers);
  const body = response.body;
  if (!body || req.method === "HEAD" || res.destroyed) {
    await body?.cancel().catch(() => {});
    res.end();
    return;
  }
  const reader = body.getReader();
  res.once("close", () => reader.cancel().catch(() => {}));
  try {
    // A body that is ready at once (most responses) goes out with the headers in one write; a
    // stream that waits for data (a watch) gets its headers now, as Deno.serve sends them.
    let next = reader.read();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = new Promise<null>((r) => (timer = setTimeout(r, 0, null)));
    const first = await Promise.race([next, tick]);
    clearTimeout(timer);
    if (first === null) res.flushHeaders();
    for (;;) {
      const { done, value } = await next;
      if (done || res.destroyed) break;
      if (!res.write(value)) await drained(res);
      next = reader.read();
    }
    res.end();
  } catch {
    res.destroy();
  } finally {
    reader.releaseLock();
  }
}

/** Resolves once `res` can take more data or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.once("drain", done);
    res.once("close", done);
  });
}

/**
 * A request body as a web stream, read as the handler pulls. (Deno 2.9.6's `Readable.toWeb`
 * throws an uncaught error when the handler cancels the stream while data is still arriving.)
 * Cancelling discards the rest of the body, so the connection can carry the next request.
 */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>({
    start(ctl) {
      req.on("data", (chunk: Uint8Array) => {
        if (done) return;
        ctl.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((ctl.desiredSize ?? 0) <= 0) req.pause();
      });
      req.once("end", () => {
        if (done) return;
        done = true;
        ctl.close();
      });
      const fail = (err?: Error) => {
        if (done) return;
        done = true;
        ctl.error(err ?? new Error("request body aborted"));
      };
      req.once("error", fail);
      req.once("close", () => fail());
    },
    pull() {
      req.resume();
    },
    cancel() {
      done = true;
      req.resume();
    },
  });
}

/** The fetch `Request` for a node request (body streamed, with back-pressure). */
function toRequest(scheme: string, req: IncomingMessage, signal: AbortSignal): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD" &&
    (req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"]) > 0);
  const host = req.headers.host || "localhost";
  return new Request(`${scheme}://${host}${req.url ?? "/"}`, {
    method,
    headers,
    body: hasBody ? bodyStream(req) : null,
    signal,
    duplex: "half",
  } as RequestInit);
}
