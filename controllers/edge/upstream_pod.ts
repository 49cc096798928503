/**
 * Upstream handlers for pods: `podstatus` (single or array), `podpatch`, `pod` insert/delete
 * (PROTOCOL.md §7.1).
 */
import {
  buildMessage,
  getContentJson,
  Group,
  ModuleName,
  Operation,
  ResourceType,
} from "../../modules/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import {
  goStatusError,
  isConflict,
  isNotFound,
  KubeApiError,
  PatchStrategy,
} from "../../kube/mod.ts";
import { goField, patchBody, paths, withTypeMeta } from "./meta.ts";
import { mergePodStatus, shouldDeleteTerminal } from "./podstatus.ts";
import {
  errorContent,
  objectResp,
  reply,
  rvOf,
  toCloudHub,
  type UpstreamContext,
  type UpstreamRequest,
} from "./upstream_context.ts";

const log = createLogger("edgecontroller");

// deno-lint-ignore no-explicit-any
type Json = any;

async function getPod(ctx: UpstreamContext, req: UpstreamRequest, name: string): Promise<Json> {
  try {
    return await ctx.kube.get(paths.pod(req.namespace, name), { node: req.node });
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** Tells the edge to drop a pod the cloud no longer has (or has under another UID). */
async function deletePodOnEdge(
  ctx: UpstreamContext,
  req: UpstreamRequest,
  name: string,
  uid?: string,
) {
  const metadata: Json = { name, namespace: req.namespace };
  if (uid) metadata.uid = uid;
  await toCloudHub(
    ctx,
    buildMessage(
      {
        source: ModuleName.EdgeController,
        group: Group.Resource,
        operation: Operation.Delete,
        resource: `node/${req.node}/${req.namespace}/${ResourceType.Pod}/${name}`,
      },
      { kind: "Pod", apiVersion: "v1", metadata },
    ),
  );
}

/** `podstatus` update (`PodStatusRequest` or an array of them). */
export async function podStatusUpdate(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  const body = getContentJson<Json>(req.msg);
  const entries: Json[] = Array.isArray(body) ? body : [body];
  try {
    for (const entry of entries) {
      const uid = goField(entry, "UID") as string | undefined;
      const name = (goField(entry, "Name") as string | undefined) || req.name;
      const reported = goField(entry, "Status");
      if (!name) continue;
      // The informer's copy saves a GET per status report when it is the pod the edge means;
      // anything else (missing, other UID) is decided on a fresh read, never on the cache.
      const cached = ctx.caches.pods?.get(name, req.namespace);
      const fromCache = !!cached && (!uid || cached.metadata?.uid === uid);
      const pod = fromCache ? structuredClone(cached) as Json : await getPod(ctx, req, name);
      if (!pod || (uid && pod.metadata?.uid !== uid)) {
        log.info("status for a pod the cloud does not have, deleting it on the edge", {
          node: req.node,
          pod: `${req.namespace}/${name}`,
        });
        await deletePodOnEdge(ctx, req, name, uid);
        continue;
      }
      const denied = ctx.auth.podBound(req.node, pod);
      if (denied) return reply(ctx, req, goStatusError(denied));
      const write = async (pod: Json): Promise<Json> => {
        pod.status = mergePodStatus(pod.status, reported, ctx.now());
        return await ctx.kube.update<Json>(paths.podStatus(req.namespace, name), pod, {
          node: req.node,
        });
      };
      let updated: Json;
      try {
        updated = await write(pod);
      } catch (err) {
        // A copy that lagged a write elsewhere: once more from a fresh read.
        if (!fromCache || !isConflict(err)) throw err;
        const fresh = await getPod(ctx, req, name);
        if (!fresh || (uid && fresh.metadata?.uid !== uid)) {
          await deletePodOnEdge(ctx, req, name, uid);
          continue;
        }
        updated = await write(fresh);
      }
      if (shouldDeleteTerminal(updated)) {
        await ctx.kube.delete(paths.pod(req.namespace, name), {
          kind: "DeleteOptions",
          apiVersion: "v1",
          gracePeriodSeconds: 0,
          preconditions: { uid: updated.metadata.uid },
        }, { node: req.node }).catch((err) => {
          if (!isNotFound(err) && !isConflict(err)) throw err;
        });
      }
    }
    await reply(ctx, req, "OK");
  } catch (err) {
    log.warn("podstatus update failed", {
      node: req.node,
      resource: req.msg.route.resource,
      error: err,
    });
    await reply(ctx, req, errorContent(err));
  }
}

/** `podpatch`: strategic merge patch on pod status; ObjectResp with RV. */
export async function podPatch(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  try {
    const pod = await getPod(ctx, req, req.name);
    if (!pod) {
      throw new KubeApiError(
        404,
        notFound(req.name),
        "PATCH",
        paths.podStatus(req.namespace, req.name),
      );
    }
    const denied = ctx.auth.podBound(req.node, pod);
    if (denied) return reply(ctx, req, objectResp(null, denied));
    const body = patchBody(req.msg.content);
    const patched = await ctx.kube.patch(
      paths.podStatus(req.namespace, req.name),
      body,
      PatchStrategy.StrategicMergePatch,
      { node: req.node },
    );
    withTypeMeta(patched, "pod");
    await reply(ctx, req, objectResp(patched), { resourceVersion: rvOf(patched) });
  } catch (err) {
    await reply(ctx, req, objectResp(null, err));
  }
}

function notFound(name: string) {
  return {
    kind: "Status" as const,
    apiVersion: "v1" as const,
    metadata: {},
    status: "Failure" as const,
    message: `pods "${name}" not found`,
    reason: "NotFound",
    details: { name, kind: "pods" },
    code: 404,
  };
}

/** `pod` insert: create a (mirror/static) pod bound to the requesting node. */
export async function podInsert(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  const pod: Json = withTypeMeta(structuredClone(getContentJson<Json>(req.msg) ?? {}), "pod");
  pod.metadata ??= {};
  pod.metadata.namespace ||= req.namespace;
  pod.metadata.name ||= req.name;
  const denied = ctx.auth.podBound(req.node, pod);
  if (denied) return reply(ctx, req, objectResp(null, denied));
  try {
    delete pod.metadata.resourceVersion;
    const created = await ctx.kube.create(paths.pods(pod.metadata.namespace), pod, {
      node: req.node,
    });
    withTypeMeta(created, "pod");
    await reply(ctx, req, objectResp(created), { resourceVersion: rvOf(created) });
  } catch (err) {
    await reply(ctx, req, objectResp(null, err));
  }
}

/** `pod` delete: UID precondition (string content) or DeleteOptions; gone counts as success. */
export async function podDelete(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  let options: Json;
  if (typeof req.msg.content === "string") {
    let parsed: Json = undefined;
    try {
      parsed = JSON.parse(req.msg.content);
    } catch { /* a bare UID */ }
    options = parsed && typeof parsed === "object"
      ? parsed
      : { gracePeriodSeconds: 0, preconditions: { uid: req.msg.content } };
  } else {
    options = getContentJson(req.msg) ?? {};
  }
  options = { kind: "DeleteOptions", apiVersion: "v1", ...options };
  try {
    const pod = await getPod(ctx, req, req.name);
    if (pod) {
      const denied = ctx.auth.podBound(req.node, pod);
      if (denied) return reply(ctx, req, goStatusError(denied));
      await ctx.kube.delete(paths.pod(req.namespace, req.name), options, { node: req.node });
    }
    await reply(ctx, req, "OK");
  } catch (err) {
    // NotFound and a failed UID precondition ("deleted and then recreated") count as success.
    if (isNotFound(err) || isConflict(err)) return reply(ctx, req, "OK");
    await reply(ctx, req, errorContent(err));
  }
}
