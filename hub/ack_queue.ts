/**
 * The per-node ack-path store and queue (docs/protocol.md §4.1, §4.3, §4.4): keyed by object UID,
 * a newer resourceVersion replaces an older one, deletes win, first arrivals consult the node's
 * ObjectSync record, and ACKs save the success point.
 *
 * Differences from KubeEdge, on purpose:
 * - the queue belongs to the node, not the session, so it survives disconnects (docs/design.md);
 * - pending messages are taken in resourceVersion order (KubeEdge: FIFO of keys), so a node
 *   that reconnects receives its backlog oldest change first;
 * - a non-numeric resourceVersion drops the message with a log instead of panicking;
 * - after an ACK only the RV is kept (KubeEdge keeps the whole message for RV comparisons);
 * - back-off after five unacknowledged writes is per key, 5 ms doubling up to `backoffCapMs`
 *   (default 60 s rather than client-go's 1000 s: a node that misses five writes in a row is
 *   almost always reconnecting, and a new session resets the back-off anyway).
 */
import { Group, Operation } from "../modules/mod.ts";
import { ackKeyOf, isDeleteMessage, syncKeyOf, syncSpecOf } from "./ack_keys.ts";
import { type Clock, createLogger, Heap, systemClock, type TimerHandle } from "../lib/mod.ts";
import type { Message } from "../modules/mod.ts";
import {
  checkResourceVersion,
  compareResourceVersion,
  ResourceVersionError,
  type SyncKey,
  type SyncStore,
} from "../kube/mod.ts";

const log = createLogger("cloudhub.ackqueue");

/** Success-point writes with their failure already logged, by the store's promise. */
const quietWrites = new WeakMap<Promise<void>, Promise<void>>();

/** Outcome of {@link AckQueue.enqueue}. */
export type EnqueueResult = "queued" | "replaced" | "dropped";

/** Why a message was dropped (metrics label). */
export type AckDropReason =
  | "no_uid"
  | "no_resource_version"
  | "bad_resource_version"
  | "stale"
  | "delete_pending"
  | "objectsync_error"
  | "bad_resource";

/** Options of {@link AckQueue}. */
export interface AckQueueOptions {
  nodeId: string;
  syncStore: SyncStore;
  clock?: Clock;
  /** First back-off delay (ms); doubles per failure. Default 5. */
  backoffBaseMs?: number;
  /** Back-off cap (ms). Default 60 000. */
  backoffCapMs?: number;
  /** Called for every drop (metrics). */
  onDrop?: (reason: AckDropReason, msg: Message) => void;
  /** Called when the number of pending entries changes by `delta` (metrics). */
  onDepth?: (delta: number) => void;
}

/** Delivery state of one object. */
type EntryState = "pending" | "inflight" | "delivered";

/** One object in a node's ack store. */
export interface AckEntry {
  /** Object UID. */
  readonly key: string;
  /** The message to deliver (null once delivered). */
  msg: Message | null;
  /** RV of `msg`, or of the last delivered message. */
  rv: string;
  /** Whether `msg` is a delete. */
  isDelete: boolean;
  state: EntryState;
  /**
   * Ordering key: the RV as a float (exact below 2^53, which covers real clusters; beyond that
   * ordering is approximate, the §4.3 rules still compare exactly with BigInt), or the largest
   * RV seen so far for messages without one.
   */
  order: number;
  seq: number;
  failures: number;
  notBefore: number;
  syncKey: SyncKey | null;
}

/** A message taken for sending; pass it back to acked/failed/release. */
export interface AckLease {
  readonly entry: AckEntry;
  readonly msg: Message;
  /** Whether `msg` is a delete (the entry's flag when taken; a newer message may change that). */
  readonly isDelete: boolean;
}

/** A first arrival waiting for its ObjectSync lookup (see AckQueue.#decide). */
interface Lookup {
  msg: Message;
  uid: string;
  rv: string;
  syncKey: SyncKey;
}

interface HeapItem {
  entry: AckEntry;
  seq: number;
  order: number;
}

function heapLess(a: HeapItem, b: HeapItem): boolean {
  return a.order < b.order || (a.order === b.order && a.seq < b.seq);
}

