/**
 * The three PATCH flavours of the Kubernetes API: JSON merge (RFC 7386), JSON patch (RFC 6902,
 * via fast-json-patch) and strategic merge.
 *
 * Strategic merge is hand-written because the reference implementation is Go (apimachinery
 * `strategicpatch`) driven by struct tags; here the merge keys of the built-in types' common lists
 * are a table keyed by field name, and the directives kubectl emits (`$patch`, `$retainKeys`,
 * `$setElementOrder/…`, `$deleteFromPrimitiveList/…`) are honoured.
 */
import jsonpatch from "fast-json-patch";
import { ApiError, badRequest } from "./errors.ts";
import { getOwn, isJsonObject as isObject, type JsonObject, setOwn } from "./own.ts";

type Json = unknown;

/**
 * RFC 7386 JSON merge patch. Keys are own properties throughout: `__proto__` in a patch is a key
 * like any other and never changes a prototype.
 */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setOwn(out, k, mergePatch(getOwn(out, k), v));
  }
  return out;
}

/** RFC 6902 JSON patch; failures become 422 Invalid, malformed documents 400. */
export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw badRequest("json patch must be a JSON array of operations");
  for (const op of ops) {
    if (!isObject(op) || typeof op.op !== "string" || typeof op.path !== "string") {
      throw badRequest(`invalid JSON patch operation: ${JSON.stringify(op)}`);
    }
  }
  try {
    const doc = structuredClone(target);
    const out = jsonpatch.applyPatch(doc, ops as jsonpatch.Operation[], true, true).newDocument;
    // Back to plain JSON: a `move`/`copy` from an inherited name (`/metadata/labels/toString`)
    // would otherwise leave a function in the document.
    return JSON.parse(JSON.stringify(out));
  } catch (e) {
    throw new ApiError(
      422,
      "Invalid",
      `the server rejected our request due to an error in our request: ${
        (e as Error).message.split("\n")[0]
      }`,
    );
  }
}

/** Merge keys of the built-in types' lists, by field name (apimachinery `patchMergeKey`). */
const MERGE_KEYS: Record<string, string | ((items: JsonObject[]) => string)> = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  volumes: "name",
  volumeMounts: "mountPath",
  volumeDevices: "devicePath",
  env: "name",
  imagePullSecrets: "name",
  conditions: "type",
  addresses: "type",
  hostAliases: "ip",
  podIPs: "ip",
  hostIPs: "ip",
  ownerReferences: "uid",
  topologySpreadConstraints: "topologyKey",
  resourceClaims: "name",
  taints: "key",
  // Container ports merge on containerPort, Service ports on port.
  ports: (items) => items.some((i) => "containerPort" in i) ? "containerPort" : "port",
};

/** Lists of scalars whose patch strategy is "merge" (union), not replace. */
const PRIMITIVE_MERGE = new Set(["finalizers"]);

/** Options for {@link strategicMergePatch}. */
export interface StrategicOptions {
  /** Use the built-in merge-key table (false for custom resources: lists are replaced). */
  builtinKeys: boolean;
}

/**
 * True for the keys strategic merge patch reads as directives: `$patch`, `$retainKeys`,
 * `$setElementOrder/<field>` and `$deleteFromPrimitiveList/<field>` (apimachinery's
 * strategicpatch). Any other key, even one starting with `$`, is data and is merged as such.
 */
function isDirectiveKey(k: string): boolean {
  return k === "$patch" || k === "$retainKeys" || k.startsWith("$setElementOrder/") ||
    k.startsWith("$deleteFromPrimitiveList/");
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) {
    return v.filter((x) => !(isObject(x) && x.$patch === "delete")).map(stripDirectives);
  }
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    if (isDirectiveKey(k)) continue;
    if (x === null) continue;
    setOwn(out, k, stripDirectives(x));
  }
  return out;
}

function mergeKeyFor(
  field: string,
  items: JsonObject[],
  opts: StrategicOptions,
): string | undefined {
  if (!opts.builtinKeys || !Object.hasOwn(MERGE_KEYS, field)) return undefined;
  const k = MERGE_KEYS[field];
  return typeof k === "function" ? k(items) : k;
}

