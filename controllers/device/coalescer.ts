/**
 * Coalesces twin and state updates per device (the fix for KubeEdge #3761, where every
 * `edge_updated` becomes one PATCH).
 *
 * The first update of a device opens a window (default 1 s); every update inside it is merged,
 * last value per property winning, and one flush (one PATCH) carries the result when the window
 * closes. An update may carry an `ack`, called only after the flush that carries its values
 * succeeded (DeviceController's default: the edge's `"OK"` then means "stored in the API", and
 * an edge whose message was not acknowledged still resends it if edgecloud dies meanwhile).
 * A failed flush is not lost: its
 * values are merged back under any newer ones and retried with capped back-off until it
 * succeeds, the device goes away, or the controller stops (stop flushes what is pending).
 */
import { createLogger } from "../../lib/mod.ts";
import type { Clock, TimerHandle } from "../../lib/mod.ts";
import type { TwinProperty } from "./types.ts";

const log = createLogger("devicecontroller");

/** What one accepted upstream message contributes. */
export interface TwinUpdate {
  /** Property → new `reported` value. */
  reported?: Map<string, TwinProperty>;
  /** Property → new `observedDesired` value (v1beta1). */
  observedDesired?: Map<string, TwinProperty>;
  /** New `state` / `lastOnlineTime` (v1beta1 `state/update`). */
  state?: { state?: string; lastOnlineTime?: string };
  /** Called once the values are in the API (sends the edge its OK). */
  ack?: () => void;
  /** Edge receive time of the message (for latency metrics). */
  receivedAt?: number;
}

/** The merged content of one flush. */
export interface TwinBatch {
  reported: Map<string, TwinProperty>;
  observedDesired: Map<string, TwinProperty>;
  state?: { state?: string; lastOnlineTime?: string };
  acks: (() => void)[];
  /** Number of messages merged. */
  messages: number;
  /** Receive times of the merged messages. */
  receivedAt: number[];
}

/** Writes one batch; throws to have it retried. */
export type FlushFn = (key: string, batch: TwinBatch) => Promise<void>;

/** Coalescer settings. */
export interface CoalescerOptions {
  /** Window in ms (default 1000). 0 flushes on the next timer tick. */
  windowMs?: number;
  clock: Clock;
  flush: FlushFn;
  /** First retry delay (default 200 ms), doubled up to `maxRetryMs` (default 5000 ms). */
  retryMs?: number;
  maxRetryMs?: number;
}

/** Counters. */
export interface CoalescerStats {
  accepted: number;
  flushes: number;
  failedFlushes: number;
  dropped: number;
}

interface Entry {
  pending?: TwinBatch;
  timer?: TimerHandle;
  inflight?: Promise<void>;
  /** The window elapsed while a flush was in flight: flush again as soon as it ends. */
  due: boolean;
  retryDelay: number;
}

function emptyBatch(): TwinBatch {
  return { reported: new Map(), observedDesired: new Map(), acks: [], messages: 0, receivedAt: [] };
}

/** Merges `older` under `newer` (newer values win) into `newer`. */
function mergeUnder(newer: TwinBatch, older: TwinBatch): void {
  for (const [k, v] of older.reported) if (!newer.reported.has(k)) newer.reported.set(k, v);
  for (const [k, v] of older.observedDesired) {
    if (!newer.observedDesired.has(k)) newer.observedDesired.set(k, v);
  }
  if (older.state) newer.state = { ...older.state, ...newer.state };
  newer.acks.unshift(...older.acks);
  newer.receivedAt.unshift(...older.receivedAt);
  newer.messages += older.messages;
}

/** See module docs. */
export class TwinCoalescer {
  readonly #entries = new Map<string, Entry>();
  readonly #window: number;
  readonly #clock: Clock;
  readonly #flush: FlushFn;
  readonly #retryBase: number;
  readonly #retryMax: number;
  #stopped = false;
  readonly stats: CoalescerStats = { accepted: 0, flushes: 0, failedFlushes: 0, dropped: 0 };

  constructor(opts: CoalescerOptions) {
    this.#window = Math.max(0, opts.windowMs ?? 1000);
    this.#clock = opts.clock;
    this.#flush = opts.flush;
    this.#retryBase = opts.retryMs ?? 200;
    this.#retryMax = opts.maxRetryMs ?? 5000;
  }

