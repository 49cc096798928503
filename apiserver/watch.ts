/**
 * Watch streams: newline-delimited `{"type":…,"object":…}` events over a chunked HTTP response,
 * as kube-apiserver sends them. Supports initial state (resourceVersion "" or "0"), resuming from
 * a resourceVersion (410 Gone as an ERROR event when older than the change log), bookmarks,
 * `sendInitialEvents`, `timeoutSeconds`, selectors (objects moving in or out of the selection
 * become ADDED or DELETED) and Table output for `kubectl get -w`.
 *
 * Back-pressure: a watch sends only what its client reads. Events the client has not read yet
 * wait in the watch's own queue, bounded in bytes ({@link WatchSet.maxBufferBytes}); a client that
 * falls further behind has its watch ended, as kube-apiserver's cacher ends a cacheWatcher that
 * cannot keep up. Queued events are encoded only when read, so they hold the store's JSON (shared
 * with its change log and every other watch) rather than a copy each.
 */
import { ApiError } from "./errors.ts";
import { apiVersionOf, type KObject, storageKey } from "./resources.ts";
import type { Rest, Target } from "./rest.ts";
import type { ChangeEvent, Store } from "./store.ts";
import { toTable } from "./table.ts";
import { createLogger } from "../lib/mod.ts";

const log = createLogger("apiserver");

/**
 * Default bound of one watch's unread events: 16 MiB, counted by serialized size.
 *
 * kube-apiserver gives each cacheWatcher a channel of 10 to 1,000 events (100 for a watch its
 * cache cannot index), and when a channel stays full past a dispatch budget of about 100 ms it
 * ends the watcher (`forget`, counted in `apiserver_terminated_watchers_total`); the client sees
 * its stream end and watches again from its last resourceVersion, or re-lists on 410 Gone.
 * Counting bytes rather than events makes large objects weigh by size. 16 MiB holds about 1,000
 * events of typical 2 to 16 KiB objects (kube's largest channel) or 200 of 80 KiB, and over
 * three of the store's largest commit batches (7 objects of up to 700 KiB, delivered together
 * before any reader can run), so a client that keeps reading is not cut off by one burst. The
 * blocking add with a time budget has no counterpart here: store listeners run synchronously and
 * nothing drains while they do, so waiting would only stall the writer; the bound is the whole
 * allowance.
 */
export const DEFAULT_WATCH_BUFFER_BYTES = 16 * 1024 * 1024;

/** Options for one watch. */
export interface WatchOptions {
  /** Bookmark period when the client allows bookmarks. */
  bookmarkMs: number;
  /** Answer with Table rows instead of objects. */
  table: boolean;
  includeObject: string | null;
}

/** Options of {@link WatchSet}. */
export interface WatchSetOptions {
  /** Bound of one watch's unread events in bytes (default {@link DEFAULT_WATCH_BUFFER_BYTES}). */
  maxBufferBytes?: number;
}

/** Counters of a {@link WatchSet}. */
export interface WatchStats {
  /** Watches open now. */
  open: number;
  /** Bytes of events queued and not yet read, over all watches. */
  bufferedBytes: number;
  /**
   * The most one watch has ever had queued: at most {@link WatchSet.maxBufferBytes}, except that
   * an empty queue always takes one event, however large.
   */
  peakBufferedBytes: number;
  /** Watches ended because their client fell more than the bound behind. */
  slowWatchesEnded: number;
}

/** Open watch streams (so the server can end them all at close), their bound and counters. */
export class WatchSet {
  readonly #closers = new Set<() => void>();
  /** Bound of one watch's unread events, in bytes. */
  readonly maxBufferBytes: number;
  #buffered = 0;
  #peak = 0;
  #slowEnded = 0;

