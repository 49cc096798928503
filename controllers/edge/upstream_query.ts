/**
 * Upstream queries answered with the object (TypeMeta set, RV in the header) on the ack path:
 * `configmap`, `secret`, `persistentvolume`, `persistentvolumeclaim`, `volumeattachment`, the
 * legacy `service`/`endpoints`, and `serviceaccounttoken` (TokenRequest) (docs/protocol.md §7.1).
 * Errors are the Go error object as content, without a resourceVersion. A request without a
 * resource name is dropped, as cloudcore's `queryInner` drops it.
 */
import { getContentJson } from "../../modules/mod.ts";
import type { KubeObject } from "../../kube/mod.ts";
import { paths, withTypeMeta } from "./meta.ts";
import {
  asListerError,
  errorReply,
  hasName,
  reply,
  rvOf,
  statusErrorJson,
  type UpstreamContext,
  type UpstreamRequest,
} from "./upstream_context.ts";
import type { TokenRequestLike } from "./shapes.ts";

async function answer(
  ctx: UpstreamContext,
  req: UpstreamRequest,
  fetch: () => Promise<KubeObject>,
): Promise<void> {
  try {
    const obj = withTypeMeta(structuredClone(await fetch()), req.type);
    await reply(ctx, req, obj, { resourceVersion: rvOf(obj) });
  } catch (err) {
    await reply(ctx, req, errorReply(err));
  }
}

/**
 * `configmap` / `secret` query: informer cache first, live GET when not (yet) cached. A missing
 * object is the lister's NotFound (`configmap "x" not found`), as cloudcore answers from its
 * lister only.
 */
export async function configMapOrSecretQuery(
  ctx: UpstreamContext,
  req: UpstreamRequest,
): Promise<void> {
  if (!hasName(req)) return;
  const kind = req.type === "secret" ? "secret" : "configmap";
  const denied = await ctx.auth.referenced(req.node, kind, req.namespace, req.name);
  if (denied) return reply(ctx, req, statusErrorJson(denied));
  const cache = kind === "secret" ? ctx.caches.secrets : ctx.caches.configmaps;
  await answer(ctx, req, async () =>
    cache?.get(req.name, req.namespace) ??
      await ctx.kube.get(paths.namespaced(`${kind}s`, req.namespace, req.name), {
        node: req.node,
      }).catch((err) => {
        throw asListerError(err, kind, "", req.name);
      }));
}

/** Legacy `service` / `endpoints` query (pushed to every edge node anyway). */
export async function serviceOrEndpointsQuery(
  ctx: UpstreamContext,
  req: UpstreamRequest,
): Promise<void> {
  if (!hasName(req)) return;
  const plural = req.type === "service" ? "services" : "endpoints";
  await answer(
    ctx,
    req,
    () => ctx.kube.get(paths.namespaced(plural, req.namespace, req.name), { node: req.node }),
  );
}

/** `persistentvolumeclaim` query. */
export async function pvcQuery(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  if (!hasName(req)) return;
  const denied = await ctx.auth.referenced(
    req.node,
    "persistentvolumeclaim",
    req.namespace,
    req.name,
  );
  if (denied) return reply(ctx, req, statusErrorJson(denied));
  await answer(
    ctx,
    req,
    () =>
      ctx.kube.get(paths.namespaced("persistentvolumeclaims", req.namespace, req.name), {
        node: req.node,
      }),
  );
}

/** `persistentvolume` query (cluster-scoped). */
export async function pvQuery(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  if (!hasName(req)) return;
  try {
    const pv = await ctx.kube.get(paths.pv(req.name), { node: req.node });
    const denied = await ctx.auth.persistentVolume(req.node, pv);
    if (denied) return reply(ctx, req, statusErrorJson(denied));
    await answer(ctx, req, () => Promise.resolve(pv));
  } catch (err) {
    await reply(ctx, req, errorReply(err));
  }
}

/** `volumeattachment` query (cluster-scoped). */
export async function volumeAttachmentQuery(
  ctx: UpstreamContext,
  req: UpstreamRequest,
): Promise<void> {
  if (!hasName(req)) return;
  try {
    const va = await ctx.kube.get(paths.va(req.name), { node: req.node });
    const denied = ctx.auth.volumeAttachment(req.node, va);
    if (denied) return reply(ctx, req, statusErrorJson(denied));
    await answer(ctx, req, () => Promise.resolve(va));
  } catch (err) {
    await reply(ctx, req, errorReply(err));
  }
}

/** `serviceaccounttoken` query: content is a TokenRequest for `<ns>/serviceaccounttoken/<sa>`. */
export async function serviceAccountTokenQuery(
  ctx: UpstreamContext,
  req: UpstreamRequest,
): Promise<void> {
  if (!hasName(req)) return;
  const denied = await ctx.auth.referenced(req.node, "serviceaccount", req.namespace, req.name);
  if (denied) return reply(ctx, req, statusErrorJson(denied));
  try {
    const tr = withTypeMeta(
      structuredClone(getContentJson<TokenRequestLike>(req.msg) ?? {}),
      req.type,
    ) as TokenRequestLike;
    tr.metadata = { ...tr.metadata, name: req.name, namespace: req.namespace };
    delete tr.metadata!.resourceVersion;
    const bound = tr.spec?.boundObjectRef;
    if (bound?.kind === "Pod" && bound.name) {
      const pod = await ctx.kube.get(paths.pod(req.namespace, bound.name), { node: req.node });
      const podDenied = ctx.auth.podBound(req.node, pod);
      if (podDenied) return reply(ctx, req, statusErrorJson(podDenied));
    }
    const issued = await ctx.kube.create(paths.saToken(req.namespace, req.name), tr, {
      node: req.node,
    });
    // queryInner sets the object's resourceVersion, which a TokenRequest does not have.
    await reply(ctx, req, withTypeMeta(issued, req.type), { resourceVersion: rvOf(issued) });
  } catch (err) {
    await reply(ctx, req, errorReply(err));
  }
}
