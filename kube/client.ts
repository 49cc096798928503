/**
 * `KubeClient`: edgecloud's one entry point to a Kubernetes API server.
 *
 * - typed client-node APIs (`core`, `coordination`, `certificates`, `storage`, `customObjects`)
 *   sharing the overall rate limit, for code that wants models;
 * - raw JSON calls (`get`, `create`, `update`, `patch`, `delete`, `request`) with per-node rate
 *   limits and capped exponential back-off on transient errors (connection refused, 429, 5xx);
 * - informers with `hasSynced()` / `synced` and clean `stop()`.
 *
 * @example
 * ```ts
 * const kube = KubeClient.fromYaml(api.kubeconfigYaml, { qps: 2500, burst: 5000, nodeLimit: 500 });
 * const pods = kube.informer("/api/v1/pods", undefined, { kind: "Pod", apiVersion: "v1" });
 * pods.on({ add: (p) => console.log(p.metadata?.name) }).start();
 * await pods.synced;
 * const node = await kube.get("/api/v1/nodes/edge-1", { node: "edge-1" });
 * await kube.close();
 * ```
 */
import type {
  CertificatesV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  Middleware,
  StorageV1Api,
} from "@kubernetes/client-node";
import { createLogger, sleep } from "../lib/mod.ts";
import { clientNode } from "./client_node.ts";
import { isTransient, KubeClosedError, KubeConfigError, KubeUnavailableError } from "./errors.ts";
import { type KubeConfigView, KubeHttp, type KubeTransport, type RequestOptions } from "./http.ts";
import { Informer, type InformerOptions, type ListFn } from "./informer.ts";
import { NodeRateLimiter } from "./ratelimit.ts";
import type { KubeObject } from "./types.ts";

const log = createLogger("kube");

/**
 * Content types of the patch strategies: client-node's `PatchStrategy`, spelled out so that
 * importing this module does not load client-node (see client_node.ts).
 */
export const PatchStrategy = {
  /** Diff-like JSON format. */
  JsonPatch: "application/json-patch+json",
  /** Simple merge. */
  MergePatch: "application/merge-patch+json",
  /** Merge with different strategies depending on field metadata. */
  StrategicMergePatch: "application/strategic-merge-patch+json",
  /** Server-Side Apply. */
  ServerSideApply: "application/apply-patch+yaml",
} as const;
/** One of {@link PatchStrategy}'s content types. */
export type PatchStrategy = (typeof PatchStrategy)[keyof typeof PatchStrategy];

/**
 * A kubeconfig known by its parts (an API server, its CA, a bearer token), as the embedded API
 * hands them over: what raw calls need is read from it, and client-node's `KubeConfig` (for
 * {@link KubeClient.kubeConfig} and the typed APIs) is built from `yaml` only when first asked for.
 */
export class LazyKubeConfig implements KubeConfigView {
  #real?: KubeConfig;

  constructor(
    readonly yaml: string,
    readonly server: string,
    readonly caPem: string,
    readonly token: string,
  ) {}

  /** client-node's KubeConfig of {@link yaml} (loads client-node on first use). */
  get real(): KubeConfig {
    if (!this.#real) {
      const kc = new (clientNode().KubeConfig)();
      kc.loadFromString(this.yaml);
      this.#real = kc;
    }
    return this.#real;
  }

  getCurrentCluster(): ReturnType<KubeConfigView["getCurrentCluster"]> {
    return { name: "", server: this.server, caData: btoa(this.caPem), skipTLSVerify: false };
  }

  getCurrentUser(): ReturnType<KubeConfigView["getCurrentUser"]> {
    return { name: "", token: this.token };
  }

  applyToHTTPSOptions(opts: Parameters<KubeConfigView["applyToHTTPSOptions"]>[0]) {
    return this.real.applyToHTTPSOptions(opts);
  }
}

/** The typed client-node APIs of one client (rate limited overall). */
interface TypedApis {
  core: CoreV1Api;
  coordination: CoordinationV1Api;
  certificates: CertificatesV1Api;
  storage: StorageV1Api;
  customObjects: CustomObjectsApi;
}

/** Client settings (defaults: cloudcore's for nodeLimit 500). */
export interface KubeClientOptions {
  /** Overall QPS (`kubeAPIConfig.qps`, default 2500 = 5 × 500); `<= 0` disables limiting. */
  qps?: number;
  /** Overall burst (`kubeAPIConfig.burst`, default 5000 = 10 × 500). */
  burst?: number;
  /** `cloudHub.nodeLimit`: each node gets `qps/nodeLimit` and `burst/nodeLimit` (default 500). */
  nodeLimit?: number;
  /** Attempts per raw call before KubeUnavailableError (default 5). */
  maxAttempts?: number;
  /** First retry delay, doubled per attempt (default 200 ms). */
  backoffMs?: number;
  /** Cap of the retry delay (default 5000 ms). */
  maxBackoffMs?: number;
  /**
   * Raw calls and watches go to this in-process handler instead of the network: the embedded
   * API's `handle` (see KubeHttp). The typed client-node APIs still use the kubeconfig's URL.
   */
  transport?: KubeTransport;
}

