/**
 * One connected edge node (KubeEdge's `NodeSession`, docs/protocol.md §3.5, §3.6, §4.4): the
 * keepalive timer, the ack path (write, wait up to 5 s for the ACK, resend the same msg_id up to
 * 4 more times, then requeue with back-off) and the no-ack send loop, both taking from the
 * node's {@link NodePool}.
 *
 * The ack path is driven by events, not a loop per message: a write happens when the queue
 * reports a due message (`AckQueue.onReady`) or an ACK frees a window slot, and one timer per
 * session handles every deadline. At 1,000 nodes a promise chain per message (deliver, ACK
 * wait, write) was most of CloudHub's own cost (bench/ack_path_bench.ts).
 *
 * Beyond KubeEdge: up to `ackWindow` ack-path messages may wait for their ACK at once
 * (KubeEdge: one), which keeps a node's link busy while each message still gets its own
 * resends; writes stay in resourceVersion order.
 */
import { createLogger } from "../lib/mod.ts";
import type { Message } from "../modules/mod.ts";
import { trimResource } from "../modules/mod.ts";
import type { AckLease } from "./ack_queue.ts";
import { isNodeStopped } from "./classify.ts";
import type { Clock, TimerHandle } from "../lib/mod.ts";
import { CloseReason, type CloseReasonLabel, type HubMetrics } from "./metrics.ts";
import type { NodePool } from "./node_pool.ts";
import type { EdgeConnection } from "./transport.ts";
import { type KeepaliveOwner, KeepaliveTimers } from "./keepalive_timers.ts";

const log = createLogger("cloudhub.session");

/** Close reasons written to the peer. */
export const SessionCloseText = {
  KeepaliveTimeout: "keepalive timeout",
  Replaced: "replaced by a new connection",
  HubStopping: "cloudhub is stopping",
  NodeDeleted: "node deleted",
  WriteError: "write failed",
} as const;

/** Delivery settings of a session. */
export interface DeliveryOptions {
  /** Time to wait for an ACK before resending (default 5000 ms). */
  ackTimeoutMs?: number;
  /** Writes per message before requeueing with back-off (default 5: 1 + 4 resends). */
  ackAttempts?: number;
  /** Ack-path messages awaiting their ACK at once (default 16; KubeEdge: 1). */
  ackWindow?: number;
}

/** Options of {@link Session}. */
export interface SessionOptions extends DeliveryOptions {
  conn: EdgeConnection;
  pool: NodePool;
  clock: Clock;
  metrics: HubMetrics;
  /** `keepaliveInterval` in ms (default 30 000). */
  keepaliveIntervalMs?: number;
  /**
   * The keepalive deadlines shared by the hub's sessions (one timer for all; its interval
   * replaces `keepaliveIntervalMs`). Default: a set of this session's own.
   */
  keepalives?: KeepaliveTimers;
  /** Upstream handler (the dispatcher); may complete synchronously. */
  onMessage: (session: Session, msg: Message) => void | Promise<void>;
}

/** One ack-path message written and waiting for its ACK. */
interface Inflight {
  readonly lease: AckLease;
  /** The trimmed copy written (the same msg_id on every attempt). */
  readonly wire: Message;
  /** Writes so far. */
  attempts: number;
  /** When the current attempt times out (clock ms). */
  deadline: number;
  /** First write (clock ms), for the ACK latency. */
  readonly started: number;
}

/** A deadline in the session's FIFO; stale once its message was ACKed or written again. */
interface Deadline {
  readonly inflight: Inflight;
  readonly at: number;
}

/** The trimmed copy written to the edge (same msg_id, `node/<id>/` stripped). */
export function wireCopy(msg: Message): Message {
  // Content is shared, not cloned: nothing downstream mutates it, and a deep copy per write
  // was the single largest cost in bench/hub_bench.ts.
  const route = { ...msg.route };
  if (route.resource) route.resource = trimResource(route.resource);
  return { header: { ...msg.header }, route, content: msg.content };
}

