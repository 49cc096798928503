/**
 * {@link SyncStore} over a Kubernetes API (`reliablesyncs.kubeedge.io/v1alpha1` objectsyncs and
 * clusterobjectsyncs, status subresource): the same records cloudcore keeps, so edgecloud can
 * take over an existing cluster's reliable-sync state.
 *
 * Requests go through {@link KubeHttp} (raw JSON over Deno's fetch and one pooled HTTP client),
 * not client-node's `CustomObjectsApi`: client-node 1.4 opens a new `https.Agent`, so a new TLS
 * connection, for every call. With a record write per object per node, that handshake was the
 * hub's largest CPU cost in `deno task bench:latency --profile` (initClientTls, readBuffer).
 *
 * Like cloudcore (which reads through an informer's lister), lookups are served from memory: the
 * first `get` lists every record once, and the store's own writes keep the copy current (the
 * hub is the records' writer; the sync reconciler's deletes of a vanished object's record go
 * through the hub as delete messages). Writes are coalesced per record: while one is in flight,
 * later ones for the same record collapse into the newest state, and at most
 * `writeConcurrency` requests run at once, so an ACK burst cannot flood the API.
 *
 * Two lanes: a create (status RV "0", awaited by the ack queue before a message can be sent)
 * has its own `createConcurrency` slots, so it never queues behind the background writes that
 * save each ACK's success point. At 1,000 nodes those writes filled a shared queue and held
 * every new pod's first frame for seconds (docs/performance.md, latency).
 *
 * @example
 * ```ts
 * const kube = KubeClient.fromYaml(api.kubeconfigYaml);
 * const store = new KubeSyncStore(kube.http);
 * ```
 */
import { KubeApiError } from "./errors.ts";
import type { KubeHttp } from "./http.ts";
import {
  type ObjectSyncSpec,
  ReliableSyncsGroup,
  ReliableSyncsVersion,
  type SyncKey,
  type SyncObject,
  type SyncRecord,
  syncRecordOf,
  type SyncStore,
} from "./objectsync.ts";
import { Semaphore } from "../lib/mod.ts";
import { TokenBucket } from "./ratelimit.ts";

const group = ReliableSyncsGroup;
const version = ReliableSyncsVersion;

const base = `/apis/${group}/${version}`;

function isStatus(err: unknown, code: number): boolean {
  return err instanceof KubeApiError && err.code === code;
}

/** Where records of one namespace (or cluster-scoped ones, `null`) are created. */
function collectionPath(namespace: string | null): string {
  return namespace === null
    ? `${base}/clusterobjectsyncs`
    : `${base}/namespaces/${encodeURIComponent(namespace)}/objectsyncs`;
}

function recordPath(key: SyncKey): string {
  return `${collectionPath(key.namespace)}/${encodeURIComponent(key.name)}`;
}

/** Options of {@link KubeSyncStore}. */
export interface KubeSyncStoreOptions {
  /** Serve `get` from a copy listed once (default true). */
  cache?: boolean;
  /**
   * Background writes (ACK success points, deletes) in flight at once (default 4). Few on
   * purpose: they are not on any message's path, a queued write coalesces with the next one for
   * its record, and each one in flight takes API time from the send path. Measured with
   * `deno task bench:fanout --sync-write-concurrency N` (1,000 nodes, this 2-core machine): 4 →
   * ~97 ms per wave, 64 → ~155 ms.
   */
  writeConcurrency?: number;
  /** Creates (RV "0", on the send path) in flight at once, a lane of their own (default 16). */
  createConcurrency?: number;
  /**
   * How long a background write (an ACK's success point, a delete) waits before it starts, so
   * that further ACKs for the same record fold into one write (default 1 s; 0 writes at once,
   * as cloudcore does). A hot object updated ten times a second costs the API one write a
   * second per node instead of ten. The price: after a crash (SIGKILL, power loss), objects
   * acknowledged in the last `successPointDelayMs` are sent once more, which edges take as an
   * update to the version they have. {@link flush} (called by CloudHub's close) writes them at
   * once on a clean stop.
   */
  successPointDelayMs?: number;
  /**
   * Background writes started per second at most, after a burst of `successPointBurst`
   * (defaults 200/s and 50; `<= 0` unpaced). While a record waits, its later ACKs fold into one
   * write, so a fan-out of hot objects costs the API a bounded rate instead of one write per
   * record per `successPointDelayMs`. Against the embedded API each success point is a durable
   * commit (~0.3 ms of CPU, most of it the store's fsync); unpaced, 1,000 nodes acknowledging a
   * ConfigMap that changes several times a second spent a fifth of the hub's CPU on them
   * (`deno task bench:fanout`). Creates are never paced: a new object's first frame waits for
   * its record. The SyncController must see paced RVs through {@link pendingRv}.
   */
  successPointQps?: number;
  /** See {@link successPointQps}. */
  successPointBurst?: number;
  /**
   * Paced writes start on a shared grid of this many ms (default `writeConcurrency /
   * successPointQps`, at most 50 ms: 20 ms at the defaults; 0 starts each write at its own
   * token's time), so the few that come due within one step reach the API together and share
   * its storage commits. The rate stays `successPointQps`; a write starts at most one step later
   * than its token allows. One at a time, 5 ms apart, each status write was a KV commit of its
   * own: against the embedded API, 1,000 records kept dirty at 200 writes/s cost the process
   * ~640 ms of CPU per 5 s, on the 20 ms grid ~500 ms.
   */
  successPointTickMs?: number;
}

