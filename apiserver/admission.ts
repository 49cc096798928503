/**
 * What a write must pass before the verbs store it (kube-apiserver's decoding and validation
 * steps): the body's kind, apiVersion and scope, the object's name, and a new CRD's checks and
 * initial status.
 */
import { badRequest, invalid } from "./errors.ts";
import { apiVersionOf, type KObject, type ObjectMeta, type ResourceDef } from "./resources.ts";
import { setOwn } from "./own.ts";
import { DNS1123_SUBDOMAIN, validateObject } from "./validate.ts";
import type { Target } from "./rest.ts";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * A request body as the object to store: an object, of the resource's kind and a served
 * apiVersion, its metadata an object; apiVersion, kind and metadata first, namespace from the
 * URL (or none for cluster scope); then the field checks of validate.ts.
 */
export function checkTypeAndScope(t: Target, body: unknown, servedApiVersions: string[]): KObject {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw badRequest("the request body must be a JSON or YAML object");
  }
  const o = body as KObject;
  const okVersions = servedApiVersions;
  if (o.apiVersion !== undefined && !okVersions.includes(String(o.apiVersion))) {
    throw badRequest(
      `the API version in the data (${o.apiVersion}) does not match the expected API version (${
        apiVersionOf(t.def)
      })`,
    );
  }
  if (o.kind !== undefined && o.kind !== t.def.kind) {
    throw badRequest(
      `the kind in the data (${o.kind}) does not match the expected kind (${t.def.kind})`,
    );
  }
  if (
    o.metadata !== undefined &&
    (o.metadata === null || typeof o.metadata !== "object" || Array.isArray(o.metadata))
  ) {
    throw badRequest("metadata must be an object");
  }
  const meta: ObjectMeta = o.metadata ?? {};
  const av = apiVersionOf(t.def);
  if (!leadsInOrder(o, av, t.def.kind)) {
    // Rebuild so apiVersion, kind and metadata lead, as kube-apiserver serializes them.
    const { apiVersion: _av, kind: _k, metadata: _m, ...rest } = o;
    const ordered: KObject = { apiVersion: av, kind: t.def.kind, metadata: meta, ...rest };
    for (const k of Object.keys(o)) delete o[k];
    // Own properties: a top-level "__proto__" key stays a (meaningless) field, never a prototype.
    for (const [k, v] of Object.entries(ordered)) setOwn(o, k, v);
  }
  if (t.def.namespaced) {
    if (meta.namespace && meta.namespace !== t.namespace) {
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    meta.namespace = t.namespace;
  } else {
    delete meta.namespace;
  }
  validateObject(t.def, o);
  return o;
}

/**
 * True when `o` already starts with `apiVersion` (= `av`), `kind` (= `kind`) and `metadata`, in
 * that order: the rebuild would give the same keys, order and values. Bodies our own clients
 * send (objects as the API served them) look like this; deleting and re-adding every key of
 * them left objects in V8's slow dictionary mode for the rest of the write.
 */
function leadsInOrder(o: KObject, av: string, kind: string): boolean {
  if (o.apiVersion !== av || o.kind !== kind || o.metadata === undefined) return false;
  let i = 0;
  for (const k in o) {
    if (k !== (i === 0 ? "apiVersion" : i === 1 ? "kind" : "metadata")) return false;
    if (++i === 3) return true;
  }
  return false;
}

/** `metadata.name` as kube-apiserver requires it: an RFC 1123 label for namespaces, else a subdomain. */
export function validateName(def: ResourceDef, name: string): void {
  const re = def.resource === "namespaces" ? DNS1123_LABEL : DNS1123_SUBDOMAIN;
  const max = def.resource === "namespaces" ? 63 : 253;
  if (!re.test(name) || name.length > max) {
    throw invalid(def.kind, def.group, name, [{
      field: "metadata.name",
      message: `Invalid value: "${name}": a lowercase RFC 1123 ${
        re === DNS1123_LABEL ? "label" : "subdomain"
      } must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
    }]);
  }
}

/**
 * A new CRD checked (group, plural, kind, versions, name = plural.group) and given the status
 * kube-apiserver's apiextensions controller would: accepted names, stored versions, and the
 * NamesAccepted and Established conditions at `timestamp`.
 */
export function prepareCrd(o: KObject, timestamp: string): void {
  const spec = (o.spec ?? {}) as Record<string, unknown>;
  const names = (spec.names ?? {}) as Record<string, unknown>;
  const versions = (spec.versions ?? []) as Record<string, unknown>[];
  const causes = [];
  if (!spec.group) causes.push({ field: "spec.group", message: "Required value" });
  if (!names.plural) causes.push({ field: "spec.names.plural", message: "Required value" });
  if (!names.kind) causes.push({ field: "spec.names.kind", message: "Required value" });
  if (!Array.isArray(versions) || versions.length === 0) {
    causes.push({ field: "spec.versions", message: "Required value" });
  }
  if (!causes.length && o.metadata!.name !== `${names.plural}.${spec.group}`) {
    causes.push({
      field: "metadata.name",
      message: `Invalid value: must be spec.names.plural+"."+spec.group`,
    });
  }
  if (causes.length) {
    throw invalid(
      "CustomResourceDefinition",
      "apiextensions.k8s.io",
      o.metadata!.name ?? "",
      causes,
    );
  }
  const acceptedNames = {
    singular: String(names.kind).toLowerCase(),
    listKind: `${names.kind}List`,
    ...names,
  };
  const stored = versions.filter((v) => v.storage).map((v) => String(v.name));
  o.status = {
    acceptedNames,
    storedVersions: stored.length ? stored : [String(versions[0].name)],
    conditions: [
      {
        type: "NamesAccepted",
        status: "True",
        reason: "NoConflicts",
        message: "no conflicts found",
        lastTransitionTime: timestamp,
      },
      {
        type: "Established",
        status: "True",
        reason: "InitialNamesAccepted",
        message: "the initial names have been accepted",
        lastTransitionTime: timestamp,
      },
    ],
  };
}
