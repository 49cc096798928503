/**
 * One connected edge node (KubeEdge's `NodeSession`, PROTOCOL.md §3.5, §3.6, §4.4): the
 * keepalive timer, the ack send loop (write, wait up to 5 s for the ACK, resend the same msg_id
 * up to 4 more times, then requeue with back-off) and the no-ack send loop, both pulling from the
 * node's {@link NodePool}.
 *
 * Beyond KubeEdge: up to `ackWindow` ack-path messages may wait for their ACK at once
 * (KubeEdge: one), which keeps a node's link busy while each message still gets its own
 * resends; writes stay in resourceVersion order.
 */
import { createLogger } from "../modules/log.ts";
import type { Message } from "../modules/message.ts";
import { trimResource } from "../modules/resource.ts";
import type { AckLease } from "./ack_queue.ts";
import { isNodeStopped } from "./classify.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import { CloseReason, type CloseReasonLabel, type HubMetrics } from "./metrics.ts";
import type { NodePool } from "./node_pool.ts";
import type { EdgeConnection } from "./transport.ts";

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
  /** Upstream handler (the dispatcher); may complete synchronously. */
  onMessage: (session: Session, msg: Message) => void | Promise<void>;
}

interface AckWaiter {
  resolve: (acked: boolean) => void;
  deadline: number;
  msgId: string;
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
export class Session {
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
  readonly #abort = new AbortController();
  readonly #ackWaiters = new Map<string, AckWaiter>();
  #deadlines: AckWaiter[] = [];
  #deadlineHead = 0;
  #deadlineTimer: TimerHandle | undefined;
  #keepaliveTimer: TimerHandle | undefined;
  #closeReason = "";
  #done: Promise<string> | undefined;

  constructor(opts: SessionOptions) {
    this.conn = opts.conn;
    this.nodeId = opts.conn.nodeId;
    this.pool = opts.pool;
    this.#clock = opts.clock;
    this.#metrics = opts.metrics;
    this.#keepaliveMs = opts.keepaliveIntervalMs ?? 30_000;
    this.#ackTimeoutMs = opts.ackTimeoutMs ?? 5_000;
    this.#ackAttempts = Math.max(1, opts.ackAttempts ?? 5);
    this.#ackWindow = Math.max(1, opts.ackWindow ?? 16);
    this.#onMessage = opts.onMessage;
  }