function cacheKey(key: SyncKey): string {
  return `${key.namespace ?? ""}/${key.name}`;
}

/** The default grid of paced writes is at most this coarse (ms), whatever the rate. */
const MAX_DEFAULT_TICK_MS = 50;

/** A key's {@link cacheKey}, with the namespace and name it was built from. */
interface MemoKey {
  namespace: string | null;
  name: string;
  k: string;
}

/**
 * {@link cacheKey} by SyncKey object. The ack queue hands the same SyncKey for every ACK of an
 * object on a node; a fresh `ns/name` string per call had to be built and hashed again for each
 * of the store's map lookups (its copy, its writers, its deferred set). The memo is checked
 * against the key's fields, so a caller that reuses a SyncKey object with other values gets the
 * right string.
 */
const memoKeys = new WeakMap<SyncKey, MemoKey>();

function keyOf(key: SyncKey): string {
  const m = memoKeys.get(key);
  if (m && m.name === key.name && m.namespace === key.namespace) return m.k;
  const k = cacheKey(key);
  memoKeys.set(key, { namespace: key.namespace, name: key.name, k });
  return k;
}

/** The state a record should reach: a status RV, or gone. */
type Desired = { kind: "status"; spec: ObjectSyncSpec; rv: string } | { kind: "delete" };

interface KeyWriter {
  key: SyncKey;
  desired: Desired;
  /**
   * The callers since the last write started share one promise, settled by the next write (at
   * least as new as what they asked for). One per write, not per call: a record waiting for
   * its turn may fold thousands of ACKs.
   */
  next: PromiseWithResolvers<void> | undefined;
  /** A waiter is on the send path (a create): the next write takes the create lane. */
  urgent: boolean;
  running: boolean;
}

/** Status RV "0": the ack queue's "create the record" (see `#upsertNow`). */
function isCreate(desired: Desired): boolean {
  return desired.kind === "status" && desired.rv === "0";
}

/**
 * The newest state wins, except that a create ("0") never replaces a status RV already set
 * (KubeEdge #4925: an acknowledged RV must not move back).
 */
function merge(current: Desired | undefined, next: Desired): Desired {
  if (current?.kind === "status" && current.rv !== "0" && isCreate(next)) return current;
  return next;
}

/** Applies `desired` to the copy `map` under `k` ({@link keyOf} of `key`). */
function applyDesired(
  map: Map<string, SyncRecord>,
  k: string,
  key: SyncKey,
  desired: Desired,
): void {
  if (desired.kind === "delete") {
    map.delete(k);
    return;
  }
  const existing = map.get(k);
  // A create never moves an RV the copy already holds back (#4925; see merge()).
  if (isCreate(desired) && existing?.resourceVersion) return;
  if (existing) {
    // In place: one ACK per object per node lands here; `get` hands out copies.
    existing.resourceVersion = desired.rv;
    return;
  }
  map.set(k, {
    namespace: key.namespace,
    name: key.name,
    spec: { ...desired.spec },
    resourceVersion: desired.rv,
  });
}

/** ObjectSync records in a Kubernetes API; see module docs. */
export class KubeSyncStore implements SyncStore {
  readonly #http: KubeHttp;
  readonly #useCache: boolean;
  #cache: Map<string, SyncRecord> | undefined;
  #loading: Promise<Map<string, SyncRecord>> | undefined;
  readonly #writers = new Map<string, KeyWriter>();
  /** Background writes: ACK success points and deletes. */
  readonly #background: Semaphore;
  /** Creates awaited on the send path; never behind background writes. */
  readonly #creates: Semaphore;
  readonly #delayMs: number;
  /** Background writers waiting for the next flush (see `successPointDelayMs`). */
  #deferred = new Map<string, KeyWriter>();
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  /** Resolved when no writer is left (see flush). */
  #idle: Array<() => void> = [];
  /** Paces background writes (see `successPointQps`). */
  readonly #pace: TokenBucket;
  /** The grid paced writes start on (ms; 0: none). */
  readonly #tickMs: number;
  /** One timer per grid point writes wait for, by its time (performance.now() ms). */
  readonly #gates = new Map<number, Promise<void>>();
  /** Set by flush(): the remaining writes go out unpaced (the hub is stopping). */
  #flushing = false;