/** A live session; see module docs. */
export class Session implements KeepaliveOwner {
  readonly nodeId: string;
  readonly conn: EdgeConnection;
  readonly pool: NodePool;
  readonly #clock: Clock;
  readonly #metrics: HubMetrics;
  readonly #keepaliveMs: number;
  readonly #ackTimeoutMs: number;
  readonly #ackAttempts: number;
  readonly #ackWindow: number;
  readonly #onMessage: (session: Session, msg: Message) => void | Promise<void>;
  #closed = false;
  /** Ack-path messages awaiting their ACK, by msg_id. */
  readonly #inflight = new Map<string, Inflight>();
  #deadlines: Deadline[] = [];
  #deadlineHead = 0;
  #deadlineTimer: TimerHandle | undefined;
  readonly #keepalives: KeepaliveTimers;
  #keepaliveAt = 0;
  #closeReason = "";
  #done: Promise<string> | undefined;
  #resolveDone: ((reason: string) => void) | undefined;
  #filling = false;
  /** {@link #fill} as the queue's `onReady` callback (one function, so it registers once). */
  readonly #refill = () => this.#fill();
  /** The no-ack queue's `onReady` callback: drains in a microtask, as a woken loop would. */
  readonly #noAckReady = () => queueMicrotask(this.#drainNoAckTask);
  readonly #drainNoAckTask = () => this.#drainNoAck();
  /** A no-ack write waiting for its flush (back-pressure); the drain resumes once it settles. */
  #noAckWriting = false;

  constructor(opts: SessionOptions) {
    this.conn = opts.conn;
    this.nodeId = opts.conn.nodeId;
    this.pool = opts.pool;
    this.#clock = opts.clock;
    this.#metrics = opts.metrics;
    this.#keepalives = opts.keepalives ??
      new KeepaliveTimers(opts.clock, opts.keepaliveIntervalMs ?? 30_000);
    this.#keepaliveMs = this.#keepalives.intervalMs;
    this.#ackTimeoutMs = opts.ackTimeoutMs ?? 5_000;
    this.#ackAttempts = Math.max(1, opts.ackAttempts ?? 5);
    this.#ackWindow = Math.max(1, opts.ackWindow ?? 16);
    this.#onMessage = opts.onMessage;
  }

  /** True once {@link close} ran or the connection closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Why the session ended ("" while open). */
  get closeReason(): string {
    return this.#closeReason;
  }

