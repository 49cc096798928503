/**
 * Field-type validation before anything is stored (create, update, every patch type after the
 * patch is applied): a typed client (kubectl, client-go, client-node) must always be able to
 * decode what it reads back. kube-apiserver gets this from decoding into Go structs; here each
 * served built-in kind has a small type table (unknown fields pass), custom resources are checked
 * at metadata level and against the types in their CRD's `openAPIV3Schema`.
 *
 * Failures are one 422 Invalid in kube-apiserver's Status form, e.g.
 * `ConfigMap "x" is invalid: data: Invalid value: "string": data in body must be of type object`
 * with `details.causes[].field` = `data`. Besides types, metadata label/annotation keys, label
 * values and ConfigMap/Secret data keys get kube-apiserver's syntax checks, and base64 fields
 * must decode.
 */
import { badRequest, invalid, type StatusCause } from "./errors.ts";
import { getOwn, isJsonObject, type JsonObject } from "./own.ts";
import type { KObject, ResourceDef } from "./resources.ts";
import {
  B,
  BUILTIN,
  type Fields,
  I,
  list,
  METADATA,
  S,
  type Schema,
  struct,
} from "./builtin_schemas.ts";

/** At most this many causes are reported (a huge map of bad keys must not make a huge reply). */
const MAX_CAUSES = 50;

/** An RFC 1123 subdomain (object names, label key prefixes). */
export const DNS1123_SUBDOMAIN =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** kube-apiserver's limit on the total size of an object's annotations. */
const ANNOTATIONS_MAX_BYTES = 256 * 1024;

const NAME_PART_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

/** apimachinery `IsQualifiedName`: the first problem with `key`, if any. */
function qualifiedNameError(key: string): string | undefined {
  const parts = key.split("/");
  if (parts.length > 2) {
    return `a qualified name ${
      NAME_PART_MSG.slice("name part ".length)
    } with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`;
  }
  const name = parts[parts.length - 1];
  if (parts.length === 2) {
    const prefix = parts[0];
    if (prefix === "") return "prefix part must be non-empty";
    if (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) {
      return "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    }
  }
  if (name === "") return "name part must be non-empty";
  if (name.length > 63) return "name part must be no more than 63 characters";
  if (!NAME_PART.test(name)) return NAME_PART_MSG;
  return undefined;
}

/** The JSON type name of a value, as kube-openapi reports it. */
function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** Collects causes; stops adding past {@link MAX_CAUSES}. */
class Causes {
  readonly list: StatusCause[] = [];
  add(field: string, message: string): void {
    if (this.list.length < MAX_CAUSES) this.list.push({ field, message });
  }
  type(field: string, v: unknown, expected: string): void {
    this.add(
      field,
      `Invalid value: "${typeName(v)}": ${field} in body must be of type ${expected}`,
    );
  }
}

/** Checks the keys of a map field with kube-apiserver's syntax rules. */
function checkKeys(
  m: JsonObject,
  kind: "label" | "annotation" | "config",
  path: string,
  c: Causes,
) {
  let size = 0;
  for (const [k, v] of Object.entries(m)) {
    if (kind === "config") {
      if (k.length > 253 || !CONFIG_KEY.test(k)) {
        c.add(
          `${path}[${k}]`,
          `Invalid value: ${
            JSON.stringify(k)
          }: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
        );
      }
      continue;
    }
    const err = qualifiedNameError(kind === "annotation" ? k.toLowerCase() : k);
    if (err) c.add(path, `Invalid value: ${JSON.stringify(k)}: ${err}`);
    if (kind === "label" && typeof v === "string" && (v.length > 63 || !LABEL_VALUE.test(v))) {
      c.add(
        path,
        `Invalid value: ${
          JSON.stringify(v)
        }: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
      );
    }
    if (kind === "annotation") size += k.length + (typeof v === "string" ? v.length : 0);
  }
  if (size > ANNOTATIONS_MAX_BYTES) {
    c.add(path, `Too long: must have at most ${ANNOTATIONS_MAX_BYTES} bytes`);
  }
}

/**
 * Checks `v` (present, at `path`) against `s`. `null` is accepted where a struct field may be
 * (Go decodes it as the zero value), never as a map value or list item.
 */
function check(s: Schema, v: unknown, path: string, c: Causes): void {
  switch (s) {
    case "any":
      return;
    case "string":
      if (typeof v !== "string") c.type(path, v, "string");
      return;
    case "integer":
      if (!Number.isInteger(v)) c.type(path, v, "integer");
      return;
    case "boolean":
      if (typeof v !== "boolean") c.type(path, v, "boolean");
      return;
    case "object":
      if (!isJsonObject(v)) c.type(path, v, "object");
      return;
    case "quantity":
      if (typeof v !== "string" && typeof v !== "number") c.type(path, v, "number,string");
      return;
    case "intOrString":
      if (typeof v !== "string" && !Number.isInteger(v)) c.type(path, v, "integer,string");
      return;
    case "bytes":
      if (typeof v !== "string") c.type(path, v, "string");
      else if (!BASE64.test(v.replace(/[\r\n]/g, ""))) {
        c.add(path, `Invalid value: "string": ${path} in body must be of type byte`);
      }
      return;
  }
  if ("map" in s) {
    if (!isJsonObject(v)) return c.type(path, v, "object");
    for (const [k, x] of Object.entries(v)) check(s.map, x, `${path}[${k}]`, c);
    if (s.keys) checkKeys(v, s.keys, path, c);
  } else if ("list" in s) {
    if (!Array.isArray(v)) return c.type(path, v, "array");
    v.forEach((x, i) => check(s.list, x, `${path}[${i}]`, c));
  } else {
    if (!isJsonObject(v)) return c.type(path, v, "object");
    checkFields(s.fields, v, path, c);
  }
}

function checkFields(fields: Fields, o: JsonObject, prefix: string, c: Causes): void {
  for (const [name, s] of Object.entries(fields)) {
    const v = getOwn(o, name);
    if (v !== undefined && v !== null) check(s, v, prefix ? `${prefix}.${name}` : name, c);
  }
}

/** Checks `v` against the types of an OpenAPI v3 schema (a CRD's `openAPIV3Schema`). */
function checkOpenApi(schema: unknown, v: unknown, path: string, c: Causes): void {
  if (!isJsonObject(schema) || v === undefined || v === null) return;
  if (schema["x-kubernetes-int-or-string"] === true) return check("intOrString", v, path, c);
  const type = schema.type;
  const ok = type === "object"
    ? isJsonObject(v)
    : type === "array"
    ? Array.isArray(v)
    : type === "string"
    ? typeof v === "string"
    : type === "integer"
    ? Number.isInteger(v)
    : type === "number"
    ? typeof v === "number"
    : type === "boolean"
    ? typeof v === "boolean"
    : true;
  if (!ok) return c.type(path, v, String(type));
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkOpenApi(schema.items, x, `${path}[${i}]`, c));
  } else if (isJsonObject(v)) {
    const props = isJsonObject(schema.properties) ? schema.properties : {};
    for (const [k, x] of Object.entries(v)) {
      const sub = getOwn(props, k) ??
        (isJsonObject(schema.additionalProperties) ? schema.additionalProperties : undefined);
      if (sub !== undefined) checkOpenApi(sub, x, path ? `${path}.${k}` : k, c);
    }
  }
}

