/**
 * An edge node over QUIC (RFC 9000 + viaduct framing, docs/quic.md): the control stream with
 * the header message and its credential, then one `msg` stream for upstream messages; streams
 * the hub opens carry downstream messages. Like edgecore it sends a keepalive every 15 s and
 * ACKs ack-path messages with `NewRespByMessage(msg, "OK")`.
 *
 * @example
 * ```ts
 * const edge = await QuicEdgeClient.connect({
 *   hostname: "127.0.0.1", port, nodeId: "edge-1", credentials: { caPem, certPem, keyPem },
 * });
 * const pod = await edge.waitFor((m) => m.route.resource === "default/pod/nginx");
 * await edge.close();
 * ```
 */
import {
  buildMessage,
  EdgeSource,
  Group,
  type Message,
  type MessageRoute,
  MessageSuccessfulContent,
  newRespByMessage,
  Operation,
} from "../modules/mod.ts";
import { decodePem, importEcPrivateKeyPem, PEM_CERTIFICATE } from "../pki/mod.ts";
import { edgeAcks, WaitTimeoutError } from "./client.ts";
import {
  ACK,
  buildHeaderMessage,
  QUIC_ALPN,
  signQuicAuth,
  StreamIo,
  UseType,
} from "../protocol/mod.ts";
import { createLogger } from "../lib/mod.ts";

/** KubeEdge's default project id (edgecore `projectID`). */
export const DEFAULT_PROJECT_ID = "e632aba927ea4ac2b575ec1603d56f10";

const log = createLogger("edge-quic");

/** The hub refused the node (`nack`); the message carries the hub's reason. */
export class QuicRefusedError extends Error {
  override name = "QuicRefusedError";
}

/** Options of {@link QuicEdgeClient.connect}. */
export interface QuicEdgeClientOptions {
  /** Hub host (IP or name) and QUIC port. */
  hostname: string;
  port: number;
  /** Name to verify the hub certificate against and to bind the credential to (default: hostname). */
  serverName?: string;
  nodeId: string;
  /** Default: KubeEdge's default project id. */
  projectId?: string;
  /** What edgecore has in /etc/kubeedge: CA, client certificate and key (PEM). */
  credentials: { caPem: string; certPem: string; keyPem: string };
  /** Keepalive period in seconds (edgecore `heartbeat`, default 15); 0 disables keepalives. */
  heartbeat?: number;
  /**
   * Which received messages to ACK with `NewRespByMessage(msg, "OK")`: default metamanager's
   * rule ({@link edgeAcks}, as the WebSocket client); `false` never ACKs.
   */
  ack?: false | ((msg: Message) => boolean);
  /** Extra header-map entries (tests: a wrong credential). */
  extraHeaders?: Record<string, string[]>;
}

interface Waiter {
  pred: (msg: Message) => boolean;
  resolve: (msg: Message) => void;
}

/** A connected edge node over QUIC. */
export class QuicEdgeClient {
  /** Every message received from the hub, in arrival order (control replies excluded). */
  readonly received: Message[] = [];
  /** Resolves with the reason once the connection is closed. */
  readonly closed: Promise<string>;
  /** Keepalives sent so far. */
  keepalivesSent = 0;
  /** ACKs sent so far. */
  acksSent = 0;
  readonly #msg: StreamIo;
  readonly #waiters = new Set<Waiter>();
  readonly #listeners = new Set<(msg: Message) => void>();
  readonly #tasks = new Set<Promise<void>>();
  #keepalive: ReturnType<typeof setInterval> | undefined;
  #closing = false;

  private constructor(
    /** The underlying QUIC connection (tests open raw streams on it). */
    readonly conn: Deno.QuicConn,
    readonly nodeId: string,
    msg: StreamIo,
    readonly ack: false | ((msg: Message) => boolean),
  ) {
    this.#msg = msg;
    this.closed = conn.closed.then((i) => i.reason || `closed (code ${i.closeCode})`)
      .catch((err) => `closed: ${(err as Error).message}`);
  }