  /**
   * Starts the keepalive timer, the ack path and the no-ack send loop; returns a promise that
   * resolves with the close reason once the session has fully ended (in-flight messages
   * released to the pool).
   */
  start(): Promise<string> {
    if (this.#done) return this.#done;
    this.#done = new Promise<string>((resolve) => (this.#resolveDone = resolve));
    this.pool.ack.resetBackoff();
    this.keepalive();
    this.conn.onMessage((msg) => this.#onMessage(this, msg));
    // The transport already counted a close it saw or made itself.
    this.conn.closed.then((reason) => this.close(`connection closed: ${reason}`, null));
    this.#fill();
    // The no-ack path starts a microtask later, as the loop it replaces did.
    queueMicrotask(this.#drainNoAckTask);
    this.#maybeDone(); // closed before it started
    return this.#done;
  }

  /** Resolves {@link start}'s promise once closed and no no-ack write is still settling. */
  #maybeDone(): void {
    if (this.#closed && !this.#noAckWriting) this.#resolveDone?.(this.#closeReason);
  }

  /** Resets the keepalive deadline (only `keepalive` operations call this, §3.6). */
  keepalive(): void {
    if (this.closed) return;
    this.#keepaliveAt = this.#keepalives.set(this);
  }

  /** The current keepalive deadline (clock ms; 0 once closed), for {@link KeepaliveTimers}. */
  get keepaliveAt(): number {
    return this.#keepaliveAt;
  }

  /** The keepalive deadline passed (called by {@link KeepaliveTimers}). */
  keepaliveExpired(): void {
    if (this.closed) return;
    if (this.conn.readPaused) {
      // The hub stopped reading (back-pressure): the edge's keepalive may be unread in the
      // socket. Wait another interval rather than close a node for our own delay.
      log.debug("keepalive deadline while reading is paused; extended", { node: this.nodeId });
      this.keepalive();
      return;
    }
    log.info("keepalive timeout", { node: this.nodeId, intervalMs: this.#keepaliveMs });
    this.close(SessionCloseText.KeepaliveTimeout, CloseReason.KeepaliveTimeout);
  }

  /** Routes an edge `response` to the ack-path write waiting for it. Returns false if none waits. */
  handleAck(parentId: string | undefined): boolean {
    if (!parentId) return false;
    const f = this.#inflight.get(parentId);
    if (!f) return false;
    this.#inflight.delete(parentId);
    this.#metrics.ackLatency.observe((this.#clock.now() - f.started) / 1000);
    // The success point is saved in the background while the freed window slot takes the next
    // message (acked() logs its own failures).
    void this.pool.ack.acked(f.lease);
    this.#fill();
    return true;
  }

  /**
   * Ends the session: stops the loops, closes the connection with `reason`, counts the reason.
   * Idempotent; the first reason wins. `label` null: already counted by the transport.
   */
  close(reason: string, label: CloseReasonLabel | null): void {
    if (this.closed) return;
    this.#closeReason = reason;
    if (label) this.#metrics.closedConnections.inc({ reason: label });
    if (this.#keepaliveAt !== 0) {
      this.#keepaliveAt = 0;
      this.#keepalives.cancel();
    }
    this.#closed = true;
    this.pool.noAck.offReady(this.#noAckReady);
    if (this.#deadlineTimer !== undefined) this.#clock.clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    this.#deadlines = [];
    this.#deadlineHead = 0;
    // In-flight messages go back to the node's pool for the next session.
    const queue = this.pool.ack;
    queue.offReady(this.#refill);
    const inflight = [...this.#inflight.values()];
    this.#inflight.clear();
    for (const f of inflight) queue.release(f.lease);
    this.conn.close(reason);
    log.info("session closed", { node: this.nodeId, reason });
    this.#maybeDone();
  }

  /**
   * Writes due ack-path messages until the window is full or the queue has none due, then asks
   * the queue to call back when one is. Runs on start, on every ACK, and on queue wake-ups: no
   * promise or loop per message.
   */
  #fill(): void {
    if (this.#filling) return; // re-entered from a write or a queue callback: the outer call goes on
    this.#filling = true;
    try {
      const queue = this.pool.ack;
      while (!this.closed && this.#inflight.size < this.#ackWindow) {
        const lease = queue.tryNext();
        if (!lease) {
          queue.onReady(this.#refill);
          return;
        }
        const wire = wireCopy(lease.msg);
        const f: Inflight = { lease, wire, attempts: 0, deadline: 0, started: this.#clock.now() };
        this.#inflight.set(wire.header.id, f);
        this.#write(f);
      }
    } catch (err) {
      log.error("ack-path delivery failed", { node: this.nodeId, error: err });
      this.close(`internal error: ${(err as Error).message}`, CloseReason.WriteError);
    } finally {
      this.#filling = false;
    }
  }

  /**
   * One attempt at `f`: nothing if a newer version replaced it (that one is queued), else the
   * write with a deadline for its ACK. The deadline is registered before the write, so a fast
   * ACK always finds its message in flight.
   */
  #write(f: Inflight): void {
    const id = f.wire.header.id;
    if (!this.pool.ack.isCurrent(f.lease)) {
      this.#inflight.delete(id);
      return;
    }
    f.attempts++;
    f.deadline = this.#clock.now() + this.#ackTimeoutMs;
    this.#deadlines.push({ inflight: f, at: f.deadline });
    if (this.#deadlineTimer === undefined) this.#armDeadlineTimer();
    let pending: void | Promise<void>;
    try {
      pending = this.conn.write(f.wire);
    } catch (err) {
      this.#writeFailed(err);
      return;
    }
    if (pending) pending.catch((err) => this.#writeFailed(err));
    this.#metrics.countOut(f.wire.route.operation ?? "", "ack");
    if (f.attempts > 1) this.#metrics.resends.inc();
  }

  /** A write failed: the session ends and its in-flight messages go back to the pool. */
  #writeFailed(err: unknown): void {
    this.close(
      `${SessionCloseText.WriteError}: ${(err as Error)?.message ?? String(err)}`,
      CloseReason.WriteError,
    );
  }

  /** Whether `d` is still the deadline of a message in flight. */
  #live(d: Deadline): boolean {
    const f = d.inflight;
    return f.deadline === d.at && this.#inflight.get(f.wire.header.id) === f;
  }

  /**
   * Deadlines are all `now + ackTimeout`, so they expire in the order they were set: one timer
   * per session, armed for the oldest live deadline, replaces a timer per message.
   */
  #armDeadlineTimer(): void {
    // Drop deadlines of messages already ACKed or written again from the front of the FIFO.
    while (this.#deadlineHead < this.#deadlines.length) {
      if (this.#live(this.#deadlines[this.#deadlineHead])) break;
      this.#deadlineHead++;
    }
    if (this.#deadlineHead > 1024 && this.#deadlineHead * 2 > this.#deadlines.length) {
      this.#deadlines = this.#deadlines.slice(this.#deadlineHead);
      this.#deadlineHead = 0;
    }
    if (this.#deadlineHead >= this.#deadlines.length || this.closed) {
      this.#deadlines = [];
      this.#deadlineHead = 0;
      return;
    }
    const head = this.#deadlines[this.#deadlineHead];
    this.#deadlineTimer = this.#clock.setTimeout(
      () => this.#expire(),
      Math.max(0, head.at - this.#clock.now()),
    );
  }

  /** No ACK in time: write again with the same msg_id, or after the last attempt requeue. */
  #expire(): void {
    this.#deadlineTimer = undefined;
    const now = this.#clock.now();
    const expired: Inflight[] = [];
    while (this.#deadlineHead < this.#deadlines.length) {
      const d = this.#deadlines[this.#deadlineHead];
      if (d.at > now) break;
      this.#deadlineHead++;
      if (this.#live(d)) expired.push(d.inflight);
    }
    const queue = this.pool.ack;
    for (const f of expired) {
      if (this.closed) return;
      if (f.attempts < this.#ackAttempts) {
        this.#write(f);
        continue;
      }
      this.#inflight.delete(f.wire.header.id);
      this.#metrics.requeues.inc();
      log.info("no ACK after retries; requeued with back-off", {
        node: this.nodeId,
        resource: f.wire.route.resource ?? "",
        msgId: f.wire.header.id,
      });
      queue.failed(f.lease);
    }
    if (this.closed) return;
    if (this.#deadlineTimer === undefined) this.#armDeadlineTimer();
    this.#fill();
  }

  /**
   * The no-ack path: writes queued messages in order while the socket takes them, then waits
   * for the queue's next push ({@link NoAckQueue.onReady}); past the socket's high-water mark it
   * waits for the flush of the last write. No promise or loop per session while idle.
   */
  #drainNoAck(): void {
    if (this.#noAckWriting) return;
    const queue = this.pool.noAck;
    while (!this.closed) {
      const msg = queue.tryNext();
      if (msg === undefined) {
        queue.onReady(this.#noAckReady);
        return;
      }
      if (isNodeStopped(msg)) {
        this.close(SessionCloseText.NodeDeleted, CloseReason.NodeDeleted);
        return;
      }
      const wire = wireCopy(msg);
      let pending: void | Promise<void>;
      try {
        pending = this.conn.write(wire);
      } catch (err) {
        this.#noAckWriteFailed(msg, err);
        return;
      }
      if (pending) {
        this.#noAckWriting = true;
        pending.then(() => {
          this.#noAckWriting = false;
          this.#metrics.countOut(wire.route.operation ?? "", "noack");
          if (this.closed) this.#maybeDone();
          else this.#drainNoAck();
        }, (err) => {
          this.#noAckWriting = false;
          this.#noAckWriteFailed(msg, err);
          this.#maybeDone();
        });
        return;
      }
      this.#metrics.countOut(wire.route.operation ?? "", "noack");
    }
  }

  #noAckWriteFailed(msg: Message, err: unknown): void {
    this.pool.noAck.unshift(msg);
    this.close(
      `${SessionCloseText.WriteError}: ${(err as Error)?.message ?? String(err)}`,
      CloseReason.WriteError,
    );
  }
}

/** The abort reason of a closed session. */
export class SessionClosedError extends Error {
  override name = "SessionClosedError";
}
