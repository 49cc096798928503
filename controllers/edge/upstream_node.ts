/**
 * Upstream handlers for the node itself: `nodestatus` (insert/update), `node`
 * (insert/query/update) and `nodepatch` (PROTOCOL.md §7.1).
 */
import { getContentJson, ResourceType } from "../../modules/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import {
  CloudCoreAnnotation,
  goStatusError,
  isConflict,
  isNotFound,
  PatchStrategy,
} from "../../kube/mod.ts";
import { goField, patchBody, paths, rfc3339, withTypeMeta } from "./meta.ts";
import {
  errorContent,
  errorString,
  objectResp,
  reply,
  rvOf,
  type UpstreamContext,
  type UpstreamRequest,
} from "./upstream_context.ts";

const log = createLogger("edgecontroller");

/** Extended resource whose status KubeEdge mirrors into a Huawei annotation. */
export const NvidiaGPUResource = "nvidia.com/gpu";
/** Annotation carrying the GPU status JSON. */
export const NvidiaGPUStatusAnnotationKey = "huawei.com/gpu-status";

// deno-lint-ignore no-explicit-any
type Json = any;

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

/** Creates a node as node insert does; returns the created node. */
async function createNode(ctx: UpstreamContext, req: UpstreamRequest, node: Json): Promise<Json> {
  node = withTypeMeta(structuredClone(node ?? {}), "node");
  node.metadata ??= {};
  const labels: Record<string, string> = node.metadata.labels ?? {};
  const reserved: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (isK8sLabel(k)) {
      reserved[k] = v;
      delete labels[k];
    }
  }
  node.metadata.annotations = { ...node.metadata.annotations, [CloudCoreAnnotation]: ctx.localIp };
  delete node.metadata.resourceVersion;
  let created = await ctx.kube.create<Json>(paths.nodes(), node, { node: req.node });
  if (Object.keys(reserved).length > 0) {
    created = await ctx.kube.patch<Json>(
      paths.node(created.metadata.name),
      { metadata: { labels: reserved } },
      PatchStrategy.MergePatch,
      { node: req.node },
    );
  }
  return withTypeMeta(created, "node");
}

/** `nodestatus` insert: OK when the node exists, else create it from the content. */
export async function nodeStatusInsert(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  const denied = ctx.auth.ownNode(req.node, req.name);
  if (denied) return reply(ctx, req, goStatusError(denied), { resource: nodeResource(req) });
  try {
    const existing = await ctx.kube.get(paths.node(req.name), { node: req.node }).catch((err) => {
      if (isNotFound(err)) return null;
      throw err;
    });
    if (existing) {
      return reply(ctx, req, "OK", {
        resource: nodeResource(req),
        resourceVersion: rvOf(existing),
      });
    }
    const created = await createNode(ctx, req, getContentJson(req.msg));
    await reply(ctx, req, "OK", { resource: nodeResource(req), resourceVersion: rvOf(created) });
  } catch (err) {
    // cloudcore's wording: "create node <name> error: <err> , register node failed".
    await reply(
      ctx,
      req,
      `create node ${req.name} error: ${errorString(err)} , register node failed`,
      {
        resource: nodeResource(req),
      },
    );
  }
}

/** `nodestatus` update: heartbeat refresh, extended resources, keep controller-owned fields. */
export async function nodeStatusUpdate(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  const denied = ctx.auth.ownNode(req.node, req.name);
  if (denied) return reply(ctx, req, goStatusError(denied), { resource: nodeResource(req) });
  const body: Json = getContentJson(req.msg) ?? {};
  const status: Json = structuredClone(goField(body, "Status") ?? {});
  const extend = goField(body, "ExtendResources") as Record<string, unknown> | undefined;
  // The informer's copy saves a GET per heartbeat (1,000 nodes: 100 reads/s); an update that
  // conflicts because the copy lagged is retried once from a fresh read.
  const cached = ctx.caches.nodes?.get(req.name);
  let node: Json;
  if (cached) node = structuredClone(cached) as Json;
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
  const write = async (node: Json): Promise<Json> => {
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
    let updated: Json;
    try {
      updated = await write(node);
    } catch (err) {
      if (!cached || !isConflict(err)) throw err;
      const fresh = await readNode(ctx, req);
      if (!fresh) return;
      updated = await write(fresh);
    }
    await reply(ctx, req, "OK", { resource: nodeResource(req), resourceVersion: rvOf(updated) });
  } catch (err) {
    // Like cloudcore: a failed update is logged and not answered (edged sends, never waits).
    log.warn("nodestatus update failed", { node: req.name, error: err });
  }
}

/** The node from the API; undefined (logged) when it is missing or unreadable. */
async function readNode(ctx: UpstreamContext, req: UpstreamRequest): Promise<Json | undefined> {
  try {
    return await ctx.kube.get(paths.node(req.name), { node: req.node });
  } catch (err) {
    if (isNotFound(err)) {
      log.warn("nodestatus for a node that does not exist", { node: req.name });
      return undefined; // §7.1: NotFound gets no reply
    }
    log.warn("nodestatus update: cannot read the node", { node: req.name, error: err });
    return undefined;
  }
}

/** `node` insert: create the node (kubernetes.io labels re-applied after create). */
export async function nodeInsert(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  const body: Json = getContentJson(req.msg) ?? {};
  const name = body?.metadata?.name || req.name;
  const denied = ctx.auth.ownNode(req.node, name);
  if (denied) return reply(ctx, req, objectResp(null, denied));
  try {
    body.metadata = { ...body.metadata, name };
    const created = await createNode(ctx, req, body);
    await reply(ctx, req, objectResp(created), { resourceVersion: rvOf(created) });
  } catch (err) {
    await reply(ctx, req, objectResp(null, err));
  }
}

/** `node` query: the Node with its RV, or the StatusError JSON. */
export async function nodeQuery(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  const denied = ctx.auth.ownNode(req.node, req.name);
  if (denied) return reply(ctx, req, goStatusError(denied));
  try {
    const cached = ctx.caches.nodes?.get(req.name);
    const node = cached ? structuredClone(cached) : await ctx.kube.get(paths.node(req.name), {
      node: req.node,
    });
    withTypeMeta(node, "node");
    await reply(ctx, req, node, { resourceVersion: rvOf(node) });
  } catch (err) {
    await reply(ctx, req, errorContent(err));
  }
}

/** `node` update: merge labels and annotations into the current node. */
export async function nodeUpdate(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  const denied = ctx.auth.ownNode(req.node, req.name);
  if (denied) return reply(ctx, req, goStatusError(denied));
  const body: Json = getContentJson(req.msg) ?? {};
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
    await reply(ctx, req, "OK", { resourceVersion: rvOf(updated) });
  } catch (err) {
    await reply(ctx, req, errorContent(err));
  }
}

/** `nodepatch`: strategic merge patch on the node's status; ObjectResp with RV. */
export async function nodePatch(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  const denied = ctx.auth.ownNode(req.node, req.name);
  if (denied) return reply(ctx, req, objectResp(null, denied));
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
    await reply(ctx, req, objectResp(null, err));
  }
}
