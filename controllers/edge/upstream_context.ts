/**
 * What every upstream handler gets: the parsed request, the Kubernetes client, caches, the
 * authorizer and the reply helpers that build responses exactly as §7.1 (parent id = request id,
 * source `edgecontroller`, group `resource`, operation `response`, sent to cloudhub).
 */
import {
  buildMessage,
  type Bus,
  Group,
  type Message,
  ModuleName,
  Operation,
} from "../../modules/mod.ts";
import {
  type Informer,
  isNotFound,
  KubeApiError,
  type KubeClient,
  type KubeObject,
  type KubeStatus,
} from "../../kube/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import type { NodeAuthorizer } from "./authorize.ts";
import type { LocationCache } from "./location.ts";

const log = createLogger("edgecontroller");

/** An upstream request with its resource parsed (`node/<node>/<ns>/<type>[/<name>]`). */
export interface UpstreamRequest {
  msg: Message;
  node: string;
  namespace: string;
  type: string;
  name: string;
  operation: string;
}

/** Informer caches EdgeController keeps (the listers of KubeEdge's upstream). */
export interface UpstreamCaches {
  nodes?: Informer<KubeObject>;
  pods?: Informer<KubeObject>;
  configmaps?: Informer<KubeObject>;
  secrets?: Informer<KubeObject>;
}

/** Shared state of the upstream handlers. */
export interface UpstreamContext {
  kube: KubeClient;
  bus: Bus;
  caches: UpstreamCaches;
  location: LocationCache;
  auth: NodeAuthorizer;
  /** `nodeUpdateFrequency` in ms (default 10 s). */
  nodeUpdateFrequencyMs: number;
  /** Local IP put into the `cloudcore` annotation of nodes created through us. */
  localIp: string;
  now: () => number;
}

/** `ObjectResp` (Go field names, no JSON tags). */
export interface ObjectResp {
  Object: unknown;
  Err: unknown;
}

/**
 * A `metav1.Status` as it is inside cloudcore's `*StatusError`: client-go decodes the API's
 * Status with a decoder that clears `kind`/`apiVersion`, and apimachinery's `New*` helpers never
 * set them, so the Go JSON has neither; keys in Go struct order.
 */
export function goStatusJson(
  status: KubeStatus | Record<string, unknown>,
): Record<string, unknown> {
  const s = status as Record<string, unknown>;
  const out: Record<string, unknown> = { metadata: s.metadata ?? {} };
  for (const k of ["status", "message", "reason"]) if (s[k]) out[k] = s[k];
  const d = s.details as Record<string, unknown> | undefined;
  if (d && typeof d === "object") {
    const details: Record<string, unknown> = {};
    for (const k of ["name", "group", "kind", "uid", "causes", "retryAfterSeconds"]) {
      const v = d[k];
      if (v === undefined || v === null || v === "" || v === 0) continue;
      if (Array.isArray(v) && v.length === 0) continue;
      details[k] = v;
    }
    out.details = details;
  }
  if (s.code) out.code = s.code;
  return out;
}

/** `{"ErrStatus":...}`: the Go JSON of a `*StatusError` carrying `status`. */
export function statusErrorJson(status: KubeStatus): { ErrStatus: Record<string, unknown> } {
  return { ErrStatus: goStatusJson(status) };
}

/** The Kubernetes Status of an error, if it is an API error (or a bare Status). */
function statusOf(err: unknown): KubeStatus | undefined {
  const e = err as { kind?: unknown; status?: { kind?: unknown } } | null | undefined;
  if (err instanceof KubeApiError) return err.status;
  if (e?.kind === "Status") return err as KubeStatus;
  if (e?.status?.kind === "Status") return e.status as unknown as KubeStatus;
  return undefined;
}

/**
 * The Go JSON of an error value: a KubeApiError or a bare `metav1.Status` becomes
 * `{"ErrStatus":{...}}`; anything else is a plain Go error and marshals as `{}` (§1.2).
 */
