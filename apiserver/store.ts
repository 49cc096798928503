/**
 * Object storage on Deno KV with an in-memory read cache.
 *
 * Layout (one KV file per API):
 * - `["o", storage, namespace, name]` → the object's JSON bytes, or `{chunks}` when larger than one
 *   KV value, with the parts under `["c", storage, namespace, name, i]`;
 * - `["l", rv]` → one change-log entry per write (bounded: the entry `logSize` writes older is
 *   deleted in the same atomic commit);
 * - `["rv"]` → the last resourceVersion handed out.
 *
 * Every write gets the next global resourceVersion. Writes are queued and group-committed: each
 * queued mutation sees the result of the ones before it, and one KV atomic commit persists a
 * batch, so throughput scales with concurrency while resourceVersions stay strictly monotonic.
 * Reads and lists are served from memory (all objects are loaded at open), like the watch cache
 * of kube-apiserver.
 */
import { ApiError, gone, internal, tooLarge } from "./errors.ts";
import type { KObject } from "./resources.ts";
import { concat } from "../lib/mod.ts";

/** One object as stored: parsed (treat as read-only), serialized, and its resourceVersion. */
export interface StoredObject {
  readonly obj: KObject;
  readonly json: string;
  readonly rv: number;
  /** Number of KV chunks used (0 = inline). */
  readonly chunks: number;
}

/** A mutable copy of a stored object (parsed from its stored JSON, cheaper than a deep clone). */
export function cloneStored(o: StoredObject): KObject {
  return JSON.parse(o.json);
}

/** A watch event type. */
export type ChangeType = "ADDED" | "MODIFIED" | "DELETED";

/** One committed change. */
export interface ChangeEvent {
  readonly rv: number;
  readonly type: ChangeType;
  readonly storage: string;
  readonly namespace: string;
  readonly name: string;
  readonly obj: KObject;
  readonly json: string;
  /** The object before this change (absent for ADDED). */
  readonly prev?: KObject;
}

/** What a mutation decides, given the current object. */
export type MutationResult =
  | { kind: "put"; obj: KObject }
  | { kind: "delete" }
  | { kind: "noop" };

/** A pure function from the current object to the change; it may throw ApiError. */
export type Mutation = (current: StoredObject | undefined) => MutationResult;

/** The outcome of a mutation. */
export interface MutationOutcome {
  /** The object after the write (the deleted object, with the delete RV, for deletes). */
  object?: StoredObject;
  previous?: StoredObject;
  event?: ChangeEvent;
}

/** Options for {@link Store.open}. */
export interface StoreOptions {
  /** KV file path. */
  path: string;
  /** Change-log entries kept for watches (default 10,000). */
  logSize?: number;
  /** Largest serialized object accepted (default 700 KiB, under KV's 800 KiB commit cap). */
  maxObjectBytes?: number;
}

const CHUNK = 60_000;
const BATCH_MAX = 128;
const BATCH_BYTES = 400_000;
const enc = new TextEncoder();
const dec = new TextDecoder();

interface Pending {
  storage: string;
  namespace: string;
  name: string;
  fn: Mutation;
  dryRun: boolean;
  resolve: (o: MutationOutcome) => void;
  reject: (e: unknown) => void;
}

interface Staged {
  p: Pending;
  after: StoredObject | null;
  before: StoredObject | undefined;
}

/** A mutation's result, serialized: the object after it (null: deleted) and its event. */
interface Prepared {
  after: StoredObject | null;
  evObj: KObject;
  evJson: string;
  type: ChangeType;
  /** Share of a batch's byte budget. */
  cost: number;
}

interface LogRecord {
  t: ChangeType;
  s: string;
  n: string;
  m: string;
  o?: Uint8Array;
  /** Metadata-only stub when the object was too large to copy into the log. */
  p?: Uint8Array;
}

/** Thrown when the store is used after close. */
export class StoreClosedError extends Error {
  constructor() {
    super("store is closed");
    this.name = "StoreClosedError";
  }
}

function objKey(ns: string, name: string): string {
  return `${ns}/${name}`;
}

/** The KV-backed object store. */
export class Store {
  readonly #kv: Deno.Kv;
  readonly #logSize: number;
  readonly #maxObjectBytes: number;
  readonly #objects = new Map<string, Map<string, StoredObject>>();
  readonly #sorted = new Map<string, string[]>();
  #log: ChangeEvent[] = [];
  /** Events with rv > #oldest are all in #log. */
  #oldest = 0;
  #rv = 0;
  #queue: Pending[] = [];
  #pump: Promise<void> | undefined;
  #closed = false;
  readonly #subscribers = new Set<(ev: ChangeEvent) => void>();

