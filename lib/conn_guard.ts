/**
 * Connection guard: bounds the connections a listener holds before they are of any use (TCP
 * accepted, but TLS handshake, request headers, WebSocket upgrade or QUIC header message not done
 * yet). Each such "pending" connection must become ready within `handshakeTimeoutMs` or it is
 * closed; at most `maxPending` are held at once and any connection over that cap is closed as
 * soon as it is accepted. Drops are counted (`onDrop`, {@link ConnGuard.dropped}) and logged at
 * most once per 10 s per listener.
 *
 * {@link guardNodeServer} puts a guard on a `node:http`/`node:https` server and sets the server's
 * own header, request and keep-alive timeouts, which Deno 2.9.6 implements (checked every
 * `connectionsCheckingInterval`); `Deno.serve` has neither timeouts nor a connection hook, so
 * guarded HTTP listeners use `node:http(s)` (see fetch_server.ts).
 *
 * What Deno 2.9.6 does on its own, measured: `node:https` drops a silent TCP client after its
 * TLS `handshakeTimeout` (default 120 s) and a client that finished TLS but sends no complete
 * headers after `headersTimeout` (60 s, checked every 30 s); `keepAliveTimeout` works (plus 1 s);
 * `Deno.serve` drops none of them, ever. A socket closed before its TLS handshake keeps its
 * memory until that 120 s timer fires, so the guard turns the timer off and keeps its own.
 *
 * @example
 * ```ts
 * const server = https.createServer(tlsOptions);
 * const guard = guardNodeServer(server, { listener: "certserver", readyOnRequest: true });
 * server.listen(10002);
 * // ... later, when stopping:
 * guard.closeAll();
 * ```
 */
import type { Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Socket } from "node:net";
import { createLogger } from "./log.ts";

const log = createLogger("connguard");

/** Why a guard closed a connection (a metric label). */
export const DropReason = {
  /** Not ready within `handshakeTimeoutMs` of being accepted. */
  HandshakeTimeout: "handshake_timeout",
  /** Accepted while `maxPending` connections were already pending. */
  OverCapacity: "over_capacity",
} as const;

/** One of {@link DropReason}'s values. */
export type DropReasonLabel = typeof DropReason[keyof typeof DropReason];

/** Connection limits of one listener. */
export interface ConnLimits {
  /**
   * Milliseconds a new connection has to become ready: TLS handshake plus the first request's
   * headers (HTTP), the WebSocket upgrade, or the QUIC header message. Default 10 s.
   */
  handshakeTimeoutMs: number;
  /** Pending (not yet ready) connections held at once; more are closed at once. Default 1024. */
  maxPending: number;
  /** Milliseconds an HTTP keep-alive connection may sit idle between requests. Default 5 s. */
  idleTimeoutMs: number;
}

/** Defaults of {@link ConnLimits}. */
export const DEFAULT_CONN_LIMITS: Readonly<ConnLimits> = {
  handshakeTimeoutMs: 10_000,
  maxPending: 1024,
  idleTimeoutMs: 5_000,
};

/**
 * Time allowed for a whole HTTP request (headers and body) on guarded `node:http(s)` servers,
 * unless the handshake timeout is longer. Node's default is 300 s.
 */
export const REQUEST_TIMEOUT_MS = 60_000;

/** Least interval between two drop log lines of one listener. */
const LOG_INTERVAL_MS = 10_000;

/** Options of {@link ConnGuard}. */
export interface ConnGuardOptions<C> {
  /** Listener name for logs (and the caller's metric label), e.g. `websocket`. */
  listener: string;
  /** Limits; missing fields take {@link DEFAULT_CONN_LIMITS}. */
  limits?: Partial<ConnLimits>;
  /** Closes a connection the guard drops. */
  close(conn: C): void;
  /** Called once for every dropped connection (e.g. to count it in a metric). */
  onDrop?(reason: DropReasonLabel): void;
}

/** Fills missing limits with the defaults. */
export function connLimits(limits: Partial<ConnLimits> = {}): ConnLimits {
  const out = { ...DEFAULT_CONN_LIMITS };
  for (const key of Object.keys(out) as (keyof ConnLimits)[]) {
    const v = limits[key];
    if (v !== undefined) {
      if (!(v > 0)) throw new RangeError(`${key} must be positive, got ${v}`);
      out[key] = v;
    }
  }
  return out;
}

/** Tracks one listener's pending connections; see module docs. */
export class ConnGuard<C extends object> {
  /** The listener's name. */
  readonly listener: string;
  /** Effective limits. */
  readonly limits: ConnLimits;
  /** Connections dropped so far, by reason. */
  readonly dropped: Record<DropReasonLabel, number> = { handshake_timeout: 0, over_capacity: 0 };
  readonly #pending = new Map<C, ReturnType<typeof setTimeout>>();
  readonly #droppedConns = new WeakSet<C>();
  readonly #opts: ConnGuardOptions<C>;
  readonly #unlogged: Record<DropReasonLabel, number> = { handshake_timeout: 0, over_capacity: 0 };
  #lastLog = -Infinity;

  constructor(opts: ConnGuardOptions<C>) {
    this.#opts = opts;
    this.listener = opts.listener;
    this.limits = connLimits(opts.limits);
  }

