/**
 * The session manager: CloudHub's {@link ConnectionAcceptor}. It enforces `nodeLimit`, keeps one
 * session per node (a new connection replaces the old one, which is closed with reason
 * "replaced by a new connection"), attaches the node's persistent pool, and reports
 * connect/disconnect so CloudHub can publish the §3.5 events and set the node annotation.
 */
import { createLogger } from "../lib/mod.ts";
import type { Message } from "../modules/mod.ts";
import type { Clock } from "../lib/mod.ts";
import { CloseReason, type HubMetrics } from "./metrics.ts";
import type { NodePools } from "./node_pool.ts";
import { type DeliveryOptions, Session, SessionCloseText } from "./session.ts";
import { KeepaliveTimers } from "./keepalive_timers.ts";
import type { ConnectionAcceptor, EdgeConnection, Refusal } from "./transport.ts";

const log = createLogger("cloudhub.sessions");

/** Options of {@link SessionManager}. */
export interface SessionManagerOptions extends DeliveryOptions {
  pools: NodePools;
  clock: Clock;
  metrics: HubMetrics;
  /** Maximum concurrently connected nodes (`nodeLimit`, default 500). */
  nodeLimit?: number;
  /** `keepaliveInterval` in seconds (default 30). */
  keepaliveInterval?: number;
  /** Upstream handler (the dispatcher's). */
  onMessage: (session: Session, msg: Message) => void | Promise<void>;
  /** A node's session started. */
  onConnected?: (nodeId: string, session: Session) => void;
  /** A node's session ended and no newer session replaced it. */
  onDisconnected?: (nodeId: string, session: Session) => void;
}

/** Tracks live sessions; see module docs. */
export class SessionManager implements ConnectionAcceptor {
  readonly #sessions = new Map<string, Session>();
  readonly #ending = new Set<Promise<string>>();
  readonly #opts: SessionManagerOptions;
  /** Every session's keepalive deadline on one timer. */
  readonly #keepalives: KeepaliveTimers;
  #stopping = false;

  constructor(opts: SessionManagerOptions) {
    this.#opts = opts;
    this.#keepalives = new KeepaliveTimers(opts.clock, (opts.keepaliveInterval ?? 30) * 1000);
  }

  /** Connected nodes. */
  get count(): number {
    return this.#sessions.size;
  }

  /** The node's live session. */
  get(nodeId: string): Session | undefined {
    return this.#sessions.get(nodeId);
  }

  /** Node ids with a live session. */
  get nodeIds(): string[] {
    return [...this.#sessions.keys()];
  }

  /** Refuses when the hub stops or `nodeLimit` is reached (a reconnecting node is always admitted). */
  admit(nodeId: string): Refusal | null {
    if (this.#stopping) return { status: 503, reason: "cloudhub is stopping" };
    const limit = this.#opts.nodeLimit ?? 500;
    if (!this.#sessions.has(nodeId) && this.#sessions.size >= limit) {
      return { status: 503, reason: `node limit reached (${limit} nodes connected)` };
    }
    return null;
  }

  /** Starts a session for the connection, replacing the node's older session. */
  accept(conn: EdgeConnection): void {
    if (this.#stopping) {
      conn.close(SessionCloseText.HubStopping);
      this.#opts.metrics.closedConnections.inc({ reason: CloseReason.HubStopping });
      return;
    }
    const nodeId = conn.nodeId;
    const old = this.#sessions.get(nodeId);
    if (old) {
      log.info("replacing session", {
        node: nodeId,
        old: old.conn.remoteAddress,
        new: conn.remoteAddress,
      });
      old.close(SessionCloseText.Replaced, CloseReason.Replaced);
    }
    const session = new Session({
      conn,
      pool: this.#opts.pools.get(nodeId),
      clock: this.#opts.clock,
      metrics: this.#opts.metrics,
      keepalives: this.#keepalives,
      ackTimeoutMs: this.#opts.ackTimeoutMs,
      ackAttempts: this.#opts.ackAttempts,
      ackWindow: this.#opts.ackWindow,
      onMessage: this.#opts.onMessage,
    });
    this.#sessions.set(nodeId, session);
    this.#opts.metrics.setConnected(this.#sessions.size);
    log.info("node connected", {
      node: nodeId,
      transport: conn.transport,
      remote: conn.remoteAddress,
    });
    // One promise per session, not an async function's state: at 10k+ sessions each byte counts.
    const ended = session.start();
    this.#opts.onConnected?.(nodeId, session);
    const done: Promise<string> = ended.then((reason) => {
      this.#ending.delete(done);
      if (this.#sessions.get(nodeId) === session) {
        this.#sessions.delete(nodeId);
        this.#opts.metrics.setConnected(this.#sessions.size);
        this.#opts.onDisconnected?.(nodeId, session);
      }
      log.info("node disconnected", { node: nodeId, reason });
      return reason;
    });
    this.#ending.add(done);
  }

  /** Closes one node's session (e.g. node deleted). */
  closeNode(
    nodeId: string,
    reason: string,
    label: typeof CloseReason[keyof typeof CloseReason],
  ): void {
    this.#sessions.get(nodeId)?.close(reason, label);
  }

  /** Closes every session and waits until all have ended. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const s of this.#sessions.values()) {
      s.close(SessionCloseText.HubStopping, CloseReason.HubStopping);
    }
    await Promise.all([...this.#ending]);
  }
}
