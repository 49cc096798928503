/**
 * Field ownership (`metadata.managedFields`, FieldsV1) and server-side apply conflicts, after
 * kube-apiserver's structured-merge-diff, reduced to what kubectl shows and relies on:
 *
 * - a field is a path of `f:<name>` steps, list items of objects keyed by their merge key
 *   (`k:{"name":"c"}`; `containerPort`+`protocol` for ports, `ip` for addresses, `type` for
 *   conditions), other lists and scalars are leaves; metadata other than labels, annotations,
 *   finalizers and ownerReferences is not owned;
 * - a resource with a `status` subresource has two domains, as kube-apiserver resets the other
 *   part on each: writes to the resource own everything but `status`, writes to `/status` own
 *   `status` only (their entries say `subresource: status`); without the subresource `status` is
 *   an ordinary field;
 * - an Update (create, PUT, PATCH) by a manager takes every field it changed or added, from
 *   whoever owned it; a removed field leaves every set;
 * - an Apply by a manager is refused with 409 Conflict when it sets a field another manager owns
 *   to a different value, unless forced, which takes the field; applied fields the manager no
 *   longer applies, and nobody else owns, are removed from the object.
 *
 * The message matches kube-apiserver's ("Apply failed with 1 conflict: conflict with \"m\" using
 * apps/v1: .spec.replicas"), which kubectl prints with its advice about --force-conflicts.
 */
import { ApiError } from "./errors.ts";
import type { KObject } from "./resources.ts";

/** One `metadata.managedFields` entry. */
export interface ManagedFieldsEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
  fieldsType: "FieldsV1";
  fieldsV1: FieldsTree;
  subresource?: string;
}

/** FieldsV1: nested `f:`/`k:` keys, `{}` at leaves. */
export type FieldsTree = { [step: string]: FieldsTree };

type Json = unknown;
type Obj = Record<string, Json>;

const OWNED_META = new Set(["labels", "annotations", "finalizers", "ownerReferences"]);

function isObj(v: Json): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The merge key of a list item, or undefined (the list is then a leaf). */
function itemKey(item: Json): string | undefined {
  if (!isObj(item)) return undefined;
  if (typeof item.name === "string") return JSON.stringify({ name: item.name });
  if (typeof item.containerPort === "number") {
    return JSON.stringify({ containerPort: item.containerPort, protocol: item.protocol ?? "TCP" });
  }
  if (typeof item.ip === "string") return JSON.stringify({ ip: item.ip });
  if (typeof item.uid === "string") return JSON.stringify({ uid: item.uid });
  if (typeof item.type === "string") return JSON.stringify({ type: item.type });
  return undefined;
}

/**
 * How deep ownership is tracked: a field below this is owned as a whole, so managedFields never
 * nests an object past the API's depth limit (apiserver/depth.ts).
 */
const MAX_FIELD_DEPTH = 32;

/** Leaf paths of `v` under `prefix`, with their values. */
function leaves(v: Json, prefix: string[], out: Map<string, Json>): void {
  if (prefix.length >= MAX_FIELD_DEPTH) {
    out.set(prefix.join("\u0000"), v);
    return;
  }
  if (isObj(v) && Object.keys(v).length) {
    for (const [k, x] of Object.entries(v)) leaves(x, [...prefix, `f:${k}`], out);
    return;
  }
  if (Array.isArray(v) && v.length && v.every((i) => itemKey(i) !== undefined)) {
    for (const item of v) {
      const p = [...prefix, `k:${itemKey(item)}`];
      out.set([...p, "."].join("\u0000"), true);
      leaves(item, p, out);
    }
    return;
  }
  out.set(prefix.join("\u0000"), v);
}

/** The ownable fields of an object, `status` included, path → value. */
export function ownedFields(o: KObject): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const [k, v] of Object.entries(o)) {
    if (k === "apiVersion" || k === "kind") continue;
    if (k === "metadata") {
      for (const [mk, mv] of Object.entries(isObj(v) ? v : {})) {
        if (OWNED_META.has(mk)) leaves(mv, ["f:metadata", `f:${mk}`], out);
      }
      continue;
    }
    leaves(v, [`f:${k}`], out);
  }
  return out;
}