/** Per-node ack store + queue. */
export class AckQueue {
  readonly nodeId: string;
  readonly #store = new Map<string, AckEntry>();
  /** Pending entries due now, lowest RV first (lazy deletion: stale items are skipped). */
  #heap: Heap<HeapItem> | undefined;
  /** Pending entries waiting out a back-off. */
  #delayed: Set<AckEntry> | undefined;
  /** Entries not yet delivered (pending or in flight). */
  #waiting = 0;
  readonly #sync: SyncStore;
  readonly #clock: Clock;
  readonly #baseMs: number;
  readonly #capMs: number;
  readonly #onDrop: (reason: AckDropReason, msg: Message) => void;
  readonly #onDepth: (delta: number) => void;
  #seq = 0;
  #maxOrder = 0;
  /** The serialised enqueues (set while {@link #queued} > 0: none kept for an idle node). */
  #chain: Promise<unknown> | undefined;
  /** Enqueues waiting behind (or running) an ObjectSync lookup. */
  #queued = 0;
  /** One-shot callbacks of consumers waiting for a due message ({@link onReady}). */
  #readyCallbacks: Array<() => void> = [];
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  #closed = false;

  constructor(opts: AckQueueOptions) {
    this.nodeId = opts.nodeId;
    this.#sync = opts.syncStore;
    this.#clock = opts.clock ?? systemClock;
    this.#baseMs = opts.backoffBaseMs ?? 5;
    this.#capMs = opts.backoffCapMs ?? 60_000;
    this.#onDrop = opts.onDrop ?? (() => {});
    this.#onDepth = opts.onDepth ?? (() => {});
  }

  /** Messages waiting to be sent or acknowledged. */
  get depth(): number {
    return this.#waiting;
  }

  /** Stored entry for a UID (tests, diagnostics). */
  entry(uid: string): AckEntry | undefined {
    return this.#store.get(uid);
  }

