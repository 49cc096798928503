/**
 * Watch streams: newline-delimited `{"type":…,"object":…}` events over a chunked HTTP response,
 * as kube-apiserver sends them. Supports initial state (resourceVersion "" or "0"), resuming from
 * a resourceVersion (410 Gone as an ERROR event when older than the change log), bookmarks,
 * `sendInitialEvents`, `timeoutSeconds`, selectors (objects moving in or out of the selection
 * become ADDED or DELETED) and Table output for `kubectl get -w`.
 */
import { ApiError } from "./errors.ts";
import { apiVersionOf, type KObject, storageKey } from "./resources.ts";
import type { Rest, Target } from "./rest.ts";
import type { ChangeEvent, Store } from "./store.ts";
import { toTable } from "./table.ts";

/** Options for one watch. */
export interface WatchOptions {
  /** Bookmark period when the client allows bookmarks. */
  bookmarkMs: number;
  /** Answer with Table rows instead of objects. */
  table: boolean;
  includeObject: string | null;
}

/** Open watch streams, so the server can end them all at close. */
export class WatchSet {
  readonly #closers = new Set<() => void>();
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
}

const enc = new TextEncoder();

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

  let cleanup = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      let unsubscribe = () => {};
      let timer: ReturnType<typeof setTimeout> | undefined;
      let bookmark: ReturnType<typeof setInterval> | undefined;
      let unregister = () => {};
      const close = () => {
        if (closed) return;
        closed = true;
        unsubscribe();
        unregister();
        if (timer !== undefined) clearTimeout(timer);
        if (bookmark !== undefined) clearInterval(bookmark);
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      cleanup = close;
      unregister = set.add(close);
      const send = (bytes: Uint8Array) => {
        if (!closed) controller.enqueue(bytes);
      };
      const sendBookmark = (initialEnd = false) => {
        const meta: Record<string, unknown> = { resourceVersion: String(store.resourceVersion) };
        if (initialEnd) meta.annotations = { "k8s.io/initial-events-end": "true" };
        send(
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
          if (now) send(line("ADDED", encodeObject(ev.obj, ev.json)));
          else send(line("DELETED", encodeObject(ev.obj, ev.json)));
          return;
        }
        if (!now) return;
        send(line(ev.type, encodeObject(ev.obj, ev.json)));
      };
      try {
        if (rvParam === "" || rvParam === "0" || sendInitial) {
          const from = store.resourceVersion;
          const initial = nameFilter
            ? [store.get(storage, ns, nameFilter)].filter((x) => x !== undefined)
            : store.list(storage, ns || undefined);
          for (const o of initial) {
            if (matches(o.obj)) send(line("ADDED", encodeObject(o.obj, o.json)));
          }
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
        send(line("ERROR", JSON.stringify(err.toStatus())));
        close();
        return;
      }
      if (wantBookmarks && opts.bookmarkMs > 0) {
        bookmark = setInterval(() => sendBookmark(), opts.bookmarkMs);
      }
      if (timeoutSeconds > 0) timer = setTimeout(close, timeoutSeconds * 1000);
    },
    cancel() {
      cleanup();
    },
  });
  return new Response(stream, {
    status: 200,
    headers: { "content-type": "application/json", "cache-control": "no-cache, private" },
  });
}