  /**
   * Dials the hub, authenticates and opens the message stream.
   * @throws QuicRefusedError when the hub answers `nack`.
   */
  static async connect(opts: QuicEdgeClientOptions): Promise<QuicEdgeClient> {
    const serverName = opts.serverName ?? opts.hostname;
    const certDer = decodePem(opts.credentials.certPem).find((b) => b.label === PEM_CERTIFICATE)
      ?.der;
    if (!certDer) throw new Error("credentials.certPem holds no CERTIFICATE");
    const { key } = await importEcPrivateKeyPem(opts.credentials.keyPem);
    const conn = await Deno.connectQuic({
      hostname: opts.hostname,
      port: opts.port,
      serverName,
      alpnProtocols: [QUIC_ALPN],
      caCerts: [opts.credentials.caPem],
      keepAliveInterval: 10_000,
    });
    let ctl: StreamIo | null = null;
    try {
      ctl = new StreamIo(await conn.createBidirectionalStream());
      const auth = await signQuicAuth({ nodeId: opts.nodeId, certDer, key, serverName });
      const header = buildHeaderMessage({
        Node_id: [opts.nodeId],
        Project_id: [opts.projectId ?? DEFAULT_PROJECT_ID],
        ...auth,
        ...opts.extraHeaders,
      });
      await ctl.write(header);
      const reply = await ctl.next();
      if (!reply || reply.content !== ACK) {
        // A nack is followed by an error message carrying the reason.
        const why = reply ? await ctl.next().catch(() => null) : null;
        const reason = typeof why?.content === "string" ? why.content : "no reason given";
        throw new QuicRefusedError(`hub refused node ${opts.nodeId}: ${reason}`);
      }
      await ctl.closeWrite();
      const msg = new StreamIo(await conn.createBidirectionalStream());
      await msg.writeRaw(new TextEncoder().encode(UseType.Message));
      const client = new QuicEdgeClient(conn, opts.nodeId, msg, opts.ack ?? edgeAcks);
      client.#start(ctl, (opts.heartbeat ?? 15) * 1000);
      return client;
    } catch (err) {
      ctl?.abort();
      conn.close({ closeCode: 0, reason: "edge gave up" });
      await conn.closed.catch(() => {});
      throw err;
    }
  }

  #start(ctl: StreamIo, keepaliveMs: number): void {
    this.#track(this.#drain(ctl));
    this.#track(this.#read(this.#msg));
    this.#track(this.#acceptStreams());
    if (keepaliveMs > 0) {
      this.#keepalive = setInterval(() => {
        this.sendKeepalive().catch((err) => log.warn("keepalive failed", { error: err }));
      }, keepaliveMs);
    }
    this.closed.then(() => clearInterval(this.#keepalive));
  }

  #track(task: Promise<void>): void {
    const t = task.catch(() => {}).finally(() => this.#tasks.delete(t));
    this.#tasks.add(t);
  }

  async #drain(ctl: StreamIo): Promise<void> {
    while (await ctl.next().catch(() => null)) { /* control stream carries nothing more */ }
  }

  async #acceptStreams(): Promise<void> {
    const reader = this.conn.incomingBidirectionalStreams.getReader();
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) return;
        const io = new StreamIo(value);
        this.#track((async () => {
          if (await io.readUseType() !== UseType.Message) return io.abort();
          await this.#read(io);
        })());
      }
    } finally {
      reader.releaseLock();
    }
  }

  async #read(io: StreamIo): Promise<void> {
    while (true) {
      const msg = await io.next();
      if (!msg) return;
      const op = msg.route.operation ?? "";
      if (op === Operation.Config || op === Operation.Ping || op === Operation.Pong) {
        await io.write(newRespByMessage(msg, ACK)).catch(() => {});
        continue;
      }
      this.received.push(msg);
      for (const l of this.#listeners) l(msg);
      for (const w of this.#waiters) {
        if (w.pred(msg)) {
          this.#waiters.delete(w);
          w.resolve(msg);
        }
      }
      if (this.ack && this.ack(msg)) {
        this.acksSent++;
        await this.send(newRespByMessage(msg, MessageSuccessfulContent)).catch(() => {});
      }
    }
  }

  /** Sends one message upstream on the message stream. */
  send(msg: Message): Promise<void> {
    return this.#msg.write(msg);
  }

  /** Sends an upstream message built from a route and content. */
  sendRoute(route: MessageRoute, content: unknown): Promise<void> {
    return this.send(buildMessage(route, content));
  }

  /** Sends one keepalive now (what the heartbeat timer sends, docs/protocol.md §1.8). */
  sendKeepalive(): Promise<void> {
    this.keepalivesSent++;
    return this.sendRoute({
      source: EdgeSource.WebSocket,
      group: Group.Resource,
      operation: Operation.Keepalive,
      resource: "node",
    }, "ping");
  }

  /** Calls `listener` for every message received from now on; returns an unsubscribe function. */
  onMessage(listener: (msg: Message) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves with the first received message (already received or arriving within
   * `timeoutMs`) that matches.
   * @throws WaitTimeoutError
   */
  waitFor(pred: (msg: Message) => boolean, timeoutMs = 10_000): Promise<Message> {
    const hit = this.received.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new WaitTimeoutError(`node ${this.nodeId}: no matching message in ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** Closes the connection and waits for the reader tasks. */
  async close(reason = "edge closing"): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      clearInterval(this.#keepalive);
      try {
        this.conn.close({ closeCode: 0, reason });
      } catch {
        // already closed
      }
    }
    await this.closed;
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
  }
}
