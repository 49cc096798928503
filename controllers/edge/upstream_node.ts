/**
 * Upstream handlers for the node itself: `nodestatus` (insert/update), `node`
 * (insert/query/update) and `nodepatch` (docs/protocol.md §7.1).
 */
import { getContentJson, MessageSuccessfulContent, ResourceType } from "../../modules/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import { CloudCoreAnnotation, isConflict, isNotFound, PatchStrategy } from "../../kube/mod.ts";
import { goField, patchBody, paths, rfc3339, withTypeMeta, zeroObject } from "./meta.ts";
import {
  asListerError,
  errorReply,
  errorString,
  hasName,
  objectResp,
  reply,
  rvOf,
  statusErrorJson,
  type UpstreamContext,
  type UpstreamRequest,
} from "./upstream_context.ts";
import type { NodeLike, NodeStatusLike } from "./shapes.ts";

const log = createLogger("edgecontroller");

/** Extended resource whose status KubeEdge mirrors into a Huawei annotation. */
export const NvidiaGPUResource = "nvidia.com/gpu";
/** Annotation carrying the GPU status JSON. */
export const NvidiaGPUStatusAnnotationKey = "huawei.com/gpu-status";

function nodeResource(req: UpstreamRequest): string {
  // nodestatus replies use resource type `node` (BuildResource(node, ns, "node", name)).
  return `node/${req.node}/${req.namespace}/${ResourceType.Node}/${req.name}`;
}

function isK8sLabel(key: string): boolean {
  const slash = key.indexOf("/");
  if (slash < 0) return false;
  const prefix = key.slice(0, slash);
  return prefix === "kubernetes.io" || prefix.endsWith(".kubernetes.io");
}

/** A failed node create, with the `Object` cloudcore answers next to the error. */
class CreateNodeError extends Error {
  constructor(readonly apiError: unknown, readonly object: unknown) {
    super(errorString(apiError));
  }
}

/**
 * The node cloudcore's `createNode` creates: named `name` (the resource name, whatever the object
 * says), `kubernetes.io` labels taken out (they are patched on after the create), the
 * `cloudcore` annotation set. `failed` is the `ObjectResp.Object` cloudcore answers next to an
 * error: client-go's empty Node, into which its deferred re-labelling puts those labels.
 */
function prepareNode(ctx: UpstreamContext, name: string, body: unknown) {
  const node = withTypeMeta(structuredClone((body ?? {}) as NodeLike), "node");
  if (!node.metadata || typeof node.metadata !== "object") node.metadata = {};
  const meta = node.metadata;
  const labels: Record<string, string> = meta.labels ?? {};
  const reserved: Record<string, string> = {};
  for (const k of Object.keys(labels).sort()) {
    if (isK8sLabel(k)) {
      reserved[k] = labels[k];
      delete labels[k];
    }
  }
  meta.name = name;
  meta.annotations = { ...meta.annotations, [CloudCoreAnnotation]: ctx.localIp };
  delete meta.resourceVersion;
  const failed = zeroObject("node");
  if (Object.keys(reserved).length > 0) failed.metadata.labels = { ...reserved };
  return { node, reserved, failed };
}

/** The content of a node insert: a Node object (or null); anything else cannot be decoded. */
function nodeContent(req: UpstreamRequest): unknown {
  const body = getContentJson<unknown>(req.msg);
  if (body !== null && (typeof body !== "object" || Array.isArray(body))) {
    throw new Error(`cannot unmarshal ${Array.isArray(body) ? "array" : typeof body} into Node`);
  }
  return body;
}

/** cloudcore's reply to a node insert whose content does not decode. */
function unmarshalError(req: UpstreamRequest, err: unknown): string {
  return `message: ${req.msg.header.id} process failure, unmarshal marshaled message content with error: ${
    errorString(err)
  }`;
}

/** Creates a node as cloudcore's `createNode` does (see {@link prepareNode}). */
async function createNode(
  ctx: UpstreamContext,
  req: UpstreamRequest,
  name: string,
  body: unknown,
): Promise<NodeLike> {
  const { node, reserved, failed } = prepareNode(ctx, name, body);
  let created: NodeLike;
  try {
    created = await ctx.kube.create<NodeLike>(paths.nodes(), node, { node: req.node });
  } catch (err) {
    throw new CreateNodeError(err, failed);
  }
  if (Object.keys(reserved).length > 0) {
    try {
      created = await ctx.kube.patch<NodeLike>(
        paths.node(created.metadata?.name ?? name),
        { metadata: { labels: reserved } },
        PatchStrategy.MergePatch,
        { node: req.node },
      );
    } catch (err) {
      // cloudcore loses this error (a shadowed variable) and answers an empty Node without one;
      // we answer the error (see docs/compatibility.md).
      throw new CreateNodeError(err, failed);
    }
  }
  return withTypeMeta(created, "node");
}

