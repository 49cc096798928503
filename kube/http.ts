/**
 * Raw JSON access to a Kubernetes API server described by a client-node `KubeConfig`.
 *
 * Why not client-node's generated clients for edgecloud's own traffic: they deserialize into
 * model classes (timestamps become `Date`, unknown fields are dropped), open a new https agent
 * per call, and cannot send arbitrary patch bodies or custom resources without casts. EdgeController
 * forwards objects to edges exactly as the API served them, so it speaks raw JSON over Deno's
 * fetch with one `Deno.HttpClient` (closed by {@link KubeHttp.close}; tests run with sanitizers).
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { failureStatus, KubeApiError, KubeConfigError } from "./errors.ts";
import type { KubeObject, KubeStatus, WatchEvent } from "./types.ts";

/** Options of one request. */
export interface RequestOptions {
  /** Query parameters; undefined values are skipped. */
  query?: Record<string, string | number | boolean | undefined>;
  /** JSON body (objects are stringified; strings are sent as they are). */
  body?: unknown;
  /** Content type of the body (default `application/json`; patches pass their own). */
  contentType?: string;
  signal?: AbortSignal;
}

function decodeB64(b64: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
}

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    throw new KubeConfigError(`kubeconfig: cannot read ${path}: ${(err as Error).message}`);
  }
}

/**
 * Serves a request without the network: the embedded API's `handle`. Given one, KubeHttp hands
 * it each request instead of fetching (same URLs, headers, bodies and answers).
 */
export type KubeTransport = (req: Request) => Promise<Response>;

/** Options of {@link KubeHttp}. */
export interface KubeHttpOptions {
  /** In-process transport (see {@link KubeTransport}); default: HTTPS with Deno's fetch. */
  transport?: KubeTransport;
}

/**
 * What KubeHttp reads of a kubeconfig: client-node's `KubeConfig` fits, and so does the embedded
 * API's `LazyKubeConfig` (client.ts), which needs no client-node for a token user.
 */
export type KubeConfigView = Pick<
  KubeConfig,
  "getCurrentCluster" | "getCurrentUser" | "applyToHTTPSOptions"
>;

/** One connection to one API server (the kubeconfig's current context). */
export class KubeHttp {
  readonly server: string;
  readonly #client: Deno.HttpClient;
  readonly #transport?: KubeTransport;
  readonly #kc: KubeConfigView;
  readonly #staticAuth?: string;

  constructor(kc: KubeConfigView, options: KubeHttpOptions = {}) {
    this.#kc = kc;
    this.#transport = options.transport;
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new KubeConfigError("kubeconfig has no current cluster");
    this.server = cluster.server.replace(/\/+$/, "");
    const user = kc.getCurrentUser();
    const caPem = cluster.caData
      ? decodeB64(cluster.caData)
      : cluster.caFile
      ? readText(cluster.caFile)
      : undefined;
    const cert = user?.certData
      ? decodeB64(user.certData)
      : user?.certFile
      ? readText(user.certFile)
      : undefined;
    const key = user?.keyData
      ? decodeB64(user.keyData)
      : user?.keyFile
      ? readText(user.keyFile)
      : undefined;
    const opts: Deno.CreateHttpClientOptions & { cert?: string; key?: string } = {};
    if (caPem) opts.caCerts = [caPem];
    if (cert && key) {
      opts.cert = cert;
      opts.key = key;
    }
    this.#client = Deno.createHttpClient(opts);
    if (user?.token) this.#staticAuth = `Bearer ${user.token}`;
    else if (user?.username) {
      this.#staticAuth = `Basic ${btoa(`${user.username}:${user.password ?? ""}`)}`;
    }
  }

  async #headers(contentType?: string): Promise<HeadersInit> {
    if (this.#staticAuth) {
      // A plain list: the Request (or fetch) builds its own header list from it either way, and
      // a Headers object built first and copied there cost more than the rest of an in-process
      // request's client side.
      const list: [string, string][] = [["Accept", "application/json"]];
      if (contentType) list.push(["Content-Type", contentType]);
      list.push(["Authorization", this.#staticAuth]);
      return list;
    }
    const h = new Headers({ Accept: "application/json" });
    if (contentType) h.set("Content-Type", contentType);
    // exec / auth-provider / token-file users: let client-node compute the header.
    const o: { headers?: Record<string, string> } = {};
    await this.#kc.applyToHTTPSOptions(o as never);
    const auth = o.headers?.Authorization ?? o.headers?.authorization;
    if (auth) h.set("Authorization", auth);
    return h;
  }

  #url(path: string, query?: RequestOptions["query"]): string {
    // Without a query the string is the URL: Request and fetch parse (and normalise) it anyway.
    if (!query || Object.values(query).every((v) => v === undefined)) return this.server + path;
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    return url.toString();
  }