  /** @param http the raw JSON client of the hub's `KubeClient` (`kube.http`); it owns the pool. */
  constructor(http: KubeHttp, opts: KubeSyncStoreOptions = {}) {
    this.#http = http;
    this.#useCache = opts.cache ?? true;
    this.#background = new Semaphore(opts.writeConcurrency ?? 4);
    this.#creates = new Semaphore(opts.createConcurrency ?? 16);
    this.#delayMs = Math.max(0, opts.successPointDelayMs ?? 1000);
    const qps = opts.successPointQps ?? 200;
    this.#pace = new TokenBucket(qps, opts.successPointBurst ?? 50);
    // More than `slots / qps` apart, the slots (held while a write waits) would cap the rate.
    this.#tickMs = Math.max(
      0,
      opts.successPointTickMs ??
        (qps > 0 ? Math.min(MAX_DEFAULT_TICK_MS, (this.#background.size / qps) * 1000) : 0),
    );
  }

  /** Records whose write waits for the success-point delay (not started yet). */
  get heldBack(): number {
    return this.#deferred.size;
  }

  /** Starts every deferred write now and waits until all writes in progress are done. */
  async flush(): Promise<void> {
    this.#flushing = true;
    this.#startDeferred();
    if (this.#writers.size === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #startDeferred(): void {
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const due = this.#deferred;
    this.#deferred = new Map();
    for (const [k, w] of due) if (!w.running) void this.#drain(k, w);
  }

  async #loadCache(): Promise<Map<string, SyncRecord>> {
    if (this.#cache) return this.#cache;
    this.#loading ??= this.list().then((records) => {
      const map = new Map<string, SyncRecord>();
      for (const r of records) map.set(cacheKey(r), r);
      // Writes made while the list was in flight win over what it returned.
      for (const [k, w] of this.#writers) applyDesired(map, k, w.key, w.desired);
      this.#cache = map;
      return map;
    }).finally(() => {
      this.#loading = undefined;
    });
    return await this.#loading;
  }

  /** Records the desired state and makes sure a writer for the key runs; resolves when written. */
  #write(key: SyncKey, desired: Desired): Promise<void> {
    const k = keyOf(key);
    if (this.#cache) applyDesired(this.#cache, k, key, desired);
    let w = this.#writers.get(k);
    if (!w) {
      w = { key, desired, next: undefined, urgent: false, running: false };
      this.#writers.set(k, w);
    }
    w.desired = merge(w.desired, desired);
    if (isCreate(desired)) w.urgent = true;
    w.next ??= Promise.withResolvers<void>();
    const done = w.next.promise;
    if (w.running) return done;
    if (w.urgent || this.#delayMs === 0) {
      this.#deferred.delete(k);
      void this.#drain(k, w);
    } else if (!this.#deferred.has(k)) {
      this.#deferred.set(k, w);
      this.#flushTimer ??= setTimeout(() => {
        this.#flushTimer = undefined;
        this.#startDeferred();
      }, this.#delayMs);
    }
    return done;
  }

  async #drain(k: string, w: KeyWriter): Promise<void> {
    w.running = true;
    while (w.next) {
      const urgent = w.urgent;
      const lane = urgent ? this.#creates : this.#background;
      w.urgent = false;
      let batch: PromiseWithResolvers<void> | undefined;
      try {
        await lane.run(async () => {
          if (!urgent) await this.#paced();
          // Taken after the wait: ACKs that came meanwhile fold into this write.
          batch = w.next;
          w.next = undefined;
          const desired = w.desired;
          if (desired.kind === "delete") await this.#deleteNow(w.key);
          else await this.#upsertNow(w.key, desired.spec, desired.rv);
        });
        batch?.resolve();
      } catch (err) {
        (batch ?? w.next)?.reject(err);
        if (!batch) w.next = undefined;
      }
    }
    w.running = false;
    if (this.#writers.get(k) === w) this.#writers.delete(k);
    if (this.#writers.size === 0 && this.#idle.length > 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  /**
   * The status RV a record is about to be written to: a success point held back or paced, not
   * yet in the API (undefined when nothing is pending). The SyncController compares against it
   * too, or it would resend every object whose ACK has not reached the API yet.
   */
  pendingRv(key: SyncKey): string | undefined {
    const w = this.#writers.get(keyOf(key));
    return w?.desired.kind === "status" ? w.desired.rv : undefined;
  }

  /**
   * Waits for a background-write token unless flush() has started; a write that must wait
   * starts at the next grid point after its token (see `successPointTickMs`), woken by one timer
   * together with the others due there.
   */
  async #paced(): Promise<void> {
    if (this.#flushing) return;
    const wait = this.#pace.reserve();
    if (wait <= 0) return;
    const tick = this.#tickMs;
    if (tick <= 0) {
      await new Promise((resolve) => setTimeout(resolve, wait));
      return;
    }
    const now = performance.now();
    const at = Math.ceil((now + wait) / tick) * tick;
    let gate = this.#gates.get(at);
    if (!gate) {
      gate = new Promise<void>((resolve) =>
        setTimeout(() => {
          this.#gates.delete(at);
          resolve();
        }, at - now)
      );
      this.#gates.set(at, gate);
    }
    await gate;
  }

  async #getRaw(key: SyncKey): Promise<SyncObject | null> {
    try {
      return await this.#http.request<SyncObject>("GET", recordPath(key));
    } catch (err) {
      if (isStatus(err, 404)) return null;
      throw err;
    }
  }

  async get(key: SyncKey): Promise<SyncRecord | null> {
    if (this.#useCache) {
      const rec = (await this.#loadCache()).get(keyOf(key));
      return rec ? { ...rec, spec: { ...rec.spec } } : null;
    }
    const obj = await this.#getRaw(key);
    return obj ? syncRecordOf(obj, key.namespace) : null;
  }

  async #create(key: SyncKey, spec: ObjectSyncSpec): Promise<void> {
    const body: SyncObject = {
      apiVersion: `${group}/${version}`,
      kind: key.namespace === null ? "ClusterObjectSync" : "ObjectSync",
      metadata: key.namespace === null
        ? { name: key.name }
        : { name: key.name, namespace: key.namespace },
      spec: { ...spec },
    };
    await this.#http.send("POST", collectionPath(key.namespace), { body });
  }

  /** POST; a record that exists already (409) is left as it is. */
  async #createUnlessExists(key: SyncKey, spec: ObjectSyncSpec): Promise<void> {
    try {
      await this.#create(key, spec);
    } catch (err) {
      if (!isStatus(err, 409)) throw err;
    }
  }

  /** Sets the record's status RV (creating the record if missing); coalesced per record. */
  upsertStatus(key: SyncKey, spec: ObjectSyncSpec, resourceVersion: string): Promise<void> {
    return this.#write(key, { kind: "status", spec: { ...spec }, rv: resourceVersion });
  }

  /** Deletes the record; a missing record is not an error. */
  delete(key: SyncKey): Promise<void> {
    return this.#write(key, { kind: "delete" });
  }

  /**
   * "0" (the ack queue's "create the record" for an object it believes is new) is one POST: the
   * record's existence is what marks the object as sent-but-unacknowledged, and a record with no
   * status reads as "0". KubeEdge follows the create with an UpdateStatus to "0"; skipping it
   * takes one API round trip off every new object's path to the edge and one write off the API
   * (the ACK's status write comes next anyway). A record that exists already is left alone: it
   * holds "0" or an acknowledged RV, which must never move back (KubeEdge #4925).
   *
   * Any other RV is one merge patch of the status subresource (KubeEdge: get + UpdateStatus,
   * two round trips and a 409 to retry when two writers race). A patch needs no read and no
   * resourceVersion precondition; this store is the record's only writer and orders its own
   * writes per record (see `merge`). A missing record (404) is created first.
   */
  async #upsertNow(key: SyncKey, spec: ObjectSyncSpec, resourceVersion: string): Promise<void> {
    if (resourceVersion === "0") {
      await this.#createUnlessExists(key, spec);
      return;
    }
    const patch = { status: { objectResourceVersion: resourceVersion } };
    const opts = { body: patch, contentType: "application/merge-patch+json" };
    try {
      await this.#http.send("PATCH", `${recordPath(key)}/status`, opts);
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
      await this.#createUnlessExists(key, spec);
      await this.#http.send("PATCH", `${recordPath(key)}/status`, opts);
    }
  }

  async #deleteNow(key: SyncKey): Promise<void> {
    try {
      await this.#http.send("DELETE", recordPath(key), { query: { gracePeriodSeconds: 0 } });
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
  }

  async list(): Promise<SyncRecord[]> {
    type List = { items?: SyncObject[] };
    const namespaced = await this.#http.request<List>("GET", `${base}/objectsyncs`);
    const cluster = await this.#http.request<List>("GET", `${base}/clusterobjectsyncs`);
    return [
      ...(namespaced.items ?? []).map((o) => syncRecordOf(o, o.metadata?.namespace ?? "")),
      ...(cluster.items ?? []).map((o) => syncRecordOf(o, null)),
    ];
  }
}
