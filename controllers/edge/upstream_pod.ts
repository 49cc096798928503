/**
 * Upstream handlers for pods: `podstatus` (single or array), `podpatch`, `pod` insert/delete
 * (docs/protocol.md §7.1).
 */
import {
  buildMessage,
  getContentJson,
  Group,
  MessageSuccessfulContent,
  ModuleName,
  Operation,
  ResourceType,
} from "../../modules/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import {
  isConflict,
  isNotFound,
  KubeApiError,
  type ObjectMeta,
  PatchStrategy,
} from "../../kube/mod.ts";
import { goField, patchBody, paths, withTypeMeta, zeroObject } from "./meta.ts";
import { mergePodStatus, shouldDeleteTerminal } from "./podstatus.ts";
import {
  errorReply,
  hasName,
  objectResp,
  reply,
  rvOf,
  statusErrorJson,
  toCloudHub,
  type UpstreamContext,
  type UpstreamRequest,
} from "./upstream_context.ts";
import type { PodLike, PodStatusLike } from "./shapes.ts";

const log = createLogger("edgecontroller");

async function getPod(
  ctx: UpstreamContext,
  req: UpstreamRequest,
  name: string,
): Promise<PodLike | null> {
  try {
    return await ctx.kube.get<PodLike>(paths.pod(req.namespace, name), { node: req.node });
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
  const metadata: ObjectMeta = { name, namespace: req.namespace };
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

/**
 * `podstatus` update: one `PodStatusRequest` (resource `<ns>/podstatus/<name>`) or an array of
 * them (resource `<ns>/podstatus`). As cloudcore, every pod status in the message gets its own
 * reply to the request: "OK" once the status is written, or for a pod the cloud does not have
 * (then the edge is also told to delete it), the error otherwise. Content that does not decode
 * (or has the wrong shape for the resource) is logged and gets no reply.
 */
export async function podStatusUpdate(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  let body: unknown;
  try {
    body = getContentJson<unknown>(req.msg);
  } catch (err) {
    log.warn("podstatus content does not decode", { node: req.node, error: err });
    return;
  }
  let entries: unknown[];
  if (req.name) {
    if (body !== null && (typeof body !== "object" || Array.isArray(body))) {
      log.warn("podstatus content is not a PodStatusRequest", { node: req.node, name: req.name });
      return;
    }
    entries = [body];
  } else {
    if (body !== null && !Array.isArray(body)) {
      log.warn("podstatus content is not a list of PodStatusRequest", { node: req.node });
      return;
    }
    entries = (body ?? []) as unknown[];
  }
  for (const entry of entries) await podStatusOne(ctx, req, entry ?? {});
}

/** What became of one pod status: written (the pod as stored), or the pod is gone. */
type StatusOutcome = { updated: PodLike } | { gone: true };

async function podStatusOne(ctx: UpstreamContext, req: UpstreamRequest, entry: unknown) {
  const name = String(goField(entry, "Name") ?? "");
  const uid = String(goField(entry, "UID") ?? "");
  const reported = goField(entry, "Status") as PodStatusLike | undefined;
  let outcome: StatusOutcome;
  try {
    // client-go refuses a GET without a name: a plain error, `{}` on the wire.
    if (!name) throw new Error("resource name may not be empty");
    outcome = await writePodStatus(ctx, req, name, uid, reported);
  } catch (err) {
    log.warn("podstatus update failed", {
      node: req.node,
      pod: `${req.namespace}/${name}`,
      error: err,
    });
    return reply(ctx, req, errorReply(err));
  }
  await reply(ctx, req, MessageSuccessfulContent);
  if ("gone" in outcome) {
    log.info("status for a pod the cloud does not have, deleting it on the edge", {
      node: req.node,
      pod: `${req.namespace}/${name}`,
    });
    return deletePodOnEdge(ctx, req, name, uid);
  }
  const updated = outcome.updated;
  if (shouldDeleteTerminal(updated)) {
    await ctx.kube.delete(paths.pod(req.namespace, name), {
      kind: "DeleteOptions",
      apiVersion: "v1",
      gracePeriodSeconds: 0,
      preconditions: { uid: updated.metadata?.uid },
    }, { node: req.node }).catch((err) => {
      if (isNotFound(err) || isConflict(err)) return;
      log.warn("deleting a finished pod failed", {
        node: req.node,
        pod: `${req.namespace}/${name}`,
        error: err,
      });
    });
  }
}

/** Merges and writes one pod's status; throws the API error (or a Forbidden Status). */
async function writePodStatus(
  ctx: UpstreamContext,
  req: UpstreamRequest,
  name: string,
  uid: string,
  reported: PodStatusLike | undefined,
): Promise<StatusOutcome> {
  // The informer's copy saves a GET per status report when it is the pod the edge means;
  // anything else (missing, other UID) is decided on a fresh read, never on the cache.
  const cached = ctx.caches.pods?.get(name, req.namespace);
  const fromCache = !!cached && (cached.metadata?.uid ?? "") === uid;
  const pod = fromCache ? structuredClone(cached) as PodLike : await getPod(ctx, req, name);
  // cloudcore compares the UIDs as they are: a report without one is not for the stored pod.
  if (!pod || (pod.metadata?.uid ?? "") !== uid) return { gone: true };
  const denied = ctx.auth.podBound(req.node, pod);
  if (denied) throw denied;
  const write = async (pod: PodLike): Promise<PodLike> => {
    pod.status = mergePodStatus(pod.status, reported, ctx.now(), pod.spec?.initContainers);
    return await ctx.kube.update<PodLike>(paths.podStatus(req.namespace, name), pod, {
      node: req.node,
    });
  };
  try {
    return { updated: await write(pod) };
  } catch (err) {
    // A copy that lagged a write elsewhere: once more from a fresh read.
    if (!fromCache || !isConflict(err)) throw err;
    const fresh = await getPod(ctx, req, name);
    if (!fresh || (fresh.metadata?.uid ?? "") !== uid) return { gone: true };
    return { updated: await write(fresh) };
  }
}

/** `podpatch`: strategic merge patch on pod status; ObjectResp with RV. */
export async function podPatch(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  if (!hasName(req)) return;
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
    if (denied) return reply(ctx, req, objectResp(null, denied, zeroObject("pod")));
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
    await reply(ctx, req, objectResp(null, err, zeroObject("pod")));
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
  if (!hasName(req)) return;
  const pod = withTypeMeta(structuredClone(getContentJson<PodLike>(req.msg) ?? {}), "pod");
  const meta = pod.metadata ??= {};
  meta.namespace ||= req.namespace;
  meta.name ||= req.name;
  const denied = ctx.auth.podBound(req.node, pod);
  if (denied) return reply(ctx, req, objectResp(null, denied, zeroObject("pod")));
  try {
    delete meta.resourceVersion;
    const created = await ctx.kube.create(paths.pods(meta.namespace), pod, {
      node: req.node,
    });
    withTypeMeta(created, "pod");
    await reply(ctx, req, objectResp(created), { resourceVersion: rvOf(created) });
  } catch (err) {
    await reply(ctx, req, objectResp(null, err, zeroObject("pod")));
  }
}

/** `pod` delete: UID precondition (string content) or DeleteOptions; gone counts as success. */
export async function podDelete(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  if (!hasName(req)) return;
  let options: Record<string, unknown>;
  if (typeof req.msg.content === "string") {
    let parsed: unknown = undefined;
    try {
      parsed = JSON.parse(req.msg.content);
    } catch { /* a bare UID */ }
    options = parsed && typeof parsed === "object"
      ? parsed as Record<string, unknown>
      : { gracePeriodSeconds: 0, preconditions: { uid: req.msg.content } };
  } else {
    options = getContentJson<Record<string, unknown>>(req.msg) ?? {};
  }
  options = { kind: "DeleteOptions", apiVersion: "v1", ...options };
  try {
    const pod = await getPod(ctx, req, req.name);
    if (pod) {
      const denied = ctx.auth.podBound(req.node, pod);
      if (denied) return reply(ctx, req, statusErrorJson(denied));
      await ctx.kube.delete(paths.pod(req.namespace, req.name), options, { node: req.node });
    }
    await reply(ctx, req, MessageSuccessfulContent);
  } catch (err) {
    // NotFound and a failed UID precondition ("deleted and then recreated") count as success.
    if (isNotFound(err) || isConflict(err)) return reply(ctx, req, MessageSuccessfulContent);
    await reply(ctx, req, errorReply(err));
  }
}
