/**
 * A list+watch informer with an explicit sync signal, like client-go's SharedInformer with
 * resync 0.
 *
 * Why not client-node's `makeInformer`: its ListWatch has no `hasSynced`, gives up for good on
 * the first list/watch error, and parses list results into model classes. This one lists and
 * watches raw JSON, re-lists on 410 Gone, retries everything else with capped back-off while
 * logging, and `stop()` waits until the loop has really ended.
 */
import { createLogger, sleep } from "../lib/mod.ts";
import { isGone, KubeApiError } from "./errors.ts";
import type { KubeHttp } from "./http.ts";
import { type KubeList, type KubeObject, objectKey, type WatchEvent } from "./types.ts";

const log = createLogger("kube");

/** Handlers; they may be async — the informer awaits them in event order. */
export interface InformerHandlers<T extends KubeObject> {
  add?: (obj: T) => void | Promise<void>;
  update?: (obj: T, old: T) => void | Promise<void>;
  delete?: (obj: T) => void | Promise<void>;
}

/** Informer settings. */
export interface InformerOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** For log lines (default: the path). */
  name?: string;
  /** TypeMeta to stamp on objects (list items carry none). */
  kind?: string;
  apiVersion?: string;
  /** Server-side watch timeout in seconds (default: random 300–600 like client-go). */
  watchTimeoutSeconds?: number;
  /** First retry delay in ms (default 200); doubles up to `maxBackoffMs` (default 5000). */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** Lists a path; defaults to a raw GET of the informer's path. */
export type ListFn<T extends KubeObject> = (
  query: Record<string, string | undefined>,
  signal: AbortSignal,
) => Promise<KubeList<T>>;

/** See module docs. */
export class Informer<T extends KubeObject = KubeObject> {
  readonly #http: KubeHttp;
  readonly #listFn: ListFn<T>;
  readonly #opts: InformerOptions;
  readonly #store = new Map<string, T>();
  readonly #handlers: InformerHandlers<T>[] = [];
  readonly #abort = new AbortController();
  #loop?: Promise<void>;
  #rv = "";
  #synced = false;
  #watches = 0;
  #resolveSynced!: () => void;
  #rejectSynced!: (err: Error) => void;
  /** Resolves after the first complete list has been delivered to the handlers. */
  readonly synced: Promise<void>;
  readonly name: string;

  constructor(
    http: KubeHttp,
    readonly path: string,
    listFn: ListFn<T> | undefined,
    opts: InformerOptions = {},
  ) {
    this.#http = http;
    this.#opts = opts;
    this.name = opts.name ?? path;
    this.#listFn = listFn ??
      ((query, signal) => http.request<KubeList<T>>("GET", path, { query, signal }));
    this.synced = new Promise<void>((resolve, reject) => {
      this.#resolveSynced = resolve;
      this.#rejectSynced = reject;
    });
    // stop() before sync rejects `synced`; nobody may be awaiting it, so never unhandled.
    this.synced.catch(() => {});
  }

  /** Registers handlers (before `start()`, to see the initial list as adds). */
  on(handlers: InformerHandlers<T>): this {
    this.#handlers.push(handlers);
    return this;
  }