/** The `err.Error()` of a failed create (the API's message). */
function createError(err: unknown): string {
  return errorString(err instanceof CreateNodeError ? err.apiError : err);
}

/**
 * `nodestatus` insert: "OK" when the node exists, else create it from the content. Failures are
 * answered with cloudcore's error text (a string). No resourceVersion in the reply.
 */
export async function nodeStatusInsert(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  if (!hasName(req)) return;
  const answer = (content: string) => reply(ctx, req, content, { resource: nodeResource(req) });
  const denied = ctx.auth.ownNode(req.node, req.name);
  let existing: NodeLike | null;
  try {
    if (denied) throw denied;
    existing = await ctx.kube.get(paths.node(req.name), { node: req.node }).catch((err) => {
      if (isNotFound(err)) return null;
      throw err;
    });
  } catch (err) {
    return answer(
      `get node ${req.name} info error: ${errorString(err)} , register node failed`,
    );
  }
  if (existing) return answer(MessageSuccessfulContent);
  let body: unknown;
  try {
    body = nodeContent(req);
  } catch (err) {
    return answer(unmarshalError(req, err));
  }
  try {
    await createNode(ctx, req, req.name, body);
  } catch (err) {
    // cloudcore's wording: "create node <name> error: <err> , register node failed".
    return answer(`create node ${req.name} error: ${createError(err)} , register node failed`);
  }
  await answer(MessageSuccessfulContent);
}

/** `nodestatus` update: heartbeat refresh, extended resources, keep controller-owned fields. */
export async function nodeStatusUpdate(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  if (!hasName(req)) return;
  const denied = ctx.auth.ownNode(req.node, req.name);
  if (denied) {
    // cloudcore answers no failure of a status update (its GET would have been refused).
    return log.warn("nodestatus update refused", { node: req.node, status: denied.message });
  }
  const body = getContentJson<unknown>(req.msg) ?? {};
  const status = structuredClone((goField(body, "Status") ?? {}) as NodeStatusLike);
  const extend = goField(body, "ExtendResources") as Record<string, unknown> | undefined;
  // The informer's copy saves a GET per heartbeat (1,000 nodes: 100 reads/s); an update that
  // conflicts because the copy lagged is retried once from a fresh read.
  const cached = ctx.caches.nodes?.get(req.name);
  let node: NodeLike;
  if (cached) node = structuredClone(cached) as NodeLike;
  else {
    const fresh = await readNode(ctx, req);
    if (!fresh) return;
    node = fresh;
  }
  const now = ctx.now();
  for (const c of status.conditions ?? []) {
    const t = Date.parse(c.lastHeartbeatTime ?? "");
    if (Number.isNaN(t) || now - t > ctx.nodeUpdateFrequencyMs) c.lastHeartbeatTime = rfc3339(now);
  }
  // Annotations are metadata: a status update would drop them, so patch them first.
  const annotations: Record<string, string> = {};
  for (const [name, v] of Object.entries(extend ?? {})) {
    annotations[name] = JSON.stringify(v);
    if (name === NvidiaGPUResource && Array.isArray(v) && v.length > 0) {
      // types.NvidiaGPUStatus{ID: <extended resource name>, Healthy: true} per GPU.
      annotations[NvidiaGPUStatusAnnotationKey] = JSON.stringify(
        v.map((r) => ({ id: String(goField(r, "Name") ?? ""), healthy: true })),
      );
    }
  }
  const write = async (node: NodeLike): Promise<NodeLike> => {
    const current = node.metadata?.annotations ?? {};
    if (Object.entries(annotations).some(([k, v]) => current[k] !== v)) {
      node = await ctx.kube.patch(
        paths.node(req.name),
        { metadata: { annotations } },
        PatchStrategy.MergePatch,
        { node: req.node },
      );
    }
    const next = structuredClone(status);
    // volumesAttached is owned by kube-controller-manager; the kubelet port by the API.
    if (node.status?.volumesAttached !== undefined) {
      next.volumesAttached = node.status.volumesAttached;
    } else delete next.volumesAttached;
    const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
    if (port) {
      next.daemonEndpoints ??= {};
      next.daemonEndpoints.kubeletEndpoint = { Port: port };
    }
    node.status = next;
    return await ctx.kube.update(paths.nodeStatus(req.name), node, { node: req.node });
  };
  try {
    let updated: NodeLike;
    try {
      updated = await write(node);
    } catch (err) {
      if (!cached || !isConflict(err)) throw err;
      const fresh = await readNode(ctx, req);
      if (!fresh) return;
      updated = await write(fresh);
    }
    await reply(ctx, req, MessageSuccessfulContent, {
      resource: nodeResource(req),
      resourceVersion: rvOf(updated),
    });
  } catch (err) {
    // Like cloudcore: a failed update is logged and not answered (edged sends, never waits).
    log.warn("nodestatus update failed", { node: req.name, error: err });
  }
}

