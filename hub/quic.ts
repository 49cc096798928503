/**
 * CloudHub's QUIC listener: RFC 9000 (`Deno.QuicEndpoint`, `--unstable-net`) carrying viaduct's
 * streams and framing (docs/protocol.md §3.4, docs/design.md, docs/quic.md).
 *
 * - ALPN `kubeedge-viaduct`; the CloudHub server certificate.
 * - The first client stream is the control stream: one header message (operation and resource
 *   `header`, content the JSON of the header map with `Node_id`, `Project_id` and the
 *   credential of protocol/quic_auth.ts), answered `ack` or `nack` (NewRespByMessage). A `nack` is
 *   followed by an `error` message whose content is the reason, then the connection is closed.
 * - Every later client stream starts with the 3-byte use type `msg`, then frames; anything else
 *   gets an `error` message and only that stream is closed.
 * - The hub writes downstream messages on one stream it opens itself (use type `msg`), so their
 *   order is kept. Viaduct control operations (`config`, `ping`, `pong`) are answered `ack` on
 *   the stream they came on and never reach the session.
 * - A malformed frame closes only its stream; every refusal and bad stream is counted.
 * - The QUIC handshake, the control stream and the header message each get `headerTimeoutMs`;
 *   at most `maxPending` connections may be unauthenticated at once, more are refused on
 *   arrival (lib/conn_guard.ts).
 *
 * Each accepted node becomes an {@link EdgeConnection} handed to the {@link ConnectionAcceptor},
 * so QUIC nodes share the sessions, dispatcher and queues of WebSocket nodes.
 *
 * @example
 * ```ts
 * const quic = new QuicServer({ port: 10001, tls: { certPem, keyPem, caPem }, acceptor: sessions });
 * await quic.start();
 * // ...
 * await quic.stop();
 * ```
 */
import { ConnGuard, createLogger, DEFAULT_CONN_LIMITS, withTimeout } from "../lib/mod.ts";
import { type Message, newErrorMessage, newRespByMessage, Operation } from "../modules/mod.ts";
import {
  ACK,
  HEADER_OPERATION,
  NACK,
  parseHeaderMap,
  QUIC_ALPN,
  QuicAuthError,
  QuicCloseCode,
  StreamIo,
  UseType,
  ViaductError,
} from "../protocol/mod.ts";
import type { ConnectionAcceptor } from "./transport.ts";
import { QuicAuthenticator } from "./quic_auth.ts";
import { QuicEdgeConnection } from "./quic_connection.ts";
import { CloseReason, type CloseReasonLabel, type HubMetrics } from "./metrics.ts";

/** Default QUIC port (KubeEdge `modules.cloudHub.quic.port`). */
export const DEFAULT_QUIC_PORT = 10001;

const CONTROL_OPERATIONS: ReadonlySet<string> = new Set([
  Operation.Config,
  Operation.Ping,
  Operation.Pong,
]);

const log = createLogger("quic");

/** Options of {@link QuicServer}. */
export interface QuicServerOptions {
  /** Listen address (default `0.0.0.0`; tests use `127.0.0.1`). */
  hostname?: string;
  /** Listen port (default 10001; 0 picks a free one). */
  port?: number;
  /**
   * The CloudHub server certificate and key, and the KubeEdge CA node credentials must chain to
   * (PEM; the same shape as `CloudHubOptions.tls`).
   */
  tls: { certPem: string; keyPem: string; caPem: string };
  /** Where authenticated connections go (the session manager). */
  acceptor: ConnectionAcceptor;
  /** Max concurrent client streams per connection (viaduct pools at most 99). Default 100. */
  maxIncomingStreams?: number;
  /**
   * Time each step before authentication may take (default 10 s): the QUIC handshake, opening
   * the control stream, and sending the header message.
   */
  headerTimeoutMs?: number;
  /**
   * Connections not yet authenticated held at once (default 1024); more are refused as they
   * arrive (QUIC CONNECTION_REFUSED) and counted in
   * `edgecloud_listener_dropped_connections_total{listener="quic"}`. A connection still not
   * authenticated after the three steps' time plus 2 s is closed (`handshake_timeout`).
   */
  maxPending?: number;
  /** Credential verification; default built from `tls`. */
  authenticator?: QuicAuthenticator;
  /** Hub metrics (refusals and bad streams are counted there too). */
  metrics?: HubMetrics;
}