  /**
   * Applies §4.3 to a message. Decided at once (no promise) when no ObjectSync lookup is needed,
   * which is every message for an object the queue knows: a delete, a response, a newer or a
   * stale version. A first arrival reads the node's ObjectSync record; calls are serialised per
   * node behind such a lookup, so two messages for one object never race.
   */
  enqueue(msg: Message): EnqueueResult | Promise<EnqueueResult> {
    if (this.#queued === 0) {
      const decided = this.#decide(msg);
      return typeof decided === "string" ? decided : this.#serialise(this.#lookup(decided));
    }
    return this.#serialise(this.#chain!.then(() => {
      const decided = this.#decide(msg);
      return typeof decided === "string" ? decided : this.#lookup(decided);
    }));
  }

  /** Counts `run` among the calls later ones must wait for, until it settles. */
  #serialise(run: Promise<EnqueueResult>): Promise<EnqueueResult> {
    this.#queued++;
    const settled = () => {
      if (--this.#queued === 0) this.#chain = undefined;
    };
    this.#chain = run.then(settled, settled);
    return run;
  }

  #drop(reason: AckDropReason, msg: Message, detail?: unknown): EnqueueResult {
    log.debug("ack message dropped", {
      node: this.nodeId,
      reason,
      resource: msg.route.resource ?? "",
      rv: msg.header.resourceVersion ?? "",
      ...(detail !== undefined ? { detail } : {}),
    });
    this.#onDrop(reason, msg);
    return "dropped";
  }

  /** §4.3 without I/O: the outcome, or what a first arrival must look up. */
  #decide(msg: Message): EnqueueResult | Lookup {
    const uid = ackKeyOf(msg);
    if (!uid) return this.#drop("no_uid", msg);
    const rv = msg.header.resourceVersion ?? "";
    const del = isDeleteMessage(msg);
    if (!rv && !del) return this.#drop("no_resource_version", msg);
    if (rv) {
      try {
        checkResourceVersion(rv);
      } catch (err) {
        log.warn("message with a non-numeric resourceVersion dropped", {
          node: this.nodeId,
          resource: msg.route.resource ?? "",
          error: err,
        });
        return this.#drop("bad_resource_version", msg);
      }
    }
    const stored = this.#store.get(uid);
    // The same UID is the same object, so a stored entry's key holds (no re-parse per message).
    let syncKey: SyncKey | null = stored?.syncKey ?? null;
    if (!syncKey) {
      try {
        syncKey = syncKeyOf(this.nodeId, uid, msg);
      } catch {
        syncKey = null;
      }
    }
    if (del || msg.route.operation === Operation.Response) {
      return this.#put(uid, msg, rv, del, syncKey, stored);
    }
    if (stored) {
      if (stored.isDelete && stored.state !== "delivered") return this.#drop("delete_pending", msg);
      if (stored.rv && compareResourceVersion(rv, stored.rv) <= 0) return this.#drop("stale", msg);
      return this.#put(uid, msg, rv, false, syncKey, stored);
    }
    if (!syncKey) return this.#drop("bad_resource", msg);
    return { msg, uid, rv, syncKey };
  }

  /** A first arrival: compare with the node's ObjectSync record, creating it if missing. */
  async #lookup({ msg, uid, rv, syncKey }: Lookup): Promise<EnqueueResult> {
    let record;
    try {
      record = await this.#sync.get(syncKey);
    } catch (err) {
      log.warn("objectsync lookup failed; message dropped", {
        node: this.nodeId,
        name: syncKey.name,
        error: err,
      });
      return this.#drop("objectsync_error", msg, String(err));
    }
    if (this.#closed) return "dropped";
    // Another enqueue may not have run in between (serialised), so the store is still empty.
    if (record) {
      // A record without a status RV reads as "0" (never ACKed; see syncRecordOf), where
      // KubeEdge drops the message and the object never reaches the node.
      let cmp: number;
      try {
        cmp = compareResourceVersion(rv, record.resourceVersion);
      } catch (err) {
        return this.#drop("bad_resource_version", msg, String(err));
      }
      if (cmp <= 0) {
        // Remember what the node already has, saving the next lookup.
        this.#store.set(
          uid,
          this.#newEntry(uid, null, record.resourceVersion, false, syncKey, "delivered"),
        );
        return this.#drop("stale", msg);
      }
      return this.#put(uid, msg, rv, false, syncKey, undefined);
    }
    try {
      await this.#sync.upsertStatus(syncKey, syncSpecOf(msg), "0");
    } catch (err) {
      log.warn("objectsync create failed; message dropped", {
        node: this.nodeId,
        name: syncKey.name,
        error: err,
      });
      return this.#drop("objectsync_error", msg, String(err));
    }
    if (this.#closed) return "dropped";
    return this.#put(uid, msg, rv, false, syncKey, undefined);
  }

  #newEntry(
    key: string,
    msg: Message | null,
    rv: string,
    isDelete: boolean,
    syncKey: SyncKey | null,
    state: EntryState,
  ): AckEntry {
    return {
      key,
      msg,
      rv,
      isDelete,
      state,
      order: 0,
      seq: 0,
      failures: 0,
      notBefore: 0,
      syncKey,
    };
  }

  #put(
    uid: string,
    msg: Message,
    rv: string,
    isDelete: boolean,
    syncKey: SyncKey | null,
    stored: AckEntry | undefined,
  ): EnqueueResult {
    let entry = stored;
    const wasWaiting = entry !== undefined && entry.state !== "delivered";
    if (!entry) {
      entry = this.#newEntry(uid, msg, rv, isDelete, syncKey, "pending");
      this.#store.set(uid, entry);
    }
    entry.msg = msg;
    entry.rv = rv || entry.rv;
    entry.isDelete = isDelete;
    entry.syncKey = syncKey ?? entry.syncKey;
    entry.state = "pending";
    entry.failures = 0;
    entry.notBefore = 0;
    entry.seq = ++this.#seq;
    if (rv) {
      const n = Number(rv); // validated in #enqueue
      entry.order = n;
      if (n > this.#maxOrder) this.#maxOrder = n;
    } else {
      entry.order = this.#maxOrder;
    }
    this.#delayed?.delete(entry);
    this.#push({ entry, seq: entry.seq, order: entry.order });
    if (!wasWaiting) {
      this.#waiting++;
      this.#onDepth(1);
    }
    this.#wake();
    return wasWaiting ? "replaced" : "queued";
  }

  /** Queues `item` (the heap is made on first use: most nodes of a big fleet wait idle). */
  #push(item: HeapItem): void {
    (this.#heap ??= new Heap<HeapItem>(heapLess)).push(item);
  }

  /** Pops the lowest-RV pending entry that is due, or null. */
  #take(now: number): AckEntry | null {
    const delayed = this.#delayed;
    if (delayed) {
      for (const e of delayed) {
        if (e.notBefore <= now) {
          delayed.delete(e);
          this.#push({ entry: e, seq: e.seq, order: e.order });
        }
      }
    }
    for (;;) {
      const item = this.#heap?.pop();
      if (!item) return null;
      const e = item.entry;
      if (
        e.state === "pending" && e.seq === item.seq && e.msg && !this.#delayed?.has(e) &&
        this.#store.get(e.key) === e
      ) {
        return e;
      }
    }
  }

  /** Takes the next due message (lowest RV first) without waiting, or returns null. */
  tryNext(): AckLease | null {
    const e = this.#take(this.#clock.now());
    if (!e || !e.msg) return null;
    e.state = "inflight";
    return { entry: e, msg: e.msg, isDelete: e.isDelete };
  }

  /**
   * Calls `callback` once, synchronously, the next time a message may have become due (queued,
   * released, requeued, or a back-off passed); the consumer then calls {@link tryNext} again.
   * Registering the same callback twice before it runs registers it once. This is how a session
   * waits without a promise per message.
   */
  onReady(callback: () => void): void {
    if (this.#closed) return;
    if (!this.#readyCallbacks.includes(callback)) this.#readyCallbacks.push(callback);
    this.#armTimer();
  }

  /** Withdraws a callback registered with {@link onReady} (its consumer went away). */
  offReady(callback: () => void): void {
    const i = this.#readyCallbacks.indexOf(callback);
    if (i >= 0) this.#readyCallbacks.splice(i, 1);
  }

  /**
   * Takes the next pending message (lowest RV first) whose back-off has passed, waiting for one
   * ({@link onReady} as a promise). Rejects with the signal's reason when `signal` aborts.
   */
  async next(signal: AbortSignal): Promise<AckLease> {
    for (;;) {
      signal.throwIfAborted();
      const lease = this.tryNext();
      if (lease) return lease;
      await new Promise<void>((resolve, reject) => {
        const ready = () => {
          signal.removeEventListener("abort", aborted);
          resolve();
        };
        const aborted = () => {
          this.offReady(ready);
          reject(signal.reason);
        };
        signal.addEventListener("abort", aborted, { once: true });
        this.onReady(ready);
      });
    }
  }

  #wake(): void {
    if (this.#readyCallbacks.length === 0) return;
    const callbacks = this.#readyCallbacks;
    this.#readyCallbacks = [];
    for (const cb of callbacks) cb();
  }

  #armTimer(): void {
    let earliest = Infinity;
    const delayed = this.#delayed;
    if (delayed) { for (const e of delayed) if (e.notBefore < earliest) earliest = e.notBefore; }
    if (earliest === Infinity || earliest >= this.#timerAt) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = earliest;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#wake();
    }, Math.max(0, earliest - this.#clock.now()));
  }

  /** True while `lease` is still the message to deliver for its object (not replaced). */
  isCurrent(lease: AckLease): boolean {
    return this.#store.get(lease.entry.key) === lease.entry && lease.entry.msg === lease.msg;
  }

  /**
   * The edge acknowledged `lease.msg`: save the success point (ObjectSync status RV, or delete
   * the ObjectSync for a delete) and forget the message (§4.4 saveSuccessPoint).
   */
  acked(lease: AckLease): Promise<void> {
    const { entry, msg } = lease;
    const current = this.isCurrent(lease);
    if (current) {
      if (entry.isDelete) {
        this.#store.delete(entry.key);
      } else {
        entry.state = "delivered";
        entry.msg = null;
      }
      this.#waiting--;
      this.#onDepth(-1);
    }
    const key = entry.syncKey;
    if (msg.route.group !== Group.Resource || !key) return Promise.resolve();
    let write: Promise<void>;
    try {
      if (lease.isDelete) write = this.#sync.delete(key);
      else if (msg.header.resourceVersion) {
        write = this.#sync.upsertStatus(key, syncSpecOf(msg), msg.header.resourceVersion);
      } else return Promise.resolve();
    } catch (err) {
      write = Promise.reject(err);
    }
    // A store that folds ACKs into one write hands every one of them the same promise: one
    // handler per write, not one suspended call per ACK (thousands while a paced write waits).
    let quiet = quietWrites.get(write);
    if (!quiet) {
      quiet = write.catch((err) => {
        // The edge has the object; a failed write only means a resend after a hub restart.
        log.warn("saving the success point failed", {
          node: this.nodeId,
          name: key.name,
          error: err,
        });
      });
      quietWrites.set(write, quiet);
    }
    return quiet;
  }

  /** Five writes went unacknowledged: requeue with back-off (unless replaced meanwhile). */
  failed(lease: AckLease): void {
    if (!this.isCurrent(lease)) return;
    const e = lease.entry;
    e.failures++;
    const delay = Math.min(this.#capMs, this.#baseMs * 2 ** Math.min(e.failures - 1, 40));
    e.notBefore = this.#clock.now() + delay;
    e.state = "pending";
    (this.#delayed ??= new Set()).add(e);
    this.#wake();
  }

  /** The session ended while `lease` was in flight: make it pending again, without back-off. */
  release(lease: AckLease): void {
    if (!this.isCurrent(lease)) return;
    const e = lease.entry;
    e.state = "pending";
    this.#push({ entry: e, seq: e.seq, order: e.order });
    this.#wake();
  }

  /** A new session starts: whatever waits in back-off is due now. */
  resetBackoff(): void {
    const delayed = this.#delayed;
    if (delayed) {
      for (const e of delayed) {
        e.notBefore = 0;
        this.#push({ entry: e, seq: e.seq, order: e.order });
      }
      delayed.clear();
    }
    this.#wake();
  }

  /** Stops timers, drops what is pending, and wakes the consumers waiting (they find nothing). */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#onDepth(-this.#waiting);
    this.#waiting = 0;
    this.#heap?.clear();
    this.#delayed?.clear();
    this.#wake();
  }
}

export { ResourceVersionError };
export { ackKeyOf, isDeleteMessage, syncKeyOf, syncSpecOf };