  /** Number of messages accepted but not yet flushed successfully. */
  get pendingMessages(): number {
    let n = 0;
    for (const e of this.#entries.values()) n += e.pending?.messages ?? 0;
    return n;
  }

  /** Number of devices with a flush in flight. */
  get inflight(): number {
    let n = 0;
    for (const e of this.#entries.values()) if (e.inflight) n++;
    return n;
  }

  /** Accepts one message's values for `key`. */
  add(key: string, update: TwinUpdate): void {
    if (this.#stopped) throw new Error("coalescer is stopped");
    let e = this.#entries.get(key);
    if (!e) {
      e = { due: false, retryDelay: this.#retryBase };
      this.#entries.set(key, e);
    }
    const b = e.pending ?? (e.pending = emptyBatch());
    for (const [k, v] of update.reported ?? []) b.reported.set(k, v);
    for (const [k, v] of update.observedDesired ?? []) b.observedDesired.set(k, v);
    if (update.state) b.state = { ...b.state, ...update.state };
    if (update.ack) b.acks.push(update.ack);
    if (update.receivedAt !== undefined) b.receivedAt.push(update.receivedAt);
    b.messages++;
    this.stats.accepted++;
    if (e.timer === undefined && !e.due) {
      e.timer = this.#clock.setTimeout(() => this.#fire(key), this.#window);
    }
  }

  /** Forgets a device's pending values (the device is gone; nobody gets an OK). */
  drop(key: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    if (e.timer !== undefined) this.#clock.clearTimeout(e.timer);
    this.stats.dropped += e.pending?.messages ?? 0;
    e.pending = undefined;
    e.timer = undefined;
    e.due = false;
    // An in-flight flush finishes on its own; it no longer finds its entry and retries nothing.
    this.#entries.delete(key);
  }

  #fire(key: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    e.timer = undefined;
    if (e.inflight) {
      e.due = true;
      return;
    }
    e.due = false;
    const batch = e.pending;
    if (!batch) {
      this.#entries.delete(key);
      return;
    }
    e.pending = undefined;
    e.inflight = this.#run(key, e, batch);
  }

  async #run(key: string, e: Entry, batch: TwinBatch): Promise<void> {
    let ok = false;
    try {
      this.stats.flushes++;
      await this.#flush(key, batch);
      ok = true;
    } catch (err) {
      this.stats.failedFlushes++;
      log.warn("twin patch failed, will retry", {
        device: key,
        messages: batch.messages,
        retryInMs: e.retryDelay,
        error: err,
      });
    }
    e.inflight = undefined;
    if (ok) {
      e.retryDelay = this.#retryBase;
      for (const ack of batch.acks) {
        try {
          ack();
        } catch (err) {
          log.error("twin ack failed", { device: key, error: err });
        }
      }
    } else if (this.#entries.get(key) === e) {
      const next = e.pending ?? emptyBatch();
      mergeUnder(next, batch);
      e.pending = next;
      if (e.timer !== undefined) this.#clock.clearTimeout(e.timer);
      e.due = false;
      if (!this.#stopped) {
        e.timer = this.#clock.setTimeout(() => this.#fire(key), e.retryDelay);
        e.retryDelay = Math.min(this.#retryMax, e.retryDelay * 2);
      }
      return;
    } else {
      this.stats.dropped += batch.messages;
      return;
    }
    if (this.#entries.get(key) !== e) return;
    if (e.due) this.#fire(key);
    else if (!e.pending && e.timer === undefined) this.#entries.delete(key);
  }

  /**
   * Stops accepting, cancels windows and flushes everything pending now, retrying each device a
   * few times; values still failing after that are logged as lost.
   */
  async stop(attempts = 3): Promise<void> {
    this.#stopped = true;
    for (let round = 0; round < attempts; round++) {
      await Promise.all([...this.#entries.values()].map((e) => e.inflight));
      const keys = [...this.#entries.keys()].filter((k) => this.#entries.get(k)?.pending);
      if (keys.length === 0) break;
      for (const key of keys) {
        const e = this.#entries.get(key)!;
        if (e.timer !== undefined) this.#clock.clearTimeout(e.timer);
        e.timer = undefined;
        this.#fire(key);
      }
    }
    await Promise.all([...this.#entries.values()].map((e) => e.inflight));
    for (const [key, e] of this.#entries) {
      if (e.timer !== undefined) this.#clock.clearTimeout(e.timer);
      if (e.pending) {
        log.error("twin values not stored at stop", { device: key, messages: e.pending.messages });
      }
    }
    this.#entries.clear();
  }
}