function mergeList(orig: Json, patch: Json[], key: string, opts: StrategicOptions): Json[] {
  if (patch.some((p) => isObject(p) && p.$patch === "replace")) {
    return patch.filter((p) => !(isObject(p) && p.$patch === "replace")).map(stripDirectives);
  }
  const out: Json[] = Array.isArray(orig) ? [...orig] : [];
  for (const item of patch) {
    if (!isObject(item)) {
      out.push(item);
      continue;
    }
    const idx = out.findIndex((o) => isObject(o) && o[key] === item[key]);
    if (item.$patch === "delete") {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = merge(out[idx], item, opts);
    else out.push(stripDirectives(item));
  }
  return out;
}

function keyOf(item: Json, key: string | undefined): string {
  if (key && isObject(item)) return JSON.stringify(getOwn(item, key));
  return JSON.stringify(item);
}

/** The `$patch` values apimachinery knows (`merge` is the default behaviour). */
const DIRECTIVES = new Set(["replace", "merge", "delete"]);

/** 400 for any `$patch` directive other than replace, merge or delete, anywhere in the patch. */
function checkDirectives(patch: Json): void {
  const stack: Json[] = [patch];
  while (stack.length) {
    const v = stack.pop();
    if (Array.isArray(v)) stack.push(...v);
    else if (isObject(v)) {
      const d = getOwn(v, "$patch");
      if (d !== undefined && !DIRECTIVES.has(d as string)) {
        throw badRequest(
          `unknown patch type: ${typeof d === "string" ? d : JSON.stringify(d)} in map: ${
            JSON.stringify(v).slice(0, 256)
          }`,
        );
      }
      stack.push(...Object.values(v));
    }
  }
}

/**
 * Strategic merge patch of `patch` onto `original`; a `$patch` directive other than replace,
 * merge or delete is a 400 (apimachinery `ErrBadPatchType`).
 */
export function strategicMergePatch(original: Json, patch: Json, opts: StrategicOptions): Json {
  checkDirectives(patch);
  return merge(original, patch, opts);
}

function merge(original: Json, patch: Json, opts: StrategicOptions): Json {
  if (!isObject(patch)) return patch;
  if (patch.$patch === "replace") return stripDirectives(patch);
  if (patch.$patch === "delete") return undefined;
  const out: JsonObject = isObject(original) ? { ...original } : {};
  const orders: [string, Json[]][] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$setElementOrder/")) {
      if (Array.isArray(v)) orders.push([k.slice("$setElementOrder/".length), v]);
      continue;
    }
    if (k.startsWith("$deleteFromPrimitiveList/")) {
      const field = k.slice("$deleteFromPrimitiveList/".length);
      const cur = getOwn(out, field);
      if (Array.isArray(v) && Array.isArray(cur)) {
        const drop = new Set(v.map((x) => JSON.stringify(x)));
        setOwn(out, field, cur.filter((x) => !drop.has(JSON.stringify(x))));
      }
      continue;
    }
    if (isDirectiveKey(k)) continue;
    const cur = getOwn(out, k);
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v)) {
      const objs = v.filter(isObject);
      const key = objs.length === v.length && v.length > 0 ? mergeKeyFor(k, objs, opts) : undefined;
      if (key) setOwn(out, k, mergeList(cur, v, key, opts));
      else if (opts.builtinKeys && PRIMITIVE_MERGE.has(k) && Array.isArray(cur)) {
        const seen = new Set(cur.map((x) => JSON.stringify(x)));
        setOwn(out, k, [...cur, ...v.filter((x) => !seen.has(JSON.stringify(x)))]);
      } else setOwn(out, k, stripDirectives(v));
    } else if (isObject(v)) {
      const merged = merge(cur, v, opts);
      if (merged === undefined) delete out[k];
      else setOwn(out, k, merged);
    } else {
      setOwn(out, k, v);
    }
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as string[]);
    for (const k of Object.keys(out)) if (!keep.has(k)) delete out[k];
  }
  for (const [field, order] of orders) {
    const list = getOwn(out, field);
    if (!Array.isArray(list)) continue;
    const first = order.find(isObject);
    const key = first ? Object.keys(first)[0] : undefined;
    const rank = new Map(order.map((o, i) => [keyOf(o, key), i]));
    setOwn(
      out,
      field,
      [...list].sort((a, b) =>
        (rank.get(keyOf(a, key)) ?? order.length) - (rank.get(keyOf(b, key)) ?? order.length)
      ),
    );
  }
  return out;
}