  private constructor(kv: Deno.Kv, opts: StoreOptions) {
    this.#kv = kv;
    this.#logSize = opts.logSize ?? 10_000;
    this.#maxObjectBytes = opts.maxObjectBytes ?? 700 * 1024;
  }

  /** Opens (or creates) the KV file and loads every object and the persisted change log. */
  static async open(opts: StoreOptions): Promise<Store> {
    const kv = await Deno.openKv(opts.path);
    const store = new Store(kv, opts);
    try {
      await store.#load();
    } catch (e) {
      kv.close();
      throw e;
    }
    return store;
  }

  async #load(): Promise<void> {
    const rvEntry = await this.#kv.get<number>(["rv"]);
    this.#rv = rvEntry.value ?? 0;
    const chunks = new Map<string, Uint8Array[]>();
    for await (const e of this.#kv.list<Uint8Array>({ prefix: ["c"] })) {
      const [, s, n, m, i] = e.key as [string, string, string, string, number];
      const k = `${s}\u0000${n}\u0000${m}`;
      const parts = chunks.get(k) ?? [];
      parts[i] = e.value;
      chunks.set(k, parts);
    }
    for await (const e of this.#kv.list<Uint8Array | { chunks: number }>({ prefix: ["o"] })) {
      const [, s, n, m] = e.key as [string, string, string, string];
      let bytes: Uint8Array;
      let nChunks = 0;
      if (e.value instanceof Uint8Array) {
        bytes = e.value;
      } else {
        const parts = (chunks.get(`${s}\u0000${n}\u0000${m}`) ?? []).slice(0, e.value.chunks);
        nChunks = e.value.chunks;
        bytes = concat(parts);
      }
      const json = dec.decode(bytes);
      const obj = JSON.parse(json) as KObject;
      const rv = Number(obj.metadata?.resourceVersion ?? 0);
      this.#setMem(s, n, m, { obj, json, rv, chunks: nChunks });
    }
    // Rebuild the newest contiguous, fully known run of the change log.
    const records: { rv: number; rec: LogRecord }[] = [];
    for await (const e of this.#kv.list<LogRecord>({ prefix: ["l"] })) {
      records.push({ rv: e.key[1] as number, rec: e.value });
    }
    const events: ChangeEvent[] = [];
    let expect = this.#rv;
    for (let i = records.length - 1; i >= 0; i--) {
      const { rv, rec } = records[i];
      if (rv !== expect) break;
      let json: string | undefined;
      if (rec.o) json = dec.decode(rec.o);
      else {
        const cur = this.get(rec.s, rec.n, rec.m);
        if (cur && cur.rv === rv) json = cur.json;
        else if (rec.t === "DELETED" && rec.p) json = dec.decode(rec.p);
      }
      if (json === undefined) break;
      events.push({
        rv,
        type: rec.t,
        storage: rec.s,
        namespace: rec.n,
        name: rec.m,
        obj: JSON.parse(json),
        json,
      });
      expect--;
    }
    this.#log = events.reverse();
    this.#oldest = expect;
  }

  /** The last resourceVersion handed out. */
  get resourceVersion(): number {
    return this.#rv;
  }

  /** Watches may start from any RV ≥ this value; older ones get 410 Gone. */
  get oldestWatchable(): number {
    return this.#oldest;
  }

  /** One object, or undefined. */
  get(storage: string, namespace: string, name: string): StoredObject | undefined {
    return this.#objects.get(storage)?.get(objKey(namespace, name));
  }

  /** Objects of one storage, ordered by namespace/name; `namespace` narrows to one namespace. */
  list(storage: string, namespace?: string): StoredObject[] {
    const map = this.#objects.get(storage);
    if (!map) return [];
    let keys = this.#sorted.get(storage);
    if (!keys) {
      keys = [...map.keys()].sort();
      this.#sorted.set(storage, keys);
    }
    const out: StoredObject[] = [];
    if (namespace !== undefined) {
      const prefix = `${namespace}/`;
      let lo = 0, hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (keys[mid] < prefix) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < keys.length && keys[i].startsWith(prefix); i++) {
        out.push(map.get(keys[i])!);
      }
      return out;
    }
    for (const k of keys) out.push(map.get(k)!);
    return out;
  }

  /** Storage names that hold at least one object. */
  storages(): string[] {
    return [...this.#objects.keys()];
  }

  /**
   * Queues a mutation of one object. `fn` runs in commit order against the latest state; its
   * result is persisted with the next resourceVersion (unless `dryRun`).
   */
  mutate(
    storage: string,
    namespace: string,
    name: string,
    fn: Mutation,
    dryRun = false,
  ): Promise<MutationOutcome> {
    if (this.#closed) return Promise.reject(new StoreClosedError());
    return new Promise((resolve, reject) => {
      this.#queue.push({ storage, namespace, name, fn, dryRun, resolve, reject });
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#pump) return;
    this.#pump = this.#drain().catch((e) => {
      // Unreachable unless the store has a bug (every write's own failure is caught in #drain):
      // fail what is queued rather than restart a drain that throws again, forever.
      const err = internal(`store write loop failed: ${String((e as Error)?.message ?? e)}`);
      for (const p of this.#queue.splice(0)) p.reject(err);
    }).finally(() => {
      this.#pump = undefined;
      // Mutations queued by continuations of the last batch arrive after the drain loop's final
      // queue check but before this callback: restart for them.
      if (this.#queue.length) this.#kick();
    });
  }

  /**
   * Subscribes to changes after `fromRv`: logged events newer than it are replayed synchronously,
   * then live ones follow. Throws 410 Gone when `fromRv` is older than the change log.
   */
  subscribe(fromRv: number, listener: (ev: ChangeEvent) => void): () => void {
    if (fromRv < this.#oldest) {
      throw gone(`too old resource version: ${fromRv} (${this.#oldest + 1})`);
    }
    if (fromRv < this.#rv) {
      let lo = 0, hi = this.#log.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.#log[mid].rv <= fromRv) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < this.#log.length; i++) listener(this.#log[i]);
    }
    this.#subscribers.add(listener);
    return () => this.#subscribers.delete(listener);
  }

  async #drain(): Promise<void> {
    while (this.#queue.length) {
      const staged = new Map<string, Staged>();
      const done: { p: Pending; outcome: MutationOutcome }[] = [];
      const events: ChangeEvent[] = [];
      let rv = this.#rv;
      let bytes = 0;
      while (this.#queue.length && done.length < BATCH_MAX && bytes < BATCH_BYTES) {
        const p = this.#queue[0];
        const sk = `${p.storage}\u0000${p.namespace}\u0000${p.name}`;
        const st = staged.get(sk);
        const current = st ? (st.after ?? undefined) : this.get(p.storage, p.namespace, p.name);
        const nextRv = rv + 1;
        let prep: Prepared | undefined;
        try {
          prep = this.#prepare(p, current, nextRv);
        } catch (e) {
          // Whatever the mutation or its serialization throws fails this write alone.
          this.#queue.shift();
          p.reject(e);
          continue;
        }
        if (!prep) {
          this.#queue.shift();
          p.resolve({ object: current, previous: current });
          continue;
        }
        const { after, evObj, evJson, type } = prep;
        if (after?.chunks && done.length > 0) break; // large objects commit alone
        bytes += prep.cost;
        this.#queue.shift();
        if (p.dryRun) {
          p.resolve({
            object: after ?? { obj: evObj, json: evJson, rv: nextRv, chunks: 0 },
            previous: current,
          });
          continue;
        }
        rv = nextRv;
        const event: ChangeEvent = {
          rv,
          type,
          storage: p.storage,
          namespace: p.namespace,
          name: p.name,
          obj: evObj,
          json: evJson,
          prev: current?.obj,
        };
        events.push(event);
        // `before` is what KV holds now, so chunks the new value no longer uses get deleted.
        staged.set(sk, { p, after, before: st ? st.before : current });
        done.push({
          p,
          outcome: {
            object: after ?? { obj: evObj, json: evJson, rv, chunks: 0 },
            previous: current,
            event,
          },
        });
      }
      if (!events.length) {
        for (const d of done) d.p.resolve(d.outcome);
        continue;
      }
      try {
        await this.#commit(staged, events, rv);
      } catch (e) {
        const err = e instanceof ApiError ? e : internal(String((e as Error)?.message ?? e));
        for (const d of done) d.p.reject(err);
        continue;
      }
      try {
        this.#publish(staged, events, rv);
      } finally {
        for (const d of done) d.p.resolve(d.outcome);
      }
    }
  }

  /**
   * Runs `p`'s mutation against `current` and serializes the result as resourceVersion `rv`;
   * undefined for a no-op. Throws what the mutation throws, 413 for an object over the size
   * limit, and 500 for one that cannot be serialized (cyclic, BigInt, too deep for the stack).
   */
  #prepare(p: Pending, current: StoredObject | undefined, rv: number): Prepared | undefined {
    const res = p.fn(current);
    if (res.kind === "noop") return undefined;
    if (res.kind === "put") {
      const obj = res.obj;
      obj.metadata = { ...(obj.metadata ?? {}), resourceVersion: String(rv) };
      const json = serialize(obj);
      const size = enc.encode(json).byteLength;
      if (size > this.#maxObjectBytes) {
        throw tooLarge(
          `object is too large to store: ${size} bytes (limit ${this.#maxObjectBytes})`,
        );
      }
      const chunks = size > CHUNK ? Math.ceil(size / CHUNK) : 0;
      return {
        after: { obj, json, rv, chunks },
        evObj: obj,
        evJson: json,
        type: current ? "MODIFIED" : "ADDED",
        cost: chunks ? BATCH_BYTES : size * 2,
      };
    }
    if (!current) throw internal("delete of a missing object");
    const evObj = {
      ...current.obj,
      metadata: { ...current.obj.metadata, resourceVersion: String(rv) },
    };
    const evJson = serialize(evObj);
    return {
      after: null,
      evObj,
      evJson,
      type: "DELETED",
      cost: Math.min(evJson.length, CHUNK) + 200,
    };
  }

  /** Applies a committed batch to memory and the change log, and tells subscribers. */
  #publish(staged: Map<string, Staged>, events: ChangeEvent[], rv: number): void {
    this.#rv = rv;
    for (const { p, after } of staged.values()) {
      if (after) this.#setMem(p.storage, p.namespace, p.name, after);
      else this.#deleteMem(p.storage, p.namespace, p.name);
    }
    for (const ev of events) this.#log.push(ev);
    if (this.#log.length > this.#logSize) {
      const drop = this.#log.length - this.#logSize;
      this.#oldest = this.#log[drop - 1].rv;
      this.#log = this.#log.slice(drop);
    }
    for (const ev of events) {
      for (const s of this.#subscribers) {
        try {
          s(ev);
        } catch {
          // a failing watcher must not break the writer
        }
      }
    }
  }

  async #commit(
    staged: Map<string, Staged>,
    events: ChangeEvent[],
    rv: number,
  ): Promise<void> {
    const op = this.#kv.atomic();
    for (const { p, after, before } of staged.values()) {
      const base = ["o", p.storage, p.namespace, p.name];
      const oldChunks = before?.chunks ?? 0;
      if (!after) {
        op.delete(base);
      } else if (after.chunks === 0) {
        op.set(base, enc.encode(after.json));
      } else {
        const bytes = enc.encode(after.json);
        for (let i = 0; i < after.chunks; i++) {
          op.set(
            ["c", p.storage, p.namespace, p.name, i],
            bytes.subarray(i * CHUNK, (i + 1) * CHUNK),
          );
        }
        op.set(base, { chunks: after.chunks });
      }
      const keep = after?.chunks ?? 0;
      for (let i = keep; i < oldChunks; i++) op.delete(["c", p.storage, p.namespace, p.name, i]);
    }
    for (const ev of events) {
      const rec: LogRecord = { t: ev.type, s: ev.storage, n: ev.namespace, m: ev.name };
      if (ev.json.length <= CHUNK) {
        const b = enc.encode(ev.json);
        if (b.byteLength <= CHUNK) rec.o = b;
      }
      if (!rec.o) {
        rec.p = enc.encode(
          JSON.stringify({
            apiVersion: ev.obj.apiVersion,
            kind: ev.obj.kind,
            metadata: ev.obj.metadata,
          }),
        );
      }
      op.set(["l", ev.rv], rec);
      if (ev.rv - this.#logSize > 0) op.delete(["l", ev.rv - this.#logSize]);
    }
    op.set(["rv"], rv);
    const res = await op.commit();
    if (!res.ok) throw internal("storage commit failed");
  }

  #setMem(storage: string, ns: string, name: string, o: StoredObject): void {
    let map = this.#objects.get(storage);
    if (!map) {
      map = new Map();
      this.#objects.set(storage, map);
    }
    const k = objKey(ns, name);
    if (!map.has(k)) this.#sorted.delete(storage);
    map.set(k, o);
  }

  #deleteMem(storage: string, ns: string, name: string): void {
    const map = this.#objects.get(storage);
    if (map?.delete(objKey(ns, name))) this.#sorted.delete(storage);
  }

  /** Waits for queued writes, then closes the KV handle. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#pump) await this.#pump;
    this.#subscribers.clear();
    this.#kv.close();
  }
}

/** JSON of an object to store; 500 InternalError naming the cause when it has none. */
function serialize(obj: KObject): string {
  try {
    return JSON.stringify(obj);
  } catch (e) {
    throw internal(`the object cannot be serialized: ${String((e as Error)?.message ?? e)}`);
  }
}
