/**
 * The embedded Kubernetes-compatible API server: what edgecloud runs when no kubeconfig is given
 * (like k3s). HTTPS with its own CA, bearer-token auth, objects in Deno KV.
 *
 * @example
 * ```ts
 * const api = await startEmbeddedApi({ dataDir: ".edgecloud", port: 0 });
 * const kc = new KubeConfig();
 * kc.loadFromString(api.kubeconfigYaml);
 * // ... kubectl --kubeconfig api.kubeconfigPath get nodes
 * await api.close();
 * ```
 *
 * @module
 */
import * as jose from "jose";
import { issueServerCert, loadOrCreateCa } from "./certs.ts";
import { DEFAULT_NAMESPACES, isPreinstalledCrd, KUBEEDGE_CRDS } from "./crds.ts";
import { createHandler } from "./handler.ts";
import type { NodeProxy } from "./node_proxy.ts";
import { podUpgrade } from "./pod_streams.ts";
import { renderKubeconfig } from "./kubeconfig.ts";
import { type KObject, type ResourceDef, ResourceRegistry } from "./resources.ts";
import { Rest } from "./rest.ts";
import { Store } from "./store.ts";
import { WatchSet, type WatchStats } from "./watch.ts";
import { createLogger, type FetchServer, isIpLiteral, serveFetch } from "../lib/mod.ts";
import type { ConnLimits, DropReasonLabel } from "../lib/mod.ts";

export { ApiError } from "./errors.ts";
export type { KubeletStreamKind, NodeProxy } from "./node_proxy.ts";
export { KUBEEDGE_CRDS } from "./crds.ts";
export { DEFAULT_WATCH_BUFFER_BYTES, type WatchStats } from "./watch.ts";

const log = createLogger("apiserver");

/** Options of {@link startEmbeddedApi}. */
export interface EmbeddedApiOptions {
  /** KV file, CA, token and kubeconfig.yaml go here (created if missing). */
  dataDir: string;
  /** Default 6443; tests pass 0. */
  port?: number;
  /** Bind address, default "127.0.0.1". */
  hostname?: string;
  /** Request body cap, default 3 MiB. */
  maxBodyBytes?: number;
  /** Watch change-log length (default 10,000 events); older resourceVersions get 410 Gone. */
  watchLogSize?: number;
  /** Interval of watch bookmarks when clients allow them (default 60 s). */
  bookmarkIntervalMs?: number;
  /**
   * Bound of one watch's unread events in bytes (default 16 MiB, see
   * {@link DEFAULT_WATCH_BUFFER_BYTES}); a watch whose client falls further behind is ended and
   * the client watches again from its last resourceVersion.
   */
  watchBufferBytes?: number;
  /** Clock (injectable for tests). */
  now?: () => Date;
  /**
   * Connection limits of the HTTPS listener: TLS handshake plus first request headers within
   * `handshakeTimeoutMs` (default 10 s), at most `maxPending` such connections at once (default
   * 1024; more are closed at once), keep-alive connections idle at most `idleTimeoutMs` (default
   * {@link API_IDLE_TIMEOUT_MS}). A streaming response (watch) is never cut by these.
   */
  limits?: Partial<ConnLimits>;
  /** Called for every connection the listener drops (deadline missed or over the cap). */
  onConnectionDrop?: (reason: DropReasonLabel) => void;
}

/** Default keep-alive idle timeout of the API listener, in ms (client-go reuses connections). */
export const API_IDLE_TIMEOUT_MS = 30_000;