  /** Connections accepted and not yet ready. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Registers a just-accepted connection. Returns false (after closing it) when the listener
   * already holds `maxPending` pending connections.
   */
  admit(conn: C): boolean {
    if (this.#pending.size >= this.limits.maxPending) {
      this.#drop(conn, DropReason.OverCapacity);
      return false;
    }
    const timer = setTimeout(() => {
      this.#pending.delete(conn);
      this.#drop(conn, DropReason.HandshakeTimeout);
    }, this.limits.handshakeTimeoutMs);
    this.#pending.set(conn, timer);
    return true;
  }

  /** The connection became ready, or closed: it no longer counts and its deadline is off. */
  release(conn: C): void {
    const timer = this.#pending.get(conn);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#pending.delete(conn);
  }

  /** True if the guard closed `conn` (so the caller need not count its failure again). */
  wasDropped(conn: C): boolean {
    return this.#droppedConns.has(conn);
  }

  /** Closes every pending connection and clears their timers (the listener is stopping). */
  closeAll(): void {
    const conns = [...this.#pending];
    this.#pending.clear();
    for (const [conn, timer] of conns) {
      clearTimeout(timer);
      try {
        this.#opts.close(conn);
      } catch { /* already closed */ }
    }
  }

  #drop(conn: C, reason: DropReasonLabel): void {
    this.#droppedConns.add(conn);
    this.dropped[reason]++;
    this.#opts.onDrop?.(reason);
    try {
      this.#opts.close(conn);
    } catch { /* already closed */ }
    this.#unlogged[reason]++;
    const now = performance.now();
    if (now - this.#lastLog < LOG_INTERVAL_MS) return;
    this.#lastLog = now;
    log.warn("dropped connections that were not ready in time or over the pending cap", {
      listener: this.listener,
      handshake_timeout: this.#unlogged.handshake_timeout,
      over_capacity: this.#unlogged.over_capacity,
      pending: this.#pending.size,
      maxPending: this.limits.maxPending,
      handshakeTimeoutMs: this.limits.handshakeTimeoutMs,
    });
    this.#unlogged.handshake_timeout = 0;
    this.#unlogged.over_capacity = 0;
  }
}

/** The TCP socket under a `node:tls` socket (the one `connection` handed out), else `socket`. */
export function rawSocket(socket: Socket): Socket {
  return (socket as Socket & { _parent?: Socket })._parent ?? socket;
}

/** Options of {@link guardNodeServer}. */
export interface NodeGuardOptions {
  /** Listener name for logs. */
  listener: string;
  /** Limits; missing fields take {@link DEFAULT_CONN_LIMITS}. */
  limits?: Partial<ConnLimits>;
  /** Called for every dropped connection. */
  onDrop?(reason: DropReasonLabel): void;
  /**
   * True: a connection is ready once its first request's headers arrived (`request` event).
   * False: the caller calls `guard.release(rawSocket(socket))` itself (e.g. after an upgrade).
   */
  readyOnRequest: boolean;
}

/**
 * Guards a `node:http`/`node:https` server (call before `listen`): every accepted socket is
 * admitted to a {@link ConnGuard} (destroyed when over the cap or not ready in time), and the
 * server's own timeouts are set: `headersTimeout` = handshake timeout plus one checking interval
 * (later requests on a keep-alive connection), `requestTimeout` = max({@link REQUEST_TIMEOUT_MS}, handshake timeout)
 * for headers plus body (a streamed response is not limited), `keepAliveTimeout` = idle timeout.
 */
export function guardNodeServer(
  server: HttpServer | HttpsServer,
  opts: NodeGuardOptions,
): ConnGuard<Socket> {
  const guard = new ConnGuard<Socket>({
    listener: opts.listener,
    limits: opts.limits,
    onDrop: opts.onDrop,
    close: (socket) => socket.destroy(),
  });
  // The server's own listeners (TLS, HTTP) see only admitted sockets: one over the cap is
  // destroyed before any TLS or HTTP state is built for it.
  const inner = server.listeners("connection") as ((socket: Socket) => void)[];
  server.removeAllListeners("connection");
  server.on("connection", (socket: Socket) => {
    if (!guard.admit(socket)) return;
    socket.once("close", () => guard.release(socket));
    for (const listener of inner) listener.call(server, socket);
  });
  // Deno 2.9.6 leaves a TLS socket's own handshake timer (`handshakeTimeout`, 120 s by default)
  // running when the socket closes before its handshake, which holds the socket's memory until
  // it fires; the guard's deadline covers the handshake instead, so the timer is turned off.
  if ("_handshakeTimeout" in server) Object.assign(server, { _handshakeTimeout: 0 });
  if (opts.readyOnRequest) {
    server.on("request", (req) => guard.release(rawSocket(req.socket)));
  }
  const l = guard.limits;
  // Node checks header/request deadlines on this interval (default 30 s); read at listen().
  const checkingMs = Math.min(5_000, Math.max(100, l.handshakeTimeoutMs / 2));
  // One interval later than the guard's deadline, so a new connection's first request is always
  // dropped (and counted) by the guard, never by node's check racing it; this bounds the headers
  // of later requests on a keep-alive connection.
  server.headersTimeout = l.handshakeTimeoutMs + checkingMs;
  server.requestTimeout = Math.max(REQUEST_TIMEOUT_MS, server.headersTimeout);
  server.keepAliveTimeout = l.idleTimeoutMs;
  Object.assign(server, { connectionsCheckingInterval: checkingMs });
  return guard;
}