/** Paths as a FieldsV1 tree. */
export function toTree(paths: Iterable<string>): FieldsTree {
  const root: FieldsTree = {};
  for (const p of paths) {
    let node = root;
    for (const step of p.split("\u0000")) node = node[step] ??= {};
  }
  return root;
}

/** A FieldsV1 tree as paths. */
export function fromTree(
  t: FieldsTree | undefined,
  prefix: string[] = [],
  out = new Set<string>(),
): Set<string> {
  for (const [step, sub] of Object.entries(t ?? {})) {
    const p = [...prefix, step];
    if (!sub || Object.keys(sub).length === 0) out.add(p.join("\u0000"));
    else fromTree(sub, p, out);
  }
  return out;
}

/** `.spec.template.spec.containers[name="c"].image` for a path. */
export function pathText(p: string): string {
  return p.split("\u0000").filter((s) => s !== ".").map((s) => {
    if (s.startsWith("f:")) return `.${s.slice(2)}`;
    const key = JSON.parse(s.slice(2)) as Record<string, unknown>;
    return `[${Object.entries(key).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}]`;
  }).join("");
}

function entriesOf(o: KObject): ManagedFieldsEntry[] {
  const mf = o.metadata?.managedFields;
  return Array.isArray(mf) ? mf as ManagedFieldsEntry[] : [];
}

function same(a: Json, b: Json): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function entry(
  manager: string,
  operation: "Apply" | "Update",
  apiVersion: string,
  time: string,
  paths: Set<string>,
  subresource?: string,
): ManagedFieldsEntry {
  return {
    manager,
    operation,
    apiVersion,
    time,
    fieldsType: "FieldsV1",
    fieldsV1: toTree(paths),
    ...(subresource ? { subresource } : {}),
  };
}

/** Who is writing. */
export interface Writer {
  manager: string;
  apiVersion: string;
  time: string;
  subresource?: string;
  /** The resource has a `status` subresource (then `status` is owned only through it). */
  statusSubresource?: boolean;
}

const STATUS = "f:status";

/** Whether a write by `w` owns the field at path `p` (see the module docs on domains). */
function inDomain(w: Writer, p: string): boolean {
  const status = p === STATUS || p.startsWith(`${STATUS}\u0000`);
  if (w.subresource === "status") return status;
  return !status || !w.statusSubresource;
}

function sameSubresource(e: ManagedFieldsEntry, w: Writer): boolean {
  return (e.subresource ?? "") === (w.subresource ?? "");
}

/** managedFields after an Update from `old` (absent on create) to `next`. */
export function afterUpdate(
  old: KObject | undefined,
  next: KObject,
  w: Writer,
): ManagedFieldsEntry[] {
  const before = old ? ownedFields(old) : new Map<string, Json>();
  const after = ownedFields(next);
  const changed = new Set<string>();
  for (const [p, v] of after) {
    if (inDomain(w, p) && (!before.has(p) || !same(before.get(p), v))) changed.add(p);
  }
  const out: ManagedFieldsEntry[] = [];
  let mine = new Set<string>();
  for (const e of old ? entriesOf(old) : []) {
    const own = e.manager === w.manager && e.operation === "Update" && sameSubresource(e, w);
    const paths = fromTree(e.fieldsV1);
    for (const p of [...paths]) {
      if (!after.has(p) || (changed.has(p) && !own)) paths.delete(p);
    }
    if (own) {
      mine = paths;
      continue;
    }
    if (paths.size) out.push({ ...e, fieldsV1: toTree(paths) });
  }
  for (const p of changed) mine.add(p);
  if (mine.size) out.push(entry(w.manager, "Update", w.apiVersion, w.time, mine, w.subresource));
  return out;
}