/** Counters of what the listener refused or closed. */
export interface QuicServerStats {
  /** Connections whose node was authenticated and handed to the acceptor. */
  accepted: number;
  /** Connections refused at the header message (bad header, credential, node limit). */
  refused: number;
  /** Streams closed because a frame was malformed. */
  badFrames: number;
  /** Streams closed because they did not start with the use type `msg`. */
  badStreams: number;
  /** TLS/QUIC handshakes that failed. */
  handshakeFailures: number;
}

/** A connection between arrival and authentication (the QUIC listener's guard tracks these). */
interface PendingQuic {
  readonly incoming: Deno.QuicIncoming;
  /** Set once accepted. */
  conn?: Deno.QuicConn;
}

/** Thrown by {@link QuicServer.start} when the endpoint cannot be created. */
export class QuicListenError extends Error {
  override name = "QuicListenError";
}

/** The QUIC listener (see module docs). */
export class QuicServer {
  readonly stats: QuicServerStats = {
    accepted: 0,
    refused: 0,
    badFrames: 0,
    badStreams: 0,
    handshakeFailures: 0,
  };
  readonly #opts: QuicServerOptions;
  readonly #auth: QuicAuthenticator;
  #endpoint: Deno.QuicEndpoint | null = null;
  #listener: Deno.QuicListener | null = null;
  #acceptLoop: Promise<void> | null = null;
  readonly #tasks = new Set<Promise<void>>();
  readonly #conns = new Set<Deno.QuicConn>();
  readonly #guard: ConnGuard<PendingQuic>;
  #stopping = false;