  /** True once {@link close} ran or the connection closed. */
  get closed(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Why the session ended ("" while open). */
  get closeReason(): string {
    return this.#closeReason;
  }

  /**
   * Starts the keepalive timer and both send loops; returns a promise that resolves with the
   * close reason once the session has fully ended (in-flight messages released to the pool).
   */
  start(): Promise<string> {
    if (this.#done) return this.#done;
    this.pool.ack.resetBackoff();
    this.keepalive();
    this.conn.onMessage((msg) => this.#onMessage(this, msg));
    // The transport already counted a close it saw or made itself.
    this.conn.closed.then((reason) => this.close(`connection closed: ${reason}`, null));
    const loops = Promise.all([this.#ackLoop(), this.#noAckLoop()]);
    this.#done = loops.then(() => this.#closeReason);
    return this.#done;
  }

  /** Resets the keepalive timer (only `keepalive` operations call this, §3.6). */
  keepalive(): void {
    if (this.closed) return;
    if (this.#keepaliveTimer !== undefined) this.#clock.clearTimeout(this.#keepaliveTimer);
    this.#keepaliveTimer = this.#clock.setTimeout(() => {
      this.#keepaliveTimer = undefined;
      if (this.conn.readPaused) {
        // The hub stopped reading (back-pressure): the edge's keepalive may be unread in the
        // socket. Wait another interval rather than close a node for our own delay.
        log.debug("keepalive deadline while reading is paused; extended", { node: this.nodeId });
        this.keepalive();
        return;
      }
      log.info("keepalive timeout", { node: this.nodeId, intervalMs: this.#keepaliveMs });
      this.close(SessionCloseText.KeepaliveTimeout, CloseReason.KeepaliveTimeout);
    }, this.#keepaliveMs);
  }

  /** Routes an edge `response` to the ack-path write waiting for it. Returns false if none waits. */
  handleAck(parentId: string | undefined): boolean {
    if (!parentId) return false;
    const waiter = this.#ackWaiters.get(parentId);
    if (!waiter) return false;
    this.#ackWaiters.delete(parentId);
    waiter.resolve(true);
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
    if (this.#keepaliveTimer !== undefined) this.#clock.clearTimeout(this.#keepaliveTimer);
    this.#keepaliveTimer = undefined;
    this.#abort.abort(new SessionClosedError(reason));
    if (this.#deadlineTimer !== undefined) this.#clock.clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    const waiters = [...this.#ackWaiters.values()];
    this.#ackWaiters.clear();
    this.#deadlines = [];
    this.#deadlineHead = 0;
    for (const w of waiters) w.resolve(false);
    this.conn.close(reason);
    log.info("session closed", { node: this.nodeId, reason });
  }

  async #ackLoop(): Promise<void> {
    const signal = this.#abort.signal;
    const inflight = new Set<Promise<void>>();
    try {
      for (;;) {
        while (inflight.size >= this.#ackWindow) await Promise.race(inflight);
        signal.throwIfAborted();
        const lease = this.pool.ack.tryNext() ?? await this.pool.ack.next(signal);
        const p: Promise<void> = this.#deliver(lease).finally(() => inflight.delete(p));
        inflight.add(p);
      }
    } catch (err) {
      if (!signal.aborted) {
        log.error("ack loop failed", { node: this.nodeId, error: err });
        this.close(`internal error: ${(err as Error).message}`, CloseReason.WriteError);
      }
    }
    await Promise.all(inflight);
  }

  async #deliver(lease: AckLease): Promise<void> {
    const queue = this.pool.ack;
    const wire = wireCopy(lease.msg);
    const op = wire.route.operation ?? "";
    const started = this.#clock.now();
    for (let attempt = 0; attempt < this.#ackAttempts; attempt++) {
      if (this.closed) return queue.release(lease);
      if (!queue.isCurrent(lease)) return; // replaced by a newer version, which is queued
      const acked = this.#waitAck(wire.header.id);
      try {
        await this.conn.write(wire);
      } catch (err) {
        // close() resolves the waiter registered above and clears its timer.
        queue.release(lease);
        this.close(
          `${SessionCloseText.WriteError}: ${(err as Error).message}`,
          CloseReason.WriteError,
        );
        return;
      }
      this.#metrics.countOut(op, "ack");
      if (attempt > 0) this.#metrics.resends.inc();
      if (await acked) {
        this.#metrics.ackLatency.observe((this.#clock.now() - started) / 1000);
        // The success point is saved in the background: the window slot is free for the next
        // message while the ObjectSync write goes to the API (acked() logs its own failures).
        void queue.acked(lease);
        return;
      }
      if (this.closed) return queue.release(lease);
    }
    this.#metrics.requeues.inc();
    log.info("no ACK after retries; requeued with back-off", {
      node: this.nodeId,
      resource: wire.route.resource ?? "",
      msgId: wire.header.id,
    });
    queue.failed(lease);
  }

  /**
   * Registers the ACK waiter before the write, so a fast ACK is never missed. Deadlines are
   * all `now + ackTimeout`, so they expire in registration order: one timer per session, armed
   * for the oldest deadline, replaces a timer per message.
   */
  #waitAck(msgId: string): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const waiter: AckWaiter = {
        resolve,
        deadline: this.#clock.now() + this.#ackTimeoutMs,
        msgId,
      };
      this.#ackWaiters.set(msgId, waiter);
      this.#deadlines.push(waiter);
      if (this.#deadlineTimer === undefined) this.#armDeadlineTimer();
    });
  }

  #armDeadlineTimer(): void {
    // Drop waiters already settled by an ACK from the front of the FIFO.
    while (this.#deadlineHead < this.#deadlines.length) {
      const w = this.#deadlines[this.#deadlineHead];
      if (this.#ackWaiters.get(w.msgId) === w) break;
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
    this.#deadlineTimer = this.#clock.setTimeout(() => {
      this.#deadlineTimer = undefined;
      const now = this.#clock.now();
      while (this.#deadlineHead < this.#deadlines.length) {
        const w = this.#deadlines[this.#deadlineHead];
        if (w.deadline > now) break;
        this.#deadlineHead++;
        if (this.#ackWaiters.get(w.msgId) === w) {
          this.#ackWaiters.delete(w.msgId);
          w.resolve(false);
        }
      }
      this.#armDeadlineTimer();
    }, Math.max(0, head.deadline - this.#clock.now()));
  }

  async #noAckLoop(): Promise<void> {
    const signal = this.#abort.signal;
    const queue = this.pool.noAck;
    for (;;) {
      let msg: Message;
      try {
        msg = await queue.next(signal);
      } catch {
        return;
      }
      if (isNodeStopped(msg)) {
        this.close(SessionCloseText.NodeDeleted, CloseReason.NodeDeleted);
        return;
      }
      const wire = wireCopy(msg);
      try {
        await this.conn.write(wire);
      } catch (err) {
        queue.unshift(msg);
        this.close(
          `${SessionCloseText.WriteError}: ${(err as Error).message}`,
          CloseReason.WriteError,
        );
        return;
      }
      this.#metrics.countOut(wire.route.operation ?? "", "noack");
    }
  }
}

/** The abort reason of a closed session. */
export class SessionClosedError extends Error {
  override name = "SessionClosedError";
}
