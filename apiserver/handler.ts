/**
 * HTTP routing of the embedded API: authentication, discovery, resource paths
 * (`/api/v1/...`, `/apis/<g>/<v>/...`, optional `namespaces/<ns>/`, subresources), body limits,
 * content negotiation (JSON or Table) and Status errors for every failure.
 */
import {
  ApiError,
  badRequest,
  internal,
  methodNotAllowed,
  tooLarge,
  unauthorized,
  unsupportedMediaType,
} from "./errors.ts";
import {
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  SERVER_VERSION,
} from "./discovery.ts";
import { decodeK8sProtobuf } from "./protobuf.ts";
import { openApiV3Doc, openApiV3Root } from "./openapi.ts";
import type { NodeProxy } from "./node_proxy.ts";
import { nodeProxyGet, podLog } from "./pod_streams.ts";
import { metricsRequest } from "./metrics_api.ts";
import { review } from "./access_review.ts";
import { apiVersionOf, type ResourceRegistry } from "./resources.ts";
import {
  type DeleteOptions,
  parseBody,
  type Rest,
  type Target,
  type WriterContext,
} from "./rest.ts";
import { managerOf } from "./managed_fields.ts";
import { type Store, StoreClosedError, type StoredObject } from "./store.ts";
import { getScale, patchScale, putScale } from "./scale.ts";
import { toTable, wantsTable } from "./table.ts";
import { checkResourceVersionParam, deleteOptionsFields } from "./validate.ts";
import { serveWatch, type WatchSet } from "./watch.ts";
import { createLogger } from "../lib/mod.ts";

const log = createLogger("apiserver");

/** What the handler needs. */
export interface HandlerDeps {
  store: Store;
  rest: Rest;
  registry: ResourceRegistry;
  watches: WatchSet;
  /** Returns true when the bearer token is accepted. */
  authenticate(token: string): Promise<boolean>;
  /** Issues a ServiceAccount token (TokenRequest). */
  issueToken(
    namespace: string,
    sa: string,
    uid: string,
    audiences: string[],
    seconds: number,
  ): Promise<string>;
  maxBodyBytes: number;
  bookmarkMs: number;
  serverAddress: string;
  now: () => Date;
  /** The nodes' kubelets (CloudStream), for pods/log and nodes/proxy. */
  proxy?: NodeProxy;
}

const JSON_HEADERS = { "content-type": "application/json" };
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

function json(status: number, body: string | unknown): Response {
  return new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: JSON_HEADERS,
  });
}

function errorResponse(e: ApiError): Response {
  return json(e.code, e.toStatus());
}

async function readBody(req: Request, max: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? -1);
  if (declared > max) throw tooLarge(`the request body is too large: limit is ${max} bytes`);
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge(`the request body is too large: limit is ${max} bytes`);
    }
    chunks.push(value);
  }
  const buf = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    buf.set(c, off);
    off += c.byteLength;
  }
  return buf;
}

function utf8(buf: Uint8Array): string {
  try {
    return STRICT_UTF8.decode(buf);
  } catch {
    throw badRequest("the request body is not valid UTF-8");
  }
}

function deleteOptions(q: URLSearchParams, body: unknown): DeleteOptions {
  const o: DeleteOptions = {};
  Object.assign(o, deleteOptionsFields(body));
  const g = q.get("gracePeriodSeconds");
  if (g !== null) {
    if (!/^-?\d+$/.test(g)) throw badRequest(`invalid gracePeriodSeconds: ${g}`);
    o.gracePeriodSeconds = Number(g);
  }
  const p = q.get("propagationPolicy");
  if (p !== null) o.propagationPolicy = p as DeleteOptions["propagationPolicy"];
  if (
    o.propagationPolicy && !["Orphan", "Background", "Foreground"].includes(o.propagationPolicy)
  ) {
    throw badRequest(`invalid propagationPolicy: ${o.propagationPolicy}`);
  }
  return o;
}

function isDryRun(q: URLSearchParams, body?: unknown): boolean {
  if (q.getAll("dryRun").includes("All")) return true;
  const d = (body as DeleteOptions | undefined)?.dryRun;
  return Array.isArray(d) && d.includes("All");
}