export function errorContent(err: unknown): Record<string, unknown> {
  const status = statusOf(err);
  return status ? statusErrorJson(status) : {};
}

/**
 * The content of a reply that is an error value itself (cloudcore's `FillBody(err)`): the
 * StatusError JSON, or for a plain Go error an `Error`, which marshals as `{}` like the Go value
 * and which cloudhub, as cloudcore's, recognises as an error reply (sent without waiting for an
 * ACK).
 */
export function errorReply(err: unknown): unknown {
  const status = statusOf(err);
  if (status) return statusErrorJson(status);
  return new Error(errorString(err));
}

/**
 * Builds `ObjectResp{Object, Err}` from an object, or from an error. On an error `Object` is
 * `zero`: what client-go returns next to an error is the empty typed object (see
 * {@link zeroObject}); it is `null` only where cloudcore has no object at all.
 */
export function objectResp(obj: unknown, err?: unknown, zero: unknown = null): ObjectResp {
  if (err !== undefined && err !== null) return { Object: zero, Err: errorContent(err) };
  return { Object: obj ?? null, Err: null };
}

/**
 * `apierrors.NewNotFound(resource, name)` as a lister returns it: cloudcore answers configmap,
 * secret, node and lease queries from informer listers, whose NotFound names the singular
 * resource (`configmap "x" not found`), not the API's plural.
 */
export function listerNotFound(resource: string, group: string, name: string): KubeStatus {
  const qualified = group ? `${resource}.${group}` : resource;
  const details: KubeStatus["details"] = { name, kind: resource };
  if (group) details.group = group;
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: `${qualified} ${JSON.stringify(name)} not found`,
    reason: "NotFound",
    details,
    code: 404,
  };
}

/** A NotFound from the API turned into the lister's NotFound; other errors unchanged. */
export function asListerError(err: unknown, resource: string, group: string, name: string) {
  return isNotFound(err) ? listerNotFound(resource, group, name) : err;
}

/**
 * True when the request names an object. cloudcore drops (logs, no reply) a request whose
 * resource has no name segment for every type but `podstatus` and `event`.
 */
export function hasName(req: UpstreamRequest): boolean {
  if (req.name) return true;
  log.warn("upstream request without a resource name dropped", {
    node: req.node,
    resource: req.msg.route.resource ?? "",
    operation: req.operation,
  });
  return false;
}

/** Builds the response to `req` (source edgecontroller, group resource, op response). */
export function responseFor(
  req: Message,
  content: unknown,
  opts: { resourceVersion?: string; resource?: string } = {},
): Message {
  return buildMessage(
    {
      source: ModuleName.EdgeController,
      group: Group.Resource,
      operation: Operation.Response,
      resource: opts.resource ?? req.route.resource,
    },
    content,
    { parentId: req.header.id, resourceVersion: opts.resourceVersion },
  );
}

/** Sends a message to cloudhub (which routes by the `node/<id>/` prefix). */
export async function toCloudHub(ctx: UpstreamContext, msg: Message): Promise<void> {
  await ctx.bus.send(ModuleName.CloudHub, msg);
}

/** Replies to a request. */
export async function reply(
  ctx: UpstreamContext,
  req: UpstreamRequest,
  content: unknown,
  opts: { resourceVersion?: string; resource?: string } = {},
): Promise<void> {
  await toCloudHub(ctx, responseFor(req.msg, content, opts));
}

/** `err.Error()` of a Go error: the Status message for API errors. */
export function errorString(err: unknown): string {
  const status = statusOf(err);
  if (status) return status.message ?? "";
  return err instanceof Error ? err.message : String(err);
}

/** The object's resourceVersion, if any. */
export function rvOf(obj: unknown): string | undefined {
  return (obj as KubeObject | null)?.metadata?.resourceVersion || undefined;
}
