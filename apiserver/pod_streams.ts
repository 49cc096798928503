/**
 * The subresources kube-apiserver proxies to a node's kubelet — `pods/log`, `pods/exec`,
 * `pods/attach`, `pods/portforward` and `nodes/proxy` — served through a {@link NodeProxy} (the
 * hub's CloudStream tunnels). Checks as kube-apiserver: the pod must be bound to a node, the
 * container must exist (and be named when the pod has several). A node without a tunnel gets a
 * 503 naming it, never an empty answer.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { ApiError, badRequest, unauthorized } from "./errors.ts";
import {
  kubeletLogPath,
  kubeletPortForwardPath,
  kubeletStreamPath,
  type NodeProxy,
} from "./node_proxy.ts";
import type { KObject, ResourceRegistry } from "./resources.ts";
import type { Rest } from "./rest.ts";

/** The pod subresources that stream from the kubelet. */
export const POD_STREAM_SUBRESOURCES = ["log", "exec", "attach", "portforward"];

/** What the routes need. */
export interface PodStreamDeps {
  rest: Rest;
  registry: ResourceRegistry;
  proxy?: NodeProxy;
  authenticate(token: string): Promise<boolean>;
}

interface PodInfo {
  node: string;
  containers: string[];
  initContainers: string[];
}

function podInfo(deps: PodStreamDeps, ns: string, name: string): PodInfo {
  const def = deps.registry.get("", "v1", "pods")!;
  const pod = deps.rest.get({ def, namespace: ns, name }).obj as KObject & {
    spec?: {
      nodeName?: string;
      containers?: { name: string }[];
      initContainers?: { name: string }[];
    };
  };
  const node = pod.spec?.nodeName ?? "";
  if (!node) throw badRequest(`pod ${name} does not have a host assigned`);
  return {
    node,
    containers: (pod.spec?.containers ?? []).map((c) => c.name),
    initContainers: (pod.spec?.initContainers ?? []).map((c) => c.name),
  };
}

/** kube-apiserver's `validateContainer`: the named container, or the only one. */
function containerOf(info: PodInfo, pod: string, q: URLSearchParams): string {
  const named = q.get("container") ?? "";
  if (!named) {
    if (info.containers.length === 1) return info.containers[0];
    const init = info.initContainers.length
      ? ` or one of the init containers: [${info.initContainers.join(" ")}]`
      : "";
    throw badRequest(
      `a container name must be specified for pod ${pod}, choose one of: [${
        info.containers.join(" ")
      }]${init}`,
    );
  }
  if (!info.containers.includes(named) && !info.initContainers.includes(named)) {
    throw badRequest(`container ${named} is not valid for pod ${pod}`);
  }
  return named;
}

function offline(node: string): ApiError {
  return new ApiError(
    503,
    "ServiceUnavailable",
    `node ${node} is not connected: its CloudStream tunnel is down, so logs, exec, attach, ` +
      `port-forward and metrics of its pods cannot be reached (is the edge online, with ` +
      `modules.edgeStream enabled?)`,
  );
}

function proxyFor(deps: PodStreamDeps, node: string): NodeProxy {
  if (!deps.proxy) {
    throw new ApiError(
      503,
      "ServiceUnavailable",
      `node ${node} cannot be reached: modules.cloudStream is disabled`,
    );
  }
  if (!deps.proxy.connected(node)) throw offline(node);
  return deps.proxy;
}

/** Headers that never go to an edge: the caller's credentials. */
const PRIVATE_HEADERS = ["authorization", "cookie", "proxy-authorization"];

/** The caller's headers minus credentials and impersonation. */
export function forwardHeaders(h: Headers): Headers {
  const out = new Headers();
  for (const [k, v] of h) {
    if (PRIVATE_HEADERS.includes(k) || k.startsWith("impersonate-")) continue;
    out.append(k, v);
  }
  return out;
}

/** GET `pods/log`. */
export function podLog(
  deps: PodStreamDeps,
  ns: string,
  pod: string,
  req: Request,
  q: URLSearchParams,
): Response {
  const info = podInfo(deps, ns, pod);
  const container = containerOf(info, pod, q);
  const proxy = proxyFor(deps, info.node);
  const body = proxy.get(
    info.node,
    "logs",
    kubeletLogPath(ns, pod, container, q),
    forwardHeaders(req.headers),
    req.signal,
  );
  return new Response(body, {
    status: 200,
    headers: { "content-type": "text/plain", "transfer-encoding": "chunked" },
  });
}

/** GET `nodes/<node>/proxy/<path>`: any kubelet GET (stats, metrics, logs, pods). */
export function nodeProxyGet(
  deps: PodStreamDeps,
  node: string,
  path: string,
  req: Request,
): Response {
  const def = deps.registry.get("", "v1", "nodes")!;
  deps.rest.get({ def, namespace: "", name: node });
  if (req.method !== "GET") {
    throw new ApiError(405, "MethodNotAllowed", `nodes/proxy supports GET only through the tunnel`);
  }
  const proxy = proxyFor(deps, node);
  const query = new URL(req.url).search;
  const body = proxy.get(
    node,
    "metrics",
    `/${path}${query}`,
    forwardHeaders(req.headers),
    req.signal,
  );
  return new Response(body, { status: 200 });
}

/** Writes an error Status as a plain HTTP response on an upgrade socket. */
function refuseUpgrade(socket: Duplex, e: ApiError): void {
  const body = JSON.stringify(e.toStatus());
  const text =
    { 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 503: "Service Unavailable" }[
      e.code
    ] ?? "Error";
  socket.end(
    `HTTP/1.1 ${e.code} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${new TextEncoder().encode(body).length}\r\n\r\n${body}`,
  );
}

const UPGRADE_PATH =
  /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach|portforward)\/?$/;

/** An upgrade request (kubectl exec/attach/port-forward over SPDY or WebSocket). */
export async function podUpgrade(
  deps: PodStreamDeps,
  req: IncomingMessage,
  socket: Duplex,
  head: Uint8Array,
): Promise<void> {
  try {
    const auth = String(req.headers.authorization ?? "");
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    if (!m || !(await deps.authenticate(m[1]))) throw unauthorized();
    const url = new URL(req.url ?? "/", "https://localhost");
    const p = UPGRADE_PATH.exec(url.pathname);
    if (!p) throw new ApiError(404, "NotFound", `no upgrade is served at ${url.pathname}`);
    const [ns, pod, sub] = [decodeURIComponent(p[1]), decodeURIComponent(p[2]), p[3]];
    const info = podInfo(deps, ns, pod);
    const q = url.searchParams;
    if (sub === "portforward") {
      const proxy = proxyFor(deps, info.node);
      return proxy.upgrade(
        info.node,
        "portforward",
        kubeletPortForwardPath(ns, pod, q),
        req,
        socket,
        head,
      );
    }
    const kind = sub as "exec" | "attach";
    if (kind === "exec" && q.getAll("command").length === 0) {
      throw badRequest("you must specify at least 1 command");
    }
    const container = containerOf(info, pod, q);
    const proxy = proxyFor(deps, info.node);
    proxy.upgrade(
      info.node,
      kind,
      kubeletStreamPath(kind, ns, pod, container, q),
      req,
      socket,
      head,
    );
  } catch (e) {
    refuseUpgrade(
      socket,
      e instanceof ApiError ? e : new ApiError(500, "InternalError", String(e)),
    );
  }
}