  constructor(opts: WatchSetOptions = {}) {
    const max = opts.maxBufferBytes ?? DEFAULT_WATCH_BUFFER_BYTES;
    if (!(max > 0)) throw new RangeError(`maxBufferBytes must be positive, got ${max}`);
    this.maxBufferBytes = max;
  }
  /** Registers a closer; returns its unregister function. */
  add(close: () => void): () => void {
    this.#closers.add(close);
    return () => this.#closers.delete(close);
  }
  /** Number of open watches. */
  get size(): number {
    return this.#closers.size;
  }
  /** Ends every open watch. */
  closeAll(): void {
    for (const c of [...this.#closers]) c();
    this.#closers.clear();
  }
  /** Notes that one watch's queue changed by `delta` bytes, to `total`. */
  noteBuffered(delta: number, total: number): void {
    this.#buffered += delta;
    if (total > this.#peak) this.#peak = total;
  }
  /** Counts a watch ended for falling behind. */
  noteSlowEnded(): void {
    this.#slowEnded++;
  }
  /** Current counters. */
  stats(): WatchStats {
    return {
      open: this.#closers.size,
      bufferedBytes: this.#buffered,
      peakBufferedBytes: this.#peak,
      slowWatchesEnded: this.#slowEnded,
    };
  }
}

const enc = new TextEncoder();

/** An event the client has not read: a ready line, or an object encoded when read. */
type Queued =
  | { readonly size: number; readonly line: Uint8Array }
  | { readonly size: number; readonly type: string; readonly obj: KObject; readonly json: string };

/** Bytes a queued object event counts for: its JSON plus the `{"type":…,"object":…}` wrapper. */
const EVENT_OVERHEAD = 32;

/** Starts a watch and returns its streaming Response. */
export function serveWatch(
  store: Store,
  rest: Rest,
  t: Target,
  q: URLSearchParams,
  set: WatchSet,
  opts: WatchOptions,
): Response {
  const def = t.def;
  const storage = storageKey(def);
  const ns = def.namespaced ? t.namespace : "";
  const selector = rest.selector(q);
  const nameFilter = t.name;
  const matches = (o: KObject | undefined): boolean => {
    if (!o) return false;
    const m = o.metadata ?? {};
    if (def.namespaced && ns && m.namespace !== ns) return false;
    if (nameFilter && m.name !== nameFilter) return false;
    return selector(o);
  };
  const rvParam = q.get("resourceVersion") ?? "";
  const wantBookmarks = q.get("allowWatchBookmarks") === "true";
  const sendInitial = q.get("sendInitialEvents") === "true";
  const timeoutSeconds = Number(q.get("timeoutSeconds") ?? 0);
  let firstTable = true;

  const encodeObject = (o: KObject, json?: string): string => {
    if (opts.table) {
      const tbl = toTable(
        def,
        [rest.presentObject(def, o)],
        o.metadata?.resourceVersion ?? "",
        opts.includeObject,
        firstTable,
      );
      firstTable = false;
      return JSON.stringify(tbl);
    }
    const av = apiVersionOf(def);
    if (json !== undefined && o.apiVersion === av && o.kind === def.kind) return json;
    return JSON.stringify({ ...o, apiVersion: av, kind: def.kind });
  };
  const line = (type: string, objectJson: string) =>
    enc.encode(`{"type":"${type}","object":${objectJson}}\n`);
  const render = (e: Queued): Uint8Array =>
    "line" in e ? e.line : line(e.type, encodeObject(e.obj, e.json));

  let ctl!: ReadableStreamDefaultController<Uint8Array>;
  /**
   * What the watch starts with, sent before anything queued: the initial objects or the change-log
   * replay. Not bounded (kube sends these apart from the watcher's channel too): they are
   * references to objects the store holds anyway, and cutting them off would leave the client
   * nothing to resume from.
   */
  let backlog: Queued[] = [];
  let nextBacklog = 0;
  /** While true (inside `start`), events go to the backlog. */
  let replaying = true;
  /** Live events not yet read; at most `set.maxBufferBytes` of them. */
  let queue: (Queued | undefined)[] = [];
  let head = 0;
  let bytes = 0;
  /** open → ending (takes no more events, sends what is queued) → closed. */
  let state: "open" | "ending" | "closed" = "open";
  /** A read is pending and nothing was ready: the next event goes straight to it. */
  let waiting = false;
  let unsubscribe = () => {};
  let unregister = () => {};
  let timer: ReturnType<typeof setTimeout> | undefined;
  let bookmark: ReturnType<typeof setInterval> | undefined;

  /** The next line to send, if any. */
  const take = (): Uint8Array | undefined => {
    if (nextBacklog < backlog.length) return render(backlog[nextBacklog++]);
    backlog = [];
    nextBacklog = 0;
    if (head === queue.length) return undefined;
    const e = queue[head]!;
    queue[head++] = undefined;
    if (head === queue.length) {
      queue = [];
      head = 0;
    } else if (head >= 1024 && head * 2 >= queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
    bytes -= e.size;
    set.noteBuffered(-e.size, bytes);
    return render(e);
  };
  const finish = () => {
    state = "closed";
    waiting = false;
    try {
      ctl.close();
    } catch {
      // already closed or cancelled by the client
    }
  };
  /** Stops taking events; ends the stream now when `drop` (queue released) or nothing is left. */
  const end = (drop: boolean) => {
    if (state === "closed") return;
    if (state === "open") {
      state = "ending";
      unsubscribe();
      unregister();
      if (timer !== undefined) clearTimeout(timer);
      if (bookmark !== undefined) clearInterval(bookmark);
    }
    if (drop) {
      set.noteBuffered(-bytes, 0);
      queue = [];
      head = bytes = 0;
      backlog = [];
      nextBacklog = 0;
    }
    if (drop || waiting) finish();
  };
  const push = (e: Queued) => {
    if (state !== "open") return;
    if (replaying) {
      backlog.push(e);
      return;
    }
    if (waiting) {
      waiting = false;
      ctl.enqueue(render(e));
      return;
    }
    if (bytes > 0 && bytes + e.size > set.maxBufferBytes) {
      log.warn("watch ended: client too slow", {
        resource: storage,
        ...(ns ? { namespace: ns } : {}),
        bufferedBytes: bytes,
        bufferedEvents: queue.length - head,
        limitBytes: set.maxBufferBytes,
      });
      set.noteSlowEnded();
      end(true);
      return;
    }
    queue.push(e);
    bytes += e.size;
    set.noteBuffered(e.size, bytes);
  };
  const pushLine = (l: Uint8Array) => push({ size: l.byteLength, line: l });
  const pushObject = (type: string, obj: KObject, json: string) =>
    push({ size: json.length + EVENT_OVERHEAD, type, obj, json });

  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      ctl = controller;
      unregister = set.add(() => end(false));
      const sendBookmark = (initialEnd = false) => {
        const meta: Record<string, unknown> = { resourceVersion: String(store.resourceVersion) };
        if (initialEnd) meta.annotations = { "k8s.io/initial-events-end": "true" };
        pushLine(
          line(
            "BOOKMARK",
            JSON.stringify({ kind: def.kind, apiVersion: apiVersionOf(def), metadata: meta }),
          ),
        );
      };
      const onEvent = (ev: ChangeEvent) => {
        if (ev.storage !== storage) return;
        if (ns && ev.namespace !== ns) return;
        const now = matches(ev.obj);
        const before = ev.type === "MODIFIED" && ev.prev ? matches(ev.prev) : now;
        if (ev.type === "MODIFIED" && now !== before) {
          pushObject(now ? "ADDED" : "DELETED", ev.obj, ev.json);
          return;
        }
        if (!now) return;
        pushObject(ev.type, ev.obj, ev.json);
      };
      try {
        if (rvParam === "" || rvParam === "0" || sendInitial) {
          const from = store.resourceVersion;
          const snapshot = nameFilter
            ? [store.get(storage, ns, nameFilter)].filter((x) => x !== undefined)
            : store.list(storage, ns || undefined);
          for (const o of snapshot) if (matches(o.obj)) pushObject("ADDED", o.obj, o.json);
          if (sendInitial && wantBookmarks) sendBookmark(true);
          unsubscribe = store.subscribe(from, onEvent);
        } else {
          const from = Number(rvParam);
          if (!Number.isFinite(from) || from < 0) {
            throw new ApiError(400, "BadRequest", `invalid resourceVersion: ${rvParam}`);
          }
          unsubscribe = store.subscribe(from, onEvent);
        }
      } catch (e) {
        const err = e instanceof ApiError ? e : new ApiError(500, "InternalError", String(e));
        pushLine(line("ERROR", JSON.stringify(err.toStatus())));
        end(false);
        return;
      } finally {
        replaying = false;
      }
      if (wantBookmarks && opts.bookmarkMs > 0) {
        bookmark = setInterval(() => sendBookmark(), opts.bookmarkMs);
      }
      if (timeoutSeconds > 0) timer = setTimeout(() => end(false), timeoutSeconds * 1000);
    },
    pull(controller) {
      if (state === "closed") return;
      const chunk = take();
      if (chunk) controller.enqueue(chunk);
      else if (state === "ending") finish();
      else waiting = true;
    },
    cancel() {
      end(true);
    },
  }, { highWaterMark: 0 });
  return new Response(stream, {
    status: 200,
    headers: { "content-type": "application/json", "cache-control": "no-cache, private" },
  });
}