/**
 * Validates the field types of `o` as the resource `def`; throws a 422 Invalid listing every
 * wrongly typed field (up to {@link MAX_CAUSES}).
 */
export function validateObject(def: ResourceDef, o: KObject): void {
  const c = new Causes();
  checkFields({ apiVersion: S, kind: S, metadata: METADATA }, o, "", c);
  const key = def.group ? `${def.resource}.${def.group}` : def.resource;
  if (def.builtin) {
    if (Object.hasOwn(BUILTIN, key)) checkFields(BUILTIN[key], o, "", c);
  } else if (isJsonObject(def.schema)) {
    const props = isJsonObject(def.schema.properties) ? def.schema.properties : {};
    for (const [k, v] of Object.entries(o)) {
      if (k === "apiVersion" || k === "kind" || k === "metadata") continue;
      const sub = getOwn(props, k) ??
        (isJsonObject(def.schema.additionalProperties)
          ? def.schema.additionalProperties
          : undefined);
      if (sub !== undefined) checkOpenApi(sub, v, k, c);
    }
  }
  if (c.list.length) {
    const name = getOwn(o.metadata, "name");
    throw invalid(def.kind, def.group, typeof name === "string" ? name : "", c.list);
  }
}

const DELETE_OPTIONS: Fields = {
  gracePeriodSeconds: I,
  propagationPolicy: S,
  orphanDependents: B,
  preconditions: struct({ uid: S, resourceVersion: S }),
  dryRun: list(S),
};

/**
 * The fields of a DeleteOptions body (a DELETE's, or an eviction's `deleteOptions`), own
 * properties only; a wrongly typed field is a 400 BadRequest (kube-apiserver fails to decode it),
 * so e.g. a string `gracePeriodSeconds` never reaches a pod's `deletionGracePeriodSeconds`.
 */
export function deleteOptionsFields(body: unknown): JsonObject {
  const out: JsonObject = {};
  if (!isJsonObject(body)) return out;
  const c = new Causes();
  checkFields(DELETE_OPTIONS, body, "", c);
  if (c.list.length) {
    throw badRequest(
      `DeleteOptions is invalid: ${c.list.map((x) => `${x.field}: ${x.message}`).join(", ")}`,
    );
  }
  for (const k of Object.keys(DELETE_OPTIONS)) {
    const v = getOwn(body, k);
    if (v !== undefined && v !== null) out[k] = v;
  }
  return out;
}

/**
 * A `resourceVersion` query parameter of get, list or watch must parse as an unsigned 64-bit
 * integer when given (kube-apiserver's `ParseResourceVersion`); 400 BadRequest otherwise, with
 * kube-apiserver's wording (which it sends as a 500, kubernetes/kubernetes#139485).
 */
export function checkResourceVersionParam(rv: string | null): void {
  if (rv === null || rv === "") return;
  const why = !/^\d+$/.test(rv)
    ? "invalid syntax"
    : BigInt(rv) > 0xffff_ffff_ffff_ffffn
    ? "value out of range"
    : undefined;
  if (why) {
    const q = JSON.stringify(rv);
    throw badRequest(
      `resourceVersion: Invalid value: ${q}: strconv.ParseUint: parsing ${q}: ${why}`,
    );
  }
}