  constructor(opts: QuicServerOptions) {
    this.#opts = opts;
    const stepMs = opts.headerTimeoutMs ?? 10_000;
    this.#guard = new ConnGuard<PendingQuic>({
      listener: "quic",
      limits: {
        // A backstop: the step timeouts (with their own reasons) normally fire first.
        handshakeTimeoutMs: 3 * stepMs + 2_000,
        maxPending: opts.maxPending ?? DEFAULT_CONN_LIMITS.maxPending,
      },
      close: (p) => {
        if (!p.conn) return p.incoming.refuse();
        p.conn.close({ closeCode: QuicCloseCode.Refused, reason: "not authenticated in time" });
      },
      onDrop: (reason) => opts.metrics?.listenerDrops.inc({ listener: "quic", reason }),
    });
    this.#auth = opts.authenticator ??
      new QuicAuthenticator({ caPem: opts.tls.caPem, serverCertPem: opts.tls.certPem });
  }

  /** Binds the endpoint and starts accepting. */
  start(): Promise<void> {
    if (this.#endpoint) return Promise.resolve();
    const hostname = this.#opts.hostname ?? "0.0.0.0";
    const port = this.#opts.port ?? DEFAULT_QUIC_PORT;
    try {
      this.#endpoint = new Deno.QuicEndpoint({ hostname, port });
      this.#listener = this.#endpoint.listen({
        alpnProtocols: [QUIC_ALPN],
        cert: this.#opts.tls.certPem,
        key: this.#opts.tls.keyPem,
        maxConcurrentBidirectionalStreams: this.#opts.maxIncomingStreams ?? 100,
        maxConcurrentUnidirectionalStreams: 0,
      });
    } catch (err) {
      this.#endpoint?.close();
      this.#endpoint = null;
      throw new QuicListenError(
        `cannot listen for QUIC on ${hostname}:${port}: ${(err as Error).message}`,
      );
    }
    log.info("listening", { address: `${hostname}:${this.addr.port}`, alpn: QUIC_ALPN });
    this.#acceptLoop = this.#accept(this.#listener);
    return Promise.resolve();
  }

  /** The bound address (after {@link start}). */
  get addr(): Deno.NetAddr {
    if (!this.#endpoint) throw new Error("QUIC server is not started");
    return this.#endpoint.addr;
  }

  /** Stops accepting, closes every connection and waits for their tasks. */
  async stop(): Promise<void> {
    if (!this.#endpoint || this.#stopping) return;
    this.#stopping = true;
    this.#listener?.stop();
    this.#guard.closeAll();
    for (const c of this.#conns) {
      c.close({ closeCode: QuicCloseCode.Normal, reason: "hub stopping" });
    }
    this.#endpoint.close({ closeCode: QuicCloseCode.Normal, reason: "hub stopping" });
    await this.#acceptLoop;
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    this.#endpoint = null;
    this.#listener = null;
  }

  async #accept(listener: Deno.QuicListener): Promise<void> {
    while (true) {
      let incoming: Deno.QuicIncoming;
      try {
        incoming = await listener.incoming();
      } catch {
        return; // listener stopped
      }
      this.#track(this.#handshake(incoming));
    }
  }

  #track(task: Promise<void>): void {
    const t = task.catch((err) => log.error("connection task failed", { error: err }))
      .finally(() => this.#tasks.delete(t));
    this.#tasks.add(t);
  }

  #count(reason: CloseReasonLabel): void {
    this.#opts.metrics?.closedConnections.inc({ reason });
  }

  async #handshake(incoming: Deno.QuicIncoming): Promise<void> {
    const pending: PendingQuic = { incoming };
    if (!this.#guard.admit(pending)) return;
    try {
      await this.#handshakeAdmitted(pending);
    } finally {
      this.#guard.release(pending);
    }
  }

  async #handshakeAdmitted(pending: PendingQuic): Promise<void> {
    // Deno 2.9.6: reading `incoming.remoteAddr` consumes the QuicIncoming resource (accept()
    // then fails with "Invalid QuicIncoming resource"), so the address is taken from the conn.
    let conn: Deno.QuicConn;
    let remote = "unknown";
    try {
      conn = await pending.incoming.accept();
      pending.conn = conn;
      if (this.#guard.wasDropped(pending)) {
        conn.close({ closeCode: QuicCloseCode.Refused, reason: "not authenticated in time" });
        return;
      }
      remote = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
      await withTimeout(
        conn.handshake,
        this.#opts.headerTimeoutMs ?? 10_000,
        () => new Error(`no QUIC handshake within ${this.#opts.headerTimeoutMs ?? 10_000} ms`),
      );
    } catch (err) {
      this.stats.handshakeFailures++;
      this.#count(CloseReason.TlsHandshake);
      log.warn("QUIC handshake failed", { remote, error: err });
      try {
        pending.conn?.close({ closeCode: QuicCloseCode.ProtocolError, reason: String(err) });
      } catch { /* already closed */ }
      return;
    }
    if (this.#stopping) {
      conn.close({ closeCode: QuicCloseCode.Normal, reason: "hub stopping" });
      return;
    }
    this.#conns.add(conn);
    try {
      await this.#serveConnection(conn, remote, () => this.#guard.release(pending));
    } finally {
      this.#conns.delete(conn);
    }
  }

  /** Serves one connection; `authenticated` is called once its node is admitted. */
  async #serveConnection(
    conn: Deno.QuicConn,
    remote: string,
    authenticated: () => void,
  ): Promise<void> {
    const streams = conn.incomingBidirectionalStreams.getReader();
    const closed = conn.closed.then((info) => info.reason || `closed (code ${info.closeCode})`)
      .catch((err) => `closed: ${(err as Error).message}`);
    let edge: QuicEdgeConnection | null = null;
    try {
      const control = await withTimeout(
        streams.read(),
        this.#opts.headerTimeoutMs ?? 10_000,
        () => new Error(`no control stream within ${this.#opts.headerTimeoutMs ?? 10_000} ms`),
      );
      if (control.done) return;
      const ctl = new StreamIo(control.value);
      const header = await withTimeout(
        ctl.next(),
        this.#opts.headerTimeoutMs ?? 10_000,
        () => new Error(`no header message within ${this.#opts.headerTimeoutMs ?? 10_000} ms`),
      );
      edge = await this.#admit(conn, ctl, header, remote, closed);
      if (!edge) return;
      authenticated();
      this.stats.accepted++;
      const connEdge = edge;
      // The rest of the control stream carries nothing we need; keep draining it as messages.
      this.#track(this.#serveStream(connEdge, ctl));
      try {
        this.#opts.acceptor.accept(connEdge);
      } catch (err) {
        log.error("session could not take the connection", { node: connEdge.nodeId, error: err });
        connEdge.close(`hub error: ${(err as Error).message}`);
      }
      while (true) {
        const next = await streams.read();
        if (next.done) break;
        this.#track(this.#serveTypedStream(connEdge, next.value));
      }
    } catch (err) {
      if (!edge) {
        this.stats.refused++;
        this.#count(CloseReason.ProtocolError);
        log.warn("QUIC connection refused", { remote, error: err });
        conn.close({ closeCode: QuicCloseCode.ProtocolError, reason: (err as Error).message });
      }
    } finally {
      streams.releaseLock();
      await closed;
    }
  }

  /** Authenticates the header message; answers ack/nack; returns the connection or null. */
  async #admit(
    conn: Deno.QuicConn,
    ctl: StreamIo,
    header: Message | null,
    remote: string,
    closed: Promise<string>,
  ): Promise<QuicEdgeConnection | null> {
    const refuse = async (req: Message | null, reason: string, label: CloseReasonLabel) => {
      this.stats.refused++;
      this.#count(label);
      log.warn("QUIC node refused", { remote, reason });
      if (req) {
        await ctl.write(newRespByMessage(req, NACK)).catch(() => {});
        const err = newErrorMessage(req, reason);
        await ctl.write(err).catch(() => {});
        await ctl.closeWrite();
        // Give the node a moment to read the nack before the connection goes away.
        await withTimeout(closed, 2_000, () => new Error("nack not read within 2000 ms")).catch(
          () => {},
        );
      }
      conn.close({ closeCode: QuicCloseCode.Refused, reason });
      return null;
    };
    if (!header) {
      return await refuse(
        null,
        "control stream ended before the header message",
        CloseReason.ProtocolError,
      );
    }
    if (header.route.operation !== HEADER_OPERATION) {
      return await refuse(
        header,
        `first message must have operation "header", got "${header.route.operation ?? ""}"`,
        CloseReason.ProtocolError,
      );
    }
    const map = parseHeaderMap(header.content);
    if (!map) {
      return await refuse(
        header,
        "header message content is not a header map",
        CloseReason.ProtocolError,
      );
    }
    let identity;
    try {
      identity = await this.#auth.verify(map, conn.serverName);
    } catch (err) {
      const reason = err instanceof QuicAuthError ? err.message : `authentication failed: ${err}`;
      return await refuse(header, reason, CloseReason.Unauthorized);
    }
    const refusal = this.#opts.acceptor.admit(identity.nodeId);
    if (refusal) return await refuse(header, refusal.reason, CloseReason.NodeLimit);
    await ctl.write(newRespByMessage(header, ACK));
    log.info("QUIC node authenticated", { node: identity.nodeId, remote });
    const edge: QuicEdgeConnection = new QuicEdgeConnection(
      conn,
      identity.nodeId,
      identity.projectId,
      remote,
      closed,
      (io) => this.#track(this.#serveStream(edge, io)),
    );
    return edge;
  }

  /** Reads the 3-byte use type, then serves frames; anything but `msg` closes the stream. */
  async #serveTypedStream(edge: QuicEdgeConnection, stream: Deno.QuicBidirectionalStream) {
    const io = new StreamIo(stream);
    let use: string | null;
    try {
      use = await io.readUseType();
    } catch (err) {
      use = null;
      log.debug("stream read failed", { node: edge.nodeId, error: err });
    }
    if (use !== UseType.Message) {
      this.stats.badStreams++;
      this.#count(CloseReason.ProtocolError);
      const reason = use === null
        ? "stream ended before its 3-byte use type"
        : `stream use type ${JSON.stringify(use)} is not supported (want "msg")`;
      log.warn("QUIC stream refused", { node: edge.nodeId, reason });
      await io.fail(reason);
      return;
    }
    await this.#serveStream(edge, io);
  }

  /** Delivers every frame of a stream; a malformed frame closes only this stream. */
  async #serveStream(edge: QuicEdgeConnection, io: StreamIo): Promise<void> {
    edge.addStream(io);
    try {
      while (true) {
        const msg = await io.next();
        if (!msg) break;
        if (msg.route.operation && CONTROL_OPERATIONS.has(msg.route.operation)) {
          await io.write(newRespByMessage(msg, ACK)).catch(() => {});
          continue;
        }
        await edge.deliver(msg);
      }
      await io.closeWrite();
    } catch (err) {
      if (err instanceof ViaductError) {
        this.stats.badFrames++;
        this.#count(
          err.kind === "length" ? CloseReason.FrameTooLarge : CloseReason.ProtocolError,
        );
        log.warn("QUIC stream closed: bad frame", { node: edge.nodeId, error: err.message });
        await io.fail(err.message);
      } else {
        io.abort();
      }
    } finally {
      edge.removeStream(io);
    }
  }
}