/** The node from the API; undefined (logged) when it is missing or unreadable. */
async function readNode(
  ctx: UpstreamContext,
  req: UpstreamRequest,
): Promise<NodeLike | undefined> {
  try {
    return await ctx.kube.get<NodeLike>(paths.node(req.name), { node: req.node });
  } catch (err) {
    if (isNotFound(err)) {
      log.warn("nodestatus for a node that does not exist", { node: req.name });
      return undefined; // §7.1: NotFound gets no reply
    }
    log.warn("nodestatus update: cannot read the node", { node: req.name, error: err });
    return undefined;
  }
}

/**
 * `node` insert: create the node named by the resource (cloudcore sets `metadata.name` from the
 * route, whatever the object says). `ObjectResp` without a resourceVersion; on an error `Object`
 * is the empty Node cloudcore sends. Content that does not decode is answered with cloudcore's
 * error text (a string).
 */
export async function nodeInsert(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  if (!hasName(req)) return;
  let body: unknown;
  try {
    body = nodeContent(req);
  } catch (err) {
    return reply(ctx, req, unmarshalError(req, err), { resource: nodeResource(req) });
  }
  const name = req.name;
  const denied = ctx.auth.ownNode(req.node, name);
  // Refused as the API would refuse cloudcore's impersonated create: the same reply.
  if (denied) return reply(ctx, req, objectResp(null, denied, prepareNode(ctx, name, body).failed));
  try {
    const created = await createNode(ctx, req, name, body);
    await reply(ctx, req, objectResp(created));
  } catch (err) {
    if (err instanceof CreateNodeError) {
      return reply(ctx, req, objectResp(null, err.apiError, err.object));
    }
    await reply(ctx, req, objectResp(null, err, zeroObject("node")));
  }
}

/** `node` query: the Node with its RV, or the StatusError JSON (the lister's NotFound). */
export async function nodeQuery(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  if (!hasName(req)) return;
  const denied = ctx.auth.ownNode(req.node, req.name);
  if (denied) return reply(ctx, req, statusErrorJson(denied));
  try {
    const cached = ctx.caches.nodes?.get(req.name);
    const node = cached ? structuredClone(cached) : await ctx.kube.get(paths.node(req.name), {
      node: req.node,
    }).catch((err) => {
      throw asListerError(err, "node", "", req.name);
    });
    withTypeMeta(node, "node");
    await reply(ctx, req, node, { resourceVersion: rvOf(node) });
  } catch (err) {
    await reply(ctx, req, errorReply(err));
  }
}

/**
 * `node` update: merge labels and annotations into the current node; "OK" with its RV. Like
 * cloudcore, a failure (missing node, refused, failed patch) gets no reply: edged's `Update`
 * only learns of it by its wait timing out (any reply would read as success).
 */
export async function nodeUpdate(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  if (!hasName(req)) return;
  const denied = ctx.auth.ownNode(req.node, req.name);
  if (denied) return log.warn("node update refused", { node: req.node, status: denied.message });
  const body = getContentJson<NodeLike>(req.msg) ?? {};
  try {
    const patch = {
      metadata: {
        labels: body?.metadata?.labels ?? {},
        annotations: body?.metadata?.annotations ?? {},
      },
    };
    const updated = await ctx.kube.patch(
      paths.node(req.name),
      patch,
      PatchStrategy.StrategicMergePatch,
      { node: req.node },
    );
    await reply(ctx, req, MessageSuccessfulContent, {
      resource: nodeResource(req),
      resourceVersion: rvOf(updated),
    });
  } catch (err) {
    log.warn("node update failed", { node: req.name, error: err });
  }
}

/**
 * `nodepatch`: strategic merge patch on the node's status; `ObjectResp` with the RV, on an error
 * the empty Node and no RV.
 */
export async function nodePatch(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  if (!hasName(req)) return;
  const denied = ctx.auth.ownNode(req.node, req.name);
  if (denied) return reply(ctx, req, objectResp(null, denied, zeroObject("node")));
  try {
    const body = patchBody(req.msg.content);
    const node = await ctx.kube.patch(
      paths.nodeStatus(req.name),
      body,
      PatchStrategy.StrategicMergePatch,
      { node: req.node },
    );
    withTypeMeta(node, "node");
    await reply(ctx, req, objectResp(node), { resourceVersion: rvOf(node) });
  } catch (err) {
    await reply(ctx, req, objectResp(null, err, zeroObject("node")));
  }
}