/** Options of one raw call. */
export interface CallOptions extends RequestOptions {
  /** The edge node on whose behalf the call is made (per-node rate limit). */
  node?: string;
  /** Retry transient failures (default true). */
  retry?: boolean;
}

/** See module docs. */
export class KubeClient {
  readonly http: KubeHttp;
  readonly limiter: NodeRateLimiter;
  readonly #kc: KubeConfig | LazyKubeConfig;
  #typed?: TypedApis;
  readonly #opts: Required<Omit<KubeClientOptions, "transport">>;
  readonly #closing = new AbortController();
  readonly #informers = new Set<Informer<KubeObject>>();

  /**
   * @param kc a client-node KubeConfig, or a {@link LazyKubeConfig} (the embedded API's), which
   *   keeps client-node unloaded until the typed APIs or {@link kubeConfig} are first used
   */
  constructor(kc: KubeConfig | LazyKubeConfig, opts: KubeClientOptions = {}) {
    this.#kc = kc;
    this.#opts = {
      qps: opts.qps ?? 2500,
      burst: opts.burst ?? 5000,
      nodeLimit: opts.nodeLimit ?? 500,
      maxAttempts: opts.maxAttempts ?? 5,
      backoffMs: opts.backoffMs ?? 200,
      maxBackoffMs: opts.maxBackoffMs ?? 5000,
    };
    this.limiter = new NodeRateLimiter({
      qps: this.#opts.qps,
      burst: this.#opts.burst,
      nodeLimit: this.#opts.nodeLimit,
    });
    this.http = new KubeHttp(kc, { transport: opts.transport });
    if (!kc.getCurrentCluster()) throw new KubeConfigError("kubeconfig has no current cluster");
  }

  /** The kubeconfig, as client-node's KubeConfig. */
  get kubeConfig(): KubeConfig {
    return this.#kc instanceof LazyKubeConfig ? this.#kc.real : this.#kc;
  }

  /** Typed core/v1 API (rate limited overall). */
  get core(): CoreV1Api {
    return this.#typedApis().core;
  }

  /** Typed coordination.k8s.io/v1 API. */
  get coordination(): CoordinationV1Api {
    return this.#typedApis().coordination;
  }

  /** Typed certificates.k8s.io/v1 API. */
  get certificates(): CertificatesV1Api {
    return this.#typedApis().certificates;
  }

  /** Typed storage.k8s.io/v1 API. */
  get storage(): StorageV1Api {
    return this.#typedApis().storage;
  }

  /** Typed API for custom resources. */
  get customObjects(): CustomObjectsApi {
    return this.#typedApis().customObjects;
  }

  /** Built on first use: they need client-node, which raw calls and informers do not. */
  #typedApis(): TypedApis {
    if (this.#typed) return this.#typed;
    const cn = clientNode();
    const kc = this.kubeConfig;
    const limiter = this.limiter;
    const closing = this.#closing.signal;
    const rateLimit: Middleware = {
      pre: async (ctx) => {
        await limiter.take(undefined, closing);
        return ctx;
      },
      post: (ctx) => Promise.resolve(ctx),
    };
    const config = cn.createConfiguration({
      baseServer: new cn.ServerConfiguration(kc.getCurrentCluster()!.server, {}),
      authMethods: { default: kc },
      promiseMiddleware: [rateLimit],
    });
    this.#typed = {
      core: new cn.CoreV1Api(config),
      coordination: new cn.CoordinationV1Api(config),
      certificates: new cn.CertificatesV1Api(config),
      storage: new cn.StorageV1Api(config),
      customObjects: new cn.CustomObjectsApi(config),
    };
    return this.#typed;
  }

  /** From a kubeconfig file path. */
  static fromFile(path: string, opts?: KubeClientOptions): KubeClient {
    const kc = new (clientNode().KubeConfig)();
    try {
      kc.loadFromFile(path);
    } catch (err) {
      throw new KubeConfigError(`cannot load kubeconfig ${path}: ${(err as Error).message}`);
    }
    return new KubeClient(kc, opts);
  }

  /** From kubeconfig YAML text. */
  static fromYaml(yaml: string, opts?: KubeClientOptions): KubeClient {
    const kc = new (clientNode().KubeConfig)();
    try {
      kc.loadFromString(yaml);
    } catch (err) {
      throw new KubeConfigError(`cannot parse kubeconfig: ${(err as Error).message}`);
    }
    return new KubeClient(kc, opts);
  }

  /** The options in effect (with defaults filled in). */
  get options(): Readonly<Required<Omit<KubeClientOptions, "transport">>> {
    return this.#opts;
  }

  /** Aborted when the client closes; pass it to long waits. */
  get signal(): AbortSignal {
    return this.#closing.signal;
  }

  /**
   * A raw JSON call, rate limited (per node when `opts.node` is set) and retried with capped
   * back-off on transient errors. Throws KubeApiError for API answers, KubeUnavailableError when
   * retries are exhausted, KubeClosedError after close().
   */
  async request<T = unknown>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
    const signal = opts.signal
      ? AbortSignal.any([opts.signal, this.#closing.signal])
      : this.#closing.signal;
    const attempts = opts.retry === false ? 1 : Math.max(1, this.#opts.maxAttempts);
    let delay = this.#opts.backoffMs;
    for (let attempt = 1;; attempt++) {
      if (this.#closing.signal.aborted) throw new KubeClosedError("kube client is closed");
      try {
        await this.limiter.take(opts.node, signal);
        return await this.http.request<T>(method, path, { ...opts, signal });
      } catch (err) {
        if (this.#closing.signal.aborted) throw new KubeClosedError("kube client is closed");
        if (!isTransient(err)) throw err;
        if (attempt >= attempts) {
          log.error("kube API call failed, giving up", {
            method,
            path,
            attempts: attempt,
            error: err,
          });
          throw new KubeUnavailableError(
            `${method} ${path}: API unavailable after ${attempt} attempts: ${
              (err as Error).message
            }`,
            { cause: err },
          );
        }
        log.warn("kube API call failed, retrying", {
          method,
          path,
          attempt,
          retryInMs: delay,
          error: err,
        });
        try {
          await sleep(delay, signal);
        } catch {
          throw new KubeClosedError("kube client is closed");
        }
        delay = Math.min(this.#opts.maxBackoffMs, delay * 2);
      }
    }
  }

  /** GET an object. */
  get<T extends KubeObject = KubeObject>(path: string, opts?: CallOptions): Promise<T> {
    return this.request<T>("GET", path, opts);
  }

  /** POST a new object. */
  create<T extends KubeObject = KubeObject>(
    path: string,
    body: unknown,
    opts?: CallOptions,
  ): Promise<T> {
    return this.request<T>("POST", path, { ...opts, body });
  }

  /** PUT an object (update or update status). */
  update<T extends KubeObject = KubeObject>(
    path: string,
    body: unknown,
    opts?: CallOptions,
  ): Promise<T> {
    return this.request<T>("PUT", path, { ...opts, body });
  }

  /** PATCH with a patch strategy (default strategic merge). `body` may be a JSON string. */
  patch<T extends KubeObject = KubeObject>(
    path: string,
    body: unknown,
    strategy: string = PatchStrategy.StrategicMergePatch,
    opts?: CallOptions,
  ): Promise<T> {
    return this.request<T>("PATCH", path, { ...opts, body, contentType: strategy });
  }

  /** DELETE with optional DeleteOptions. */
  delete<T = unknown>(path: string, deleteOptions?: unknown, opts?: CallOptions): Promise<T> {
    return this.request<T>("DELETE", path, { ...opts, body: deleteOptions });
  }

  /**
   * An informer on a list path (e.g. `/api/v1/pods`). `listFn` defaults to a raw GET of `path`.
   * Register handlers with `.on()`, then `.start()`; await `.synced`. `close()` stops it too.
   */
  informer<T extends KubeObject = KubeObject>(
    path: string,
    listFn?: ListFn<T>,
    opts: InformerOptions = {},
  ): Informer<T> {
    const http = this.http;
    const limiter = this.limiter;
    const closing = this.#closing.signal;
    const list: ListFn<T> = listFn ?? (async (query, signal) => {
      await limiter.take(undefined, AbortSignal.any([signal, closing]));
      return await http.request("GET", path, { query, signal });
    });
    const inf = new Informer<T>(this.http, path, list, {
      backoffMs: this.#opts.backoffMs,
      maxBackoffMs: this.#opts.maxBackoffMs,
      ...opts,
    });
    this.#informers.add(inf as unknown as Informer<KubeObject>);
    return inf;
  }

  /** Stops every informer, aborts pending calls and retry waits, closes connections. */
  async close(): Promise<void> {
    if (!this.#closing.signal.aborted) {
      this.#closing.abort(new KubeClosedError("kube client is closed"));
    }
    await Promise.all([...this.#informers].map((i) => i.stop()));
    this.#informers.clear();
    this.http.close();
  }
}