/** A running embedded API. */
export interface EmbeddedApi {
  /** e.g. "https://127.0.0.1:6443". */
  readonly url: string;
  readonly port: number;
  /** `<dataDir>/kubeconfig.yaml`. */
  readonly kubeconfigPath: string;
  /** The same content. */
  readonly kubeconfigYaml: string;
  /** The API's CA certificate (PEM). */
  readonly caPem: string;
  /** Admin bearer token. */
  readonly token: string;
  /**
   * Serves one request in this process, without a socket: the same handler, authentication and
   * answers as the HTTPS listener. The hub's own `KubeClient` uses it (`transport`) when the API
   * is embedded, which saves a TLS session, HTTP framing and a copy each way on every call; kubectl
   * and other clients keep using {@link url}.
   */
  readonly handle: (req: Request) => Promise<Response>;
  /**
   * Ends every open watch stream, as kube-apiserver does when a watch times out; clients resume
   * from their last resourceVersion. Returns how many were ended.
   */
  endWatches(): number;
  /** Open watches, their unread bytes and how many were ended for falling behind. */
  watchStats(): WatchStats;
  /**
   * Connects the nodes' kubelets (the hub's CloudStream) for pods/log, exec, attach,
   * portforward and nodes/proxy; until then those answer 503.
   */
  setNodeProxy(proxy: NodeProxy | undefined): void;
  /** Stops serving, ends watches, closes KV. */
  close(): Promise<void>;
}

