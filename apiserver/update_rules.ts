/**
 * The rules every update follows, PUT and PATCH alike (kube-apiserver's generic registry): the
 * resourceVersion precondition, immutable metadata, status and spec kept apart by subresource,
 * `generation` on spec changes, removal once the last finalizer of a deleted object is gone, and
 * no-op detection.
 */
import { conflict } from "./errors.ts";
import { defaultOnUpdate } from "./defaults.ts";
import type { KObject } from "./resources.ts";
import { cloneStored, type MutationResult, type StoredObject } from "./store.ts";
import type { Target } from "./rest.ts";
import { prepareCrd } from "./admission.ts";
import { jsonEqual } from "../lib/mod.ts";

/** Spec-like content: everything except metadata and status (drives `generation`). */
function specPart(o: KObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

/**
 * The update rules shared by PUT and PATCH: precondition on resourceVersion, immutable metadata,
 * status/spec separation, generation, finalizer-driven removal, no-op detection.
 */
export function updateFrom(
  t: Target,
  cur: StoredObject,
  timestamp: string,
  incoming: KObject,
): MutationResult {
  const old = cur.obj;
  const inMeta = incoming.metadata!;
  if (inMeta.resourceVersion && inMeta.resourceVersion !== String(cur.rv)) {
    throw conflict(t.def, t.name!);
  }
  let next: KObject;
  const sub = t.subresource;
  if (sub === "status" || sub === "approval") {
    next = cloneStored(cur);
    const status = (incoming.status ?? {}) as Record<string, unknown>;
    if (sub === "approval") {
      next.status = {
        ...((next.status ?? {}) as Record<string, unknown>),
        conditions: status.conditions,
      };
    } else next.status = incoming.status;
  } else if (sub === "finalize") {
    next = cloneStored(cur);
    next.spec = {
      ...((next.spec ?? {}) as Record<string, unknown>),
      finalizers: (incoming.spec as Record<string, unknown> | undefined)?.finalizers ?? [],
    };
  } else {
    next = incoming;
    if (t.def.subresources.includes("status")) {
      if (old.status === undefined) delete next.status;
      else next.status = old.status;
    }
    defaultOnUpdate(t.def, next);
  }
  const meta = next.metadata!;
  meta.name = old.metadata!.name;
  if (t.def.namespaced) meta.namespace = old.metadata!.namespace;
  meta.uid = old.metadata!.uid;
  meta.creationTimestamp = old.metadata!.creationTimestamp;
  if (old.metadata!.deletionTimestamp) {
    meta.deletionTimestamp = old.metadata!.deletionTimestamp;
    meta.deletionGracePeriodSeconds = old.metadata!.deletionGracePeriodSeconds;
  } else {
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
  }
  // Ownership is the server's to record (managed_fields.ts): a write keeps the stored entries.
  if (old.metadata!.managedFields) meta.managedFields = old.metadata!.managedFields;
  else delete meta.managedFields;
  delete meta.selfLink;
  meta.generation = old.metadata!.generation;
  if (meta.generation === undefined) delete meta.generation;
  if (!jsonEqual(specPart(old), specPart(next))) {
    meta.generation = (old.metadata!.generation ?? 0) + 1;
  }
  meta.resourceVersion = String(cur.rv);
  if (t.def.resource === "customresourcedefinitions" && !sub) prepareCrd(next, timestamp);
  if (meta.deletionTimestamp && !(meta.finalizers?.length)) {
    if (
      t.def.resource !== "namespaces" ||
      !((next.spec as Record<string, unknown> | undefined)?.finalizers as unknown[] | undefined)
        ?.length
    ) {
      return { kind: "delete" };
    }
  }
  if (jsonEqual(old, next)) return { kind: "noop" };
  return { kind: "put", obj: next };
}