  /** True once the initial list has been delivered. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** Starts the list/watch loop (idempotent). */
  start(): this {
    if (!this.#loop) this.#loop = this.#run();
    return this;
  }

  /** Stops the loop and waits for it to end; `synced` rejects if it never synced. */
  async stop(): Promise<void> {
    if (!this.#abort.signal.aborted) this.#abort.abort(new Error("informer stopped"));
    if (!this.#synced) this.#rejectSynced(new Error(`informer ${this.name} stopped before sync`));
    await this.#loop;
  }

  get stopped(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Cached object by name (and namespace). */
  get(name: string, namespace?: string): T | undefined {
    return this.#store.get(namespace ? `${namespace}/${name}` : name);
  }

  /** Cached objects, optionally of one namespace. */
  list(namespace?: string): T[] {
    const all = [...this.#store.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  /** Watch requests opened so far (a re-watch after a server timeout counts again). */
  get watchCount(): number {
    return this.#watches;
  }

  /** The last resourceVersion seen. */
  get resourceVersion(): string {
    return this.#rv;
  }

  #stamp(obj: T): T {
    if (this.#opts.kind && !obj.kind) obj.kind = this.#opts.kind;
    if (this.#opts.apiVersion && !obj.apiVersion) obj.apiVersion = this.#opts.apiVersion;
    return obj;
  }

  async #emit(kind: "add" | "update" | "delete", obj: T, old?: T): Promise<void> {
    for (const h of this.#handlers) {
      try {
        if (kind === "add") await h.add?.(obj);
        else if (kind === "update") await h.update?.(obj, old as T);
        else await h.delete?.(obj);
      } catch (err) {
        log.error("informer handler failed", {
          informer: this.name,
          event: kind,
          key: objectKey(obj),
          error: err,
        });
      }
    }
  }

  #selectors(): Record<string, string | undefined> {
    return { labelSelector: this.#opts.labelSelector, fieldSelector: this.#opts.fieldSelector };
  }

  async #list(signal: AbortSignal): Promise<void> {
    const list = await this.#listFn(this.#selectors(), signal);
    const fresh = new Map<string, T>();
    for (const item of list.items ?? []) fresh.set(objectKey(item), this.#stamp(item));
    // Replace semantics: objects gone since the last list are deleted.
    for (const [key, old] of [...this.#store]) {
      if (!fresh.has(key)) {
        this.#store.delete(key);
        await this.#emit("delete", old);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.#store.get(key);
      this.#store.set(key, obj);
      if (!old) await this.#emit("add", obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) {
        await this.#emit("update", obj, old);
      }
    }
    this.#rv = list.metadata?.resourceVersion ?? "";
    if (!this.#synced) {
      this.#synced = true;
      this.#resolveSynced();
      log.info("informer synced", { informer: this.name, objects: this.#store.size });
    }
  }

  async #onEvent(ev: WatchEvent<T>): Promise<void> {
    const obj = ev.object;
    if (ev.type === "ERROR") {
      const code = (obj as unknown as { code?: number }).code;
      throw new KubeApiError(code ?? 500, obj as never, "WATCH", this.path);
    }
    const rv = obj?.metadata?.resourceVersion;
    if (rv) this.#rv = rv;
    if (ev.type === "BOOKMARK") return;
    this.#stamp(obj);
    const key = objectKey(obj);
    const old = this.#store.get(key);
    if (ev.type === "DELETED") {
      this.#store.delete(key);
      await this.#emit("delete", obj);
    } else if (!old) {
      this.#store.set(key, obj);
      await this.#emit("add", obj);
    } else {
      this.#store.set(key, obj);
      await this.#emit("update", obj, old);
    }
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    const base = this.#opts.backoffMs ?? 200;
    const cap = this.#opts.maxBackoffMs ?? 5000;
    let delay = base;
    while (!signal.aborted) {
      try {
        if (!this.#rv) await this.#list(signal);
        const started = Date.now();
        let events = 0;
        this.#watches++;
        await this.#http.watch<T>(
          this.path,
          { ...this.#selectors(), resourceVersion: this.#rv, allowWatchBookmarks: "true" },
          (ev) => {
            events++;
            return this.#onEvent(ev);
          },
          signal,
          // client-go's choice: a random 5–10 min, so re-watches of many informers spread out.
          this.#opts.watchTimeoutSeconds ?? Math.floor(300 + Math.random() * 300),
        );
        delay = base; // a watch that ended normally: re-watch from the last RV at once
        // ...unless the server keeps closing empty watches at once: don't spin.
        if (events === 0 && Date.now() - started < 1000) await sleep(base, signal);
      } catch (err) {
        if (signal.aborted) break;
        if (isGone(err)) {
          log.info("watch expired, re-listing", { informer: this.name, rv: this.#rv });
          this.#rv = "";
          continue;
        }
        log.warn("list/watch failed, retrying", {
          informer: this.name,
          retryInMs: delay,
          error: err,
        });
        try {
          await sleep(delay, signal);
        } catch {
          break;
        }
        delay = Math.min(cap, delay * 2);
      }
    }
  }
}
