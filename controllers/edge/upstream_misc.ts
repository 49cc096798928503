/**
 * Upstream handlers for `lease` (insert/update/query), `certificatesigningrequest`
 * (insert/query) and `event` (insert/update/patch) (docs/protocol.md §7.1). Event writes are
 * authorized by {@link NodeAuthorizer.event} (a node records events only about itself and its
 * pods); they get no reply, so a refusal is logged with its Forbidden status.
 */
import { getContentJson, ResourceType } from "../../modules/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import { isNotFound, type KubeObject, type KubeStatus, PatchStrategy } from "../../kube/mod.ts";
import type { NodeAuthorizer } from "./authorize.ts";
import { goField, paths, withTypeMeta, zeroObject } from "./meta.ts";
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

const log = createLogger("edgecontroller");

/**
 * `lease` insert (create) / update (replace): `ObjectResp` without a resourceVersion; on an
 * error `Object` is the empty Lease. Content that does not decode is answered, as cloudcore
 * does, with its error text on resource `node/<node>/<ns>/node/<name>`.
 */
export async function leaseWrite(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  if (!hasName(req)) return;
  let body: unknown;
  try {
    body = getContentJson<unknown>(req.msg);
    if (body !== null && (typeof body !== "object" || Array.isArray(body))) {
      throw new Error(`cannot unmarshal ${Array.isArray(body) ? "array" : typeof body} into Lease`);
    }
  } catch (err) {
    return reply(
      ctx,
      req,
      `message: ${req.msg.header.id} process failure, unmarshal message content with error: ${
        errorString(err)
      }`,
      { resource: `node/${req.node}/${req.namespace}/${ResourceType.Node}/${req.name}` },
    );
  }
  const lease = withTypeMeta(structuredClone((body ?? {}) as KubeObject), "lease");
  lease.metadata ??= {};
  lease.metadata.namespace ||= req.namespace;
  lease.metadata.name ||= req.name;
  const { namespace: ns = "", name = "" } = lease.metadata;
  const denied = ctx.auth.ownLease(req.node, ns, name);
  if (denied) return reply(ctx, req, objectResp(null, denied, zeroObject("lease")));
  try {
    const out = req.operation === "insert"
      ? await ctx.kube.create(paths.lease(ns), {
        ...lease,
        metadata: { ...lease.metadata, resourceVersion: undefined },
      }, { node: req.node })
      : await ctx.kube.update(paths.lease(ns, name), lease, { node: req.node });
    withTypeMeta(out, "lease");
    await reply(ctx, req, objectResp(out));
  } catch (err) {
    await reply(ctx, req, objectResp(null, err, zeroObject("lease")));
  }
}

/**
 * `lease` query: `ObjectResp` without a resourceVersion; on an error `Object` is null (cloudcore
 * has no object there) and a missing lease is the lister's NotFound.
 */
export async function leaseQuery(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  if (!hasName(req)) return;
  const denied = ctx.auth.ownLease(req.node, req.namespace, req.name);
  if (denied) return reply(ctx, req, objectResp(null, denied));
  try {
    const lease = withTypeMeta(
      await ctx.kube.get(paths.lease(req.namespace, req.name), { node: req.node }).catch(
        (err) => {
          throw asListerError(err, "lease", "coordination.k8s.io", req.name);
        },
      ),
      "lease",
    );
    await reply(ctx, req, objectResp(lease));
  } catch (err) {
    await reply(ctx, req, objectResp(null, err));
  }
}

/** CSRs created through this controller, by name → node (a node may read only its own). */
const csrOwners = new Map<string, string>();

/**
 * `certificatesigningrequest` insert: `ObjectResp` without a resourceVersion; on an error
 * `Object` is the empty CertificateSigningRequest. Unlike cloudcore, a request without a name
 * (kubelet's CSRs have only `generateName: csr-`, so edged sends `.../certificatesigningrequest/`)
 * is served, not dropped.
 */
export async function csrInsert(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  const csr = withTypeMeta(
    structuredClone(getContentJson<KubeObject>(req.msg) ?? {}),
    "certificatesigningrequest",
  );
  csr.metadata ??= {};
  if (!csr.metadata.name && !csr.metadata.generateName) csr.metadata.name = req.name;
  try {
    const created = await ctx.kube.create(paths.csr(), csr, { node: req.node });
    csrOwners.set(created.metadata?.name ?? "", req.node);
    withTypeMeta(created, "certificatesigningrequest");
    await reply(ctx, req, objectResp(created));
  } catch (err) {
    await reply(ctx, req, objectResp(null, err, zeroObject("certificatesigningrequest")));
  }
}