  async #fetch(method: string, path: string, opts: RequestOptions): Promise<Response> {
    const hasBody = opts.body !== undefined;
    let res: Response;
    try {
      const url = this.#url(path, opts.query);
      const init: RequestInit = {
        method,
        headers: await this.#headers(
          hasBody ? (opts.contentType ?? "application/json") : undefined,
        ),
        body: hasBody
          ? (typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body))
          : undefined,
        signal: opts.signal,
      };
      res = this.#transport
        ? await this.#inProcess(this.#transport, url, init)
        : await fetch(url, { ...init, client: this.#client });
    } catch (err) {
      // fetch says only "fetch failed"; the cause (refused, reset, TLS) is what operators need.
      if (err instanceof TypeError) {
        const cause = (err as { cause?: unknown }).cause;
        const why = cause instanceof Error ? cause.message : cause ? String(cause) : "";
        throw new TypeError(
          `${method} ${this.server}${path}: ${err.message}${why ? `: ${why}` : ""}`,
          {
            cause: err,
          },
        );
      }
      throw err;
    }
    if (res.ok) return res;
    const text = await res.text();
    let status: KubeStatus;
    try {
      const parsed = JSON.parse(text);
      status = parsed && parsed.kind === "Status"
        ? parsed as KubeStatus
        : failureStatus(res.status, text || res.statusText);
    } catch {
      status = failureStatus(res.status, text || res.statusText);
    }
    if (!status.code) status.code = res.status;
    throw new KubeApiError(res.status, status, method, path);
  }

  /** Like fetch: rejects with the signal's reason as soon as it aborts. */
  async #inProcess(transport: KubeTransport, url: string, init: RequestInit): Promise<Response> {
    const signal = init.signal;
    signal?.throwIfAborted();
    const answer = transport(new Request(url, init));
    if (!signal) return await answer;
    let onAbort = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([answer, aborted]);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** One request; resolves to the parsed JSON body (null when empty). Throws KubeApiError. */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.#fetch(method, path, opts);
    const text = await res.text();
    return (text ? JSON.parse(text) : null) as T;
  }

  /**
   * A request whose answer body is not needed (a write whose result the caller ignores): the
   * body is discarded unread instead of parsed. Throws KubeApiError like {@link request}.
   */
  async send(method: string, path: string, opts: RequestOptions = {}): Promise<void> {
    const res = await this.#fetch(method, path, opts);
    await res.body?.cancel();
  }

  /**
   * Streams a watch: calls `onEvent` for every event line (awaiting it, so slow handlers apply
   * back-pressure) until the server ends the stream (resolves) or it fails (rejects).
   *
   * `timeoutSeconds` is sent to the server (client-go picks 5–10 min) and also enforced here, a
   * little later, so a silently dead connection ends as an ordinary watch end and is re-opened.
   */
  async watch<T extends KubeObject>(
    path: string,
    query: RequestOptions["query"],
    onEvent: (ev: WatchEvent<T>) => void | Promise<void>,
    signal: AbortSignal,
    timeoutSeconds = 0,
  ): Promise<void> {
    const watchdog = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (timeoutSeconds > 0) {
      timer = setTimeout(() => watchdog.abort(), (timeoutSeconds + 30) * 1000);
    }
    const both = AbortSignal.any([signal, watchdog.signal]);
    const q = { ...query, watch: true, ...(timeoutSeconds > 0 ? { timeoutSeconds } : {}) };
    try {
      const res = await this.#fetch("GET", path, { query: q, signal: both });
      if (!res.body) return;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      // A pending read on the piped body does not always settle when the fetch is aborted; the
      // abort must end the loop by itself: it settles the read in progress as "done". (Not
      // `Promise.race` with one abort promise: every race adds a reaction to it, and each keeps
      // its read's text alive until the watch ends, which held every event a watch received.)
      let settleRead: ((r: ReadableStreamReadResult<string>) => void) | undefined;
      const onAbort = () => settleRead?.({ value: undefined, done: true });
      both.addEventListener("abort", onAbort, { once: true });
      const read = () =>
        new Promise<ReadableStreamReadResult<string>>((resolve, reject) => {
          settleRead = resolve;
          reader.read().then(resolve, reject);
        });
      let buf = "";
      try {
        // Stop at once when asked, even with many events buffered (a busy watch), instead of
        // handling the backlog first.
        while (!both.aborted) {
          const { value, done } = await read();
          settleRead = undefined;
          if (done) break;
          buf += value;
          let nl: number;
          while (!both.aborted && (nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            let ev: WatchEvent<T>;
            try {
              ev = JSON.parse(line);
            } catch {
              continue; // a torn line cannot happen over HTTP chunking; ignore garbage
            }
            await onEvent(ev);
          }
        }
      } finally {
        both.removeEventListener("abort", onAbort);
        // Cancelling a piped body can wait on the network side; the fetch is already aborted or
        // done, so do not let a slow cancel hold up stop().
        let cancelTimer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          reader.cancel().catch(() => {}),
          new Promise<void>((resolve) => cancelTimer = setTimeout(resolve, 1_000)),
        ]);
        clearTimeout(cancelTimer);
      }
    } catch (err) {
      if (watchdog.signal.aborted && !signal.aborted) return; // our own timeout: a normal end
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the HTTP client (all pooled connections). */
  close(): void {
    this.#client.close();
  }
}