/**
 * An Apply of `config` by `w.manager` onto `cur` (already merged into `merged`): checks conflicts
 * (unless `force`), removes fields the manager dropped from its configuration, and returns the
 * object with its new managedFields.
 */
export function afterApply(
  cur: KObject | undefined,
  merged: KObject,
  config: KObject,
  w: Writer,
  force: boolean,
): KObject {
  const applied = new Map([...ownedFields(config)].filter(([p]) => inDomain(w, p)));
  const current = cur ? ownedFields(cur) : new Map<string, Json>();
  const entries = cur ? entriesOf(cur) : [];
  const conflicts: { manager: string; apiVersion: string; path: string }[] = [];
  let previous = new Set<string>();
  const others: { e: ManagedFieldsEntry; paths: Set<string> }[] = [];
  for (const e of entries) {
    const paths = fromTree(e.fieldsV1);
    if (e.manager === w.manager && e.operation === "Apply" && sameSubresource(e, w)) {
      previous = paths;
      continue;
    }
    for (const [p, v] of applied) {
      if (!paths.has(p) || p.endsWith("\u0000.")) continue;
      if (current.has(p) && !same(current.get(p), v)) {
        if (force) paths.delete(p);
        else conflicts.push({ manager: e.manager, apiVersion: e.apiVersion, path: p });
      }
    }
    others.push({ e, paths });
  }
  if (conflicts.length) throw conflictError(conflicts);
  // Fields this manager applied before and applies no more go, unless someone else owns them.
  const ownedByOthers = new Set(others.flatMap((o) => [...o.paths]));
  for (const p of previous) {
    if (!applied.has(p) && !ownedByOthers.has(p)) removePath(merged, p);
  }
  const out: ManagedFieldsEntry[] = others.filter((o) => o.paths.size)
    .map((o) => ({ ...o.e, fieldsV1: toTree(o.paths) }));
  out.push(entry(w.manager, "Apply", w.apiVersion, w.time, new Set(applied.keys()), w.subresource));
  merged.metadata = { ...merged.metadata, managedFields: out };
  return merged;
}

function removePath(o: KObject, p: string): void {
  const steps = p.split("\u0000").filter((s) => s !== ".");
  let node: Json = o;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    const last = i === steps.length - 1;
    if (s.startsWith("f:") && isObj(node)) {
      if (last) delete node[s.slice(2)];
      else node = node[s.slice(2)];
    } else if (s.startsWith("k:") && Array.isArray(node)) {
      const idx = node.findIndex((item) => itemKey(item) === s.slice(2));
      if (idx < 0) return;
      if (last) node.splice(idx, 1);
      else node = node[idx];
    } else return;
  }
}

function conflictError(c: { manager: string; apiVersion: string; path: string }[]): ApiError {
  const byManager = new Map<string, string[]>();
  for (const x of c) {
    const k = `${JSON.stringify(x.manager)} using ${x.apiVersion}`;
    byManager.set(k, [...byManager.get(k) ?? [], pathText(x.path)]);
  }
  const n = c.length;
  let message: string;
  if (n === 1) {
    message = `Apply failed with 1 conflict: conflict with ${[...byManager.keys()][0]}: ${
      pathText(c[0].path)
    }`;
  } else {
    message = `Apply failed with ${n} conflicts: ` +
      [...byManager].map(([who, paths]) =>
        `conflicts with ${who}:\n${paths.map((p) => `- ${p}`).join("\n")}`
      ).join("\n");
  }
  return new ApiError(409, "Conflict", message, {
    causes: c.map((x) => ({
      reason: "FieldManagerConflict",
      message: `conflict with ${JSON.stringify(x.manager)} using ${x.apiVersion}`,
      field: pathText(x.path),
    })),
  });
}

/** kube-apiserver's default manager: the User-Agent up to its first "/". */
export function managerOf(fieldManager: string | null, userAgent: string | null): string {
  if (fieldManager) return fieldManager;
  const ua = (userAgent ?? "").split("/")[0].trim();
  return ua || "unknown";
}