/** `certificatesigningrequest` query: the object (or the error). */
export async function csrQuery(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  if (!hasName(req)) return;
  try {
    const csr = await ctx.kube.get(paths.csr(req.name), { node: req.node });
    const owner = csrOwners.get(req.name);
    const username = (csr.spec as { username?: string } | undefined)?.username ?? "";
    if (ctx.auth.enabled && owner !== req.node && username !== `system:node:${req.node}`) {
      const denied = {
        kind: "Status" as const,
        apiVersion: "v1" as const,
        metadata: {},
        status: "Failure" as const,
        message:
          `certificatesigningrequests.certificates.k8s.io "${req.name}" is forbidden: not requested by node ${req.node}`,
        reason: "Forbidden",
        details: { name: req.name, kind: "certificatesigningrequests" },
        code: 403,
      };
      return reply(ctx, req, statusErrorJson(denied));
    }
    await reply(ctx, req, withTypeMeta(csr, "certificatesigningrequest"), {
      resourceVersion: rvOf(csr),
    });
  } catch (err) {
    await reply(ctx, req, errorReply(err));
  }
}

/** Logs a refused event write (no reply exists to carry the Forbidden status). */
function refused(req: UpstreamRequest, status: KubeStatus): void {
  log.warn("event refused", { node: req.node, operation: req.operation, status: status.message });
}

/**
 * The stored event an update or patch would change must itself be the node's to write; null when
 * it is (or when authorization is off), the refusal otherwise, or "missing" when there is none.
 */
async function storedEventDenied(
  ctx: UpstreamContext,
  auth: NodeAuthorizer,
  req: UpstreamRequest,
  ns: string,
  name: string,
): Promise<KubeStatus | null | "missing"> {
  if (!auth.enabled) return null;
  try {
    return await auth.event(
      req.node,
      await ctx.kube.get(paths.events(ns, name), { node: req.node }),
    );
  } catch (err) {
    if (isNotFound(err)) return "missing";
    throw err;
  }
}

/** `event` insert/update/patch; no reply (§7.1). */
export async function eventWrite(ctx: UpstreamContext, req: UpstreamRequest): Promise<void> {
  const body = getContentJson<KubeObject>(req.msg) ?? {};
  try {
    if (req.operation === "patch") {
      const event = (goField(body, "event") ?? {}) as KubeObject;
      const patchData = goField(body, "patchData");
      const ns = event?.metadata?.namespace || req.namespace;
      const name = event?.metadata?.name || req.name;
      const text = typeof patchData === "string" ? patchData : JSON.stringify(patchData ?? {});
      let parsed: unknown = undefined;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: the API refuses it with a 400
      }
      const denied = ctx.auth.eventPatch(req.node, ns, name, parsed) ??
        await storedEventDenied(ctx, ctx.auth, req, ns, name);
      if (denied === "missing") {
        return log.debug("event to patch not found", { node: req.node, ns, name });
      }
      if (denied) return refused(req, denied);
      await ctx.kube.patch(paths.events(ns, name), text, PatchStrategy.StrategicMergePatch, {
        node: req.node,
      });
      return;
    }
    const event = withTypeMeta(structuredClone(body), "event");
    event.metadata ??= {};
    const ns = event.metadata.namespace || req.namespace;
    event.metadata.namespace = ns;
    const denied = await ctx.auth.event(req.node, event);
    if (denied) return refused(req, denied);
    if (req.operation === "insert") {
      delete event.metadata.resourceVersion;
      await ctx.kube.create(paths.events(ns), event, { node: req.node });
    } else {
      const name = event.metadata.name || req.name;
      const stored = await storedEventDenied(ctx, ctx.auth, req, ns, name);
      if (stored === "missing") {
        return log.debug("event to update not found", { node: req.node, ns, name });
      }
      if (stored) return refused(req, stored);
      await ctx.kube.update(paths.events(ns, name), event, { node: req.node });
    }
  } catch (err) {
    log.warn("event write failed", { node: req.node, operation: req.operation, error: err });
  }
}
