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
  goErrorJson,
  goStatusError,
  type Informer,
  type KubeClient,
  type KubeObject,
  type KubeStatus,
} from "../../kube/mod.ts";
import type { NodeAuthorizer } from "./authorize.ts";
import type { LocationCache } from "./location.ts";

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
 * The Go JSON of an error value: a KubeApiError or a bare `metav1.Status` becomes
 * `{"ErrStatus":{...}}`; anything else is a plain Go error and marshals as `{}` (§1.2).
 */
export function errorContent(err: unknown): Record<string, unknown> {
  // deno-lint-ignore no-explicit-any
  const e = err as any;
  if (e?.kind === "Status") return goStatusError(e as KubeStatus);
  if (e?.status?.kind === "Status") return goStatusError(e.status as KubeStatus);
  return goErrorJson(err);
}

/** Builds `ObjectResp{Object, Err}` from an object, or from an error (Object null). */
export function objectResp(obj: unknown, err?: unknown): ObjectResp {
  if (err !== undefined && err !== null) return { Object: null, Err: errorContent(err) };
  return { Object: obj ?? null, Err: null };
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
  // deno-lint-ignore no-explicit-any
  const status = (err as any)?.status;
  if (status && typeof status.message === "string") return status.message;
  return err instanceof Error ? err.message : String(err);
}

/** The object's resourceVersion, if any. */
export function rvOf(obj: unknown): string | undefined {
  return (obj as KubeObject | null)?.metadata?.resourceVersion || undefined;
}