async function loadOrCreateToken(path: string): Promise<string> {
  try {
    const t = (await Deno.readTextFile(path)).trim();
    if (t) return t;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  await Deno.writeTextFile(path, token + "\n", { mode: 0o600 });
  return token;
}

/** Constant-time comparison, so response timing does not reveal the admin token. */
function sameToken(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** Where the embedded API writes its admin kubeconfig: `<dataDir>/kubeconfig.yaml`. */
export function embeddedKubeconfigPath(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, "")}/kubeconfig.yaml`;
}

/** Starts the embedded API; resolves once it serves and kubeconfig.yaml is written. */
export async function startEmbeddedApi(opts: EmbeddedApiOptions): Promise<EmbeddedApi> {
  const dataDir = opts.dataDir.replace(/\/+$/, "") || ".";
  const hostname = opts.hostname ?? "127.0.0.1";
  const now = opts.now ?? (() => new Date());
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const kvPath = `${dataDir}/apiserver.kv`;
  // Independent, so at once: opening KV (SQLite, off the main thread) overlaps reading or
  // creating the CA and token (issue 23).
  const [caResult, tokenResult, storeResult] = await Promise.allSettled([
    loadOrCreateCa(dataDir),
    loadOrCreateToken(`${dataDir}/apiserver-token`),
    Store.open({ path: kvPath, logSize: opts.watchLogSize }),
  ]);
  if (caResult.status === "rejected" || tokenResult.status === "rejected") {
    if (storeResult.status === "fulfilled") await storeResult.value.close();
    throw caResult.status === "rejected"
      ? caResult.reason
      : (tokenResult as PromiseRejectedResult).reason;
  }
  if (storeResult.status === "rejected") throw storeResult.reason;
  const ca = caResult.value;
  const token = tokenResult.value;
  const store = storeResult.value;
  // The KV file holds Secrets: owner-only, like the CA key and token.
  for (const f of [kvPath, `${kvPath}-wal`, `${kvPath}-shm`]) {
    await Deno.chmod(f, 0o600).catch(() => {});
  }
  const watches = new WatchSet({ maxBufferBytes: opts.watchBufferBytes });
  let server: FetchServer | undefined;
  // The serving certificate needs only the CA: issued while the namespaces and CRDs are ensured.
  const dns = ["localhost"];
  const ips = ["127.0.0.1", "::1"];
  if (isIpLiteral(hostname)) {
    if (!ips.includes(hostname)) ips.push(hostname);
  } else if (!dns.includes(hostname)) dns.push(hostname);
  const issuing = issueServerCert(ca, dns, ips);
  issuing.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
  try {
    const registry = new ResourceRegistry();
    for (const crd of store.list("customresourcedefinitions.apiextensions.k8s.io")) {
      registry.applyCrd(crd.obj);
    }
    const rest = new Rest(store, registry, { now });
    const nsDef = registry.get("", "v1", "namespaces")!;
    for (const name of DEFAULT_NAMESPACES) {
      await rest.ensure(nsDef, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
    }
    const crdDef = registry.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")!;
    for (const crd of KUBEEDGE_CRDS) await ensureCrd(rest, crdDef, crd);

    const serverCert = await issuing;
    const saKey = ca.key;
    // ServiceAccount tokens (TokenRequest) are ES256 JWTs signed with the CA key.
    const saPub = await ca.cert.publicKey.export({ name: "ECDSA", namedCurve: "P-256" }, [
      "verify",
    ]);
    let nodeProxy: NodeProxy | undefined;
    const authenticate = async (t: string): Promise<boolean> => {
      if (sameToken(t, token)) return true;
      if (t.split(".").length !== 3) return false;
      try {
        await jose.jwtVerify(t, saPub, {
          issuer: "https://kubernetes.default.svc.cluster.local",
        });
        return true;
      } catch {
        return false;
      }
    };
    const handler = createHandler({
      get proxy() {
        return nodeProxy;
      },
      store,
      rest,
      registry,
      watches,
      authenticate,
      async issueToken(ns, sa, uid, audiences, seconds) {
        return await new jose.SignJWT({
          "kubernetes.io": { namespace: ns, serviceaccount: { name: sa, uid } },
        })
          .setProtectedHeader({ alg: "ES256" })
          .setIssuer("https://kubernetes.default.svc.cluster.local")
          .setSubject(`system:serviceaccount:${ns}:${sa}`)
          .setAudience(audiences)
          .setIssuedAt()
          .setExpirationTime(Math.floor(now().getTime() / 1000) + seconds)
          .sign(saKey);
      },
      maxBodyBytes: opts.maxBodyBytes ?? 3 * 1024 * 1024,
      bookmarkMs: opts.bookmarkIntervalMs ?? 60_000,
      serverAddress: "",
      now,
    });
    const internalError = (e: unknown) => {
      log.error("request handler failed", { error: e });
      return new Response("internal error", { status: 500 });
    };
    // node:https, not Deno.serve: Deno.serve has no handshake, header or idle timeout and no
    // connection hook to add them, so silent clients would be held forever.
    server = await serveFetch({
      listener: "embedded API",
      setting: "apiServer.port (--api-port)",
      hostname,
      port: opts.port ?? 6443,
      tls: { cert: serverCert.certPem, key: serverCert.keyPem },
      limits: { idleTimeoutMs: API_IDLE_TIMEOUT_MS, ...opts.limits },
      onDrop: opts.onConnectionDrop,
      onError: internalError,
      onUpgrade: (req, socket, head) =>
        void podUpgrade(
          {
            rest,
            registry,
            authenticate,
            proxy: nodeProxy,
          },
          req,
          socket,
          head,
        ),
    }, handler);
    const port = server.port;
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    const url = `https://${host}:${port}`;
    const kubeconfigPath = embeddedKubeconfigPath(dataDir);
    const kubeconfigYaml = renderKubeconfig(url, ca.certPem, token);
    await Deno.writeTextFile(kubeconfigPath, kubeconfigYaml, { mode: 0o600 });
    await Deno.chmod(kubeconfigPath, 0o600).catch(() => {});
    log.info("embedded API ready", { url, kubeconfig: kubeconfigPath });
    const srv = server;
    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      kubeconfigPath,
      kubeconfigYaml,
      caPem: ca.certPem,
      token,
      handle: (req) => handler(req, { inProcess: true }).catch(internalError),
      endWatches() {
        const n = watches.size;
        watches.closeAll();
        return n;
      },
      watchStats: () => watches.stats(),
      setNodeProxy(p) {
        nodeProxy = p;
      },
      close() {
        closing ??= (async () => {
          watches.closeAll();
          await srv.close();
          await store.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    watches.closeAll();
    if (server) await server.close().catch(() => {});
    await store.close();
    throw e;
  }
}

/**
 * Creates a preinstalled CRD, or brings one an older edgecloud preinstalled up to date (an older
 * release gave the device CRDs a status subresource KubeEdge's have not); a CRD a user replaced
 * with KubeEdge's own manifest is left as it is.
 */
async function ensureCrd(rest: Rest, def: ResourceDef, crd: KObject): Promise<void> {
  await rest.ensure(def, crd);
  const t = { def, namespace: "", name: crd.metadata!.name! };
  const current = rest.get(t).obj;
  if (!isPreinstalledCrd(current)) return;
  if (JSON.stringify(current.spec) === JSON.stringify(crd.spec)) return;
  await rest.update(t, { ...structuredClone(current), spec: structuredClone(crd.spec) });
}
