/**
 * What a DELETE does to one object, as kube-apiserver's generic registry decides it: the
 * preconditions (uid, resourceVersion: 409 on a mismatch), a namespace marked Terminating, an
 * object with finalizers only marked deleted, a pod bound to a node deleted gracefully (its
 * node's agent confirms with grace 0), anything else removed at once.
 */
import { conflict } from "./errors.ts";
import { cloneStored, type MutationResult, type StoredObject } from "./store.ts";
import type { DeleteOptions, Target } from "./rest.ts";

/** The mutation a DELETE of `cur` makes; `timestamp(offset)` is now (+ offset seconds). */
export function deletion(
  t: Target,
  cur: StoredObject,
  opts: DeleteOptions,
  timestamp: (offsetSeconds?: number) => string,
): MutationResult {
  const pre = opts.preconditions ?? {};
  if (pre.uid && pre.uid !== cur.obj.metadata!.uid) {
    throw conflict(
      t.def,
      t.name!,
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${
        cur.obj.metadata!.uid
      }`,
    );
  }
  if (pre.resourceVersion && pre.resourceVersion !== String(cur.rv)) {
    throw conflict(
      t.def,
      t.name!,
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.rv}`,
    );
  }
  const meta = cur.obj.metadata!;
  const next = cloneStored(cur);
  const nmeta = next.metadata!;
  if (t.def.resource === "namespaces") {
    if (meta.deletionTimestamp) return { kind: "noop" };
    nmeta.deletionTimestamp = timestamp();
    nmeta.deletionGracePeriodSeconds = 0;
    next.status = {
      ...((next.status ?? {}) as Record<string, unknown>),
      phase: "Terminating",
    };
    return { kind: "put", obj: next };
  }
  if (meta.finalizers?.length) {
    if (meta.deletionTimestamp) return { kind: "noop" };
    nmeta.deletionTimestamp = timestamp();
    nmeta.deletionGracePeriodSeconds = 0;
    return { kind: "put", obj: next };
  }
  if (t.def.builtin && t.def.resource === "pods" && t.def.group === "") {
    const spec = (cur.obj.spec ?? {}) as Record<string, unknown>;
    const phase = (cur.obj.status as Record<string, unknown> | undefined)?.phase;
    const g = opts.gracePeriodSeconds ?? Number(spec.terminationGracePeriodSeconds ?? 30);
    // A pod bound to a node is deleted gracefully: the node's agent confirms with grace 0.
    if (spec.nodeName && g > 0 && phase !== "Succeeded" && phase !== "Failed") {
      if (meta.deletionTimestamp && (meta.deletionGracePeriodSeconds ?? 0) <= g) {
        return { kind: "noop" };
      }
      nmeta.deletionTimestamp = timestamp(g);
      nmeta.deletionGracePeriodSeconds = g;
      return { kind: "put", obj: next };
    }
  }
  return { kind: "delete" };
}