/** Creates the request handler. */
export function createHandler(
  deps: HandlerDeps,
): (req: Request, opts?: { inProcess?: boolean }) => Promise<Response> {
  const { rest, registry } = deps;
  const inProcess = new WeakSet<Request>();

  const objectResponse = (
    status: number,
    t: Target,
    o: StoredObject,
    accept: string | null,
    q: URLSearchParams,
  ) => {
    if (wantsTable(accept)) {
      return json(
        status,
        toTable(t.def, [rest.presentObject(t.def, o.obj)], String(o.rv), q.get("includeObject")),
      );
    }
    return json(status, rest.present(t.def, o));
  };

  /**
   * Who writes, for managedFields: API clients only. The hub's own in-process calls (thousands of
   * node and pod status writes) are not recorded, to keep their cost down; their fields are
   * owned by nobody, so they never make a client's apply conflict.
   */
  const writer = (req: Request, q: URLSearchParams, t: Target): WriterContext | undefined => {
    if (inProcess.has(req)) return undefined;
    return {
      manager: managerOf(q.get("fieldManager"), req.headers.get("user-agent")),
      apiVersion: apiVersionOf(t.def),
      time: deps.now().toISOString().replace(/\.\d{3}Z$/, "Z"),
      subresource: t.subresource,
      statusSubresource: t.def.subresources.includes("status"),
      force: q.get("force") === "true",
    };
  };

  async function route(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const q = url.searchParams;
    let seg: string[];
    try {
      seg = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    } catch {
      throw badRequest(`malformed URL path: ${url.pathname}`);
    }
    const accept = req.headers.get("accept");
    if (seg.length === 1 && ["healthz", "livez", "readyz"].includes(seg[0])) {
      return new Response("ok", { headers: { "content-type": "text/plain" } });
    }
    if (seg.length === 1 && seg[0] === "version") return json(200, SERVER_VERSION);
    const auth = req.headers.get("authorization") ?? "";
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    if (!m || !(await deps.authenticate(m[1]))) throw unauthorized();

    if (seg.length === 0) {
      return json(200, {
        paths: ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version"],
      });
    }
    if (seg[0] === "api" && seg.length === 1) return json(200, apiVersions(deps.serverAddress));
    if (seg[0] === "apis" && seg.length === 1) return json(200, apiGroupList(registry));
    if (seg[0] === "apis" && seg.length === 2) {
      const g = apiGroup(registry, seg[1]);
      if (!g) throw notFoundPath();
      return json(200, g);
    }
    if ((seg[0] === "api" && seg.length === 2) || (seg[0] === "apis" && seg.length === 3)) {
      const [g, v] = seg[0] === "api" ? ["", seg[1]] : [seg[1], seg[2]];
      const list = apiResourceList(registry, g, v);
      if (!list) throw notFoundPath();
      return json(200, list);
    }
    if (seg[0] === "openapi" && seg[1] === "v3") {
      const doc = seg.length === 2
        ? openApiV3Root(registry)
        : await openApiV3Doc(registry, seg.slice(2).join("/"));
      if (!doc) throw notFoundPath();
      return json(200, doc);
    }
    if (seg[0] !== "api" && seg[0] !== "apis") throw notFoundPath();

    // Resource paths.
    let group = "", version: string, rest0: string[];
    if (seg[0] === "api") {
      version = seg[1];
      rest0 = seg.slice(2);
    } else {
      group = seg[1];
      version = seg[2];
      rest0 = seg.slice(3);
    }
    let watchPath = false;
    if (rest0[0] === "watch") {
      watchPath = true;
      rest0 = rest0.slice(1);
    }
    let namespace = "";
    if (
      rest0[0] === "namespaces" && rest0.length >= 3 &&
      !(rest0.length === 3 && ["status", "finalize"].includes(rest0[2]))
    ) {
      namespace = rest0[1];
      rest0 = rest0.slice(2);
    }
    if (group === "" && rest0[0] === "nodes" && rest0[2] === "proxy" && !namespace) {
      return nodeProxyGet(deps, rest0[1], rest0.slice(3).map(encodeURIComponent).join("/"), req);
    }
    if (rest0.length === 0 || rest0.length > 3) throw notFoundPath();
    const [resource, name, sub] = rest0;
    if (group === "" && resource === "pods" && name !== undefined && sub === "log") {
      if (req.method !== "GET") throw methodNotAllowed(`pods/log supports GET only`);
      return podLog(deps, namespace, name, req, q);
    }
    const def = registry.get(group, version, resource);
    if (!def) throw notFoundPath();
    if (sub !== undefined && !def.subresources.includes(sub)) throw notFoundPath();
    if (!def.namespaced && namespace) throw notFoundPath();
    if (def.namespaced && name !== undefined && !namespace) throw notFoundPath();
    const t: Target = { def, namespace, name, subresource: sub };
    const method = req.method.toUpperCase();
    if (def.group === "metrics.k8s.io") {
      return json(200, await metricsRequest(deps, def, namespace, name, method, q));
    }
    if (def.group === "authorization.k8s.io") {
      const raw = await readBody(req, deps.maxBodyBytes);
      const ctype = req.headers.get("content-type");
      let body: unknown = {};
      if (/protobuf/.test(ctype ?? "")) {
        // kubectl sends reviews as protobuf; the answer does not depend on the spec.
        try {
          body = decodeK8sProtobuf(raw);
        } catch { /* kinds outside the generated tables: an empty spec */ }
      } else if (utf8(raw).trim()) body = parseBody(utf8(raw), ctype);
      return json(201, review(def.resource, method, body, namespace));
    }

    if (method === "GET") {
      checkResourceVersionParam(q.get("resourceVersion"));
      const watching = watchPath || q.get("watch") === "true" || q.get("watch") === "1";
      if (watching) {
        return serveWatch(deps.store, rest, t, q, deps.watches, {
          bookmarkMs: deps.bookmarkMs,
          table: wantsTable(accept),
          includeObject: q.get("includeObject"),
        });
      }
      if (sub === "scale" && name !== undefined) return json(200, getScale(rest, t));
      if (name !== undefined) return objectResponse(200, t, rest.get(t), accept, q);
      const res = rest.list(t, q);
      if (wantsTable(accept)) {
        return json(
          200,
          toTable(
            def,
            res.items.map((o) => rest.presentObject(def, o.obj)),
            res.rv,
            q.get("includeObject"),
            true,
            res.cont,
          ),
        );
      }
      const meta: Record<string, unknown> = { resourceVersion: res.rv };
      if (res.cont) {
        meta.continue = res.cont;
        meta.remainingItemCount = res.remaining;
      }
      const head = JSON.stringify({
        kind: def.listKind,
        apiVersion: apiVersionOf(def),
        metadata: meta,
      });
      const items = res.items.map((o) => rest.present(def, o)).join(",");
      return json(200, `${head.slice(0, -1)},"items":[${items}]}`);
    }

    const ctype = req.headers.get("content-type");
    if (ctype && /cbor/.test(ctype)) {
      await req.body?.cancel().catch(() => {});
      throw unsupportedMediaType(
        `the body of the request was in an unsupported format: ${ctype}; use application/json`,
      );
    }
    const raw = await readBody(req, deps.maxBodyBytes);
    const isProto = /protobuf/.test(ctype ?? "");
    if (isProto && method === "PATCH") {
      throw unsupportedMediaType("patch bodies must be JSON or YAML");
    }
    const text = isProto ? "" : utf8(raw);
    const empty = isProto ? raw.length === 0 : text.trim() === "";
    const parse = (): unknown => isProto ? decodeK8sProtobuf(raw) : parseBody(text, ctype);
    if (method === "POST") {
      if (sub === "token" && name !== undefined) {
        return await tokenRequest(t, (empty ? {} : parse()) as Record<string, unknown>);
      }
      if ((sub === "binding" || sub === "eviction") && name !== undefined) {
        const body = (empty ? {} : parse()) as Record<string, unknown>;
        const podTarget = { ...t, subresource: undefined };
        if (sub === "binding") {
          const node = (body.target as Record<string, unknown> | undefined)?.name;
          if (typeof node !== "string" || !node) {
            throw badRequest("binding target.name is required");
          }
          const meta = (body.metadata ?? {}) as {
            uid?: string;
            resourceVersion?: string;
            annotations?: Record<string, string>;
          };
          await rest.bind(podTarget, node, meta);
        } else {
          const opts = deleteOptions(q, body.deleteOptions);
          await rest.delete(podTarget, opts, isDryRun(q, body.deleteOptions));
        }
        return json(201, {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Success",
          code: 201,
        });
      }
      if (name !== undefined || sub !== undefined) {
        throw methodNotAllowed(`POST is not supported on ${url.pathname}`);
      }
      const body = parse();
      const created = await rest.create(t, body, isDryRun(q), writer(req, q, t));
      return objectResponse(201, t, created, accept, q);
    }
    if (method === "PUT") {
      if (name === undefined) throw methodNotAllowed("PUT requires a name");
      const body = parse();
      if (sub === "scale") return json(200, await putScale(rest, t, body, isDryRun(q)));
      const res = await rest.update(t, body, isDryRun(q), writer(req, q, t));
      return objectResponse(200, t, res.object, accept, q);
    }
    if (method === "PATCH") {
      if (name === undefined) throw methodNotAllowed("PATCH requires a name");
      if (sub === "scale") {
        return json(200, await patchScale(rest, t, text, ctype, isDryRun(q)));
      }
      const res = await rest.patch(t, text, ctype, isDryRun(q), writer(req, q, t));
      return objectResponse(res.created ? 201 : 200, t, res.object, accept, q);
    }
    if (method === "DELETE") {
      if (sub !== undefined) throw methodNotAllowed(`DELETE is not supported on ${url.pathname}`);
      const body = empty ? undefined : parse();
      const opts = deleteOptions(q, body);
      const dry = isDryRun(q, body);
      if (name === undefined) {
        const items = await rest.deleteCollection(t, q, opts, dry);
        const head = JSON.stringify({
          kind: def.listKind,
          apiVersion: apiVersionOf(def),
          metadata: { resourceVersion: String(deps.store.resourceVersion) },
        });
        return json(
          200,
          `${head.slice(0, -1)},"items":[${items.map((o) => rest.present(def, o)).join(",")}]}`,
        );
      }
      const res = await rest.delete(t, opts, dry);
      if (res.deleted && !(def.group === "" && def.resource === "pods") && def.builtin) {
        return json(200, {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Success",
          details: {
            name,
            group: def.group || undefined,
            kind: def.resource,
            uid: res.object.obj.metadata?.uid,
          },
        });
      }
      return objectResponse(200, t, res.object, accept, q);
    }
    throw methodNotAllowed(`${method} is not supported`);
  }

  async function tokenRequest(t: Target, body: Record<string, unknown>): Promise<Response> {
    const sa = rest.get({ ...t, subresource: undefined });
    const spec = (body.spec ?? {}) as Record<string, unknown>;
    const seconds = Number(spec.expirationSeconds ?? 3600);
    if (!Number.isInteger(seconds) || seconds < 600) {
      throw badRequest("spec.expirationSeconds must be an integer of at least 600");
    }
    const audiences = Array.isArray(spec.audiences) && spec.audiences.length
      ? spec.audiences.map(String)
      : ["https://kubernetes.default.svc"];
    const token = await deps.issueToken(
      t.namespace,
      t.name!,
      sa.obj.metadata!.uid!,
      audiences,
      seconds,
    );
    const now = deps.now();
    const ts = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");
    return json(201, {
      kind: "TokenRequest",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { name: t.name, namespace: t.namespace, creationTimestamp: ts(now) },
      spec: { audiences, expirationSeconds: seconds, boundObjectRef: spec.boundObjectRef ?? null },
      status: { token, expirationTimestamp: ts(new Date(now.getTime() + seconds * 1000)) },
    });
  }

  return async (req: Request, opts?: { inProcess?: boolean }): Promise<Response> => {
    if (opts?.inProcess) inProcess.add(req);
    try {
      const res = await route(req);
      log.debug("request", { method: req.method, url: req.url, status: res.status });
      return res;
    } catch (e) {
      if (e instanceof ApiError) {
        log.debug("request failed", {
          method: req.method,
          url: req.url,
          status: e.code,
          reason: e.reason,
        });
        return errorResponse(e);
      }
      if (e instanceof StoreClosedError) {
        // A request that raced the shutdown (in-process callers have no listener to close).
        log.debug("request during shutdown", { method: req.method, url: req.url });
        return errorResponse(
          new ApiError(503, "ServiceUnavailable", "the API server is shutting down"),
        );
      }
      log.error("request crashed", {
        method: req.method,
        url: req.url,
        error: e,
        stack: (e as Error)?.stack,
      });
      return errorResponse(internal(String((e as Error)?.message ?? e)));
    }
  };
}

function notFoundPath(): ApiError {
  return new ApiError(404, "NotFound", "the server could not find the requested resource");
}
