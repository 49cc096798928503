/**
 * The verbs (get, list, create, update, patch, delete, deletecollection) for any served resource,
 * following the generic registry of kube-apiserver: uid/creationTimestamp/generation on create,
 * optimistic concurrency on update, status subresources, graceful deletion with finalizers,
 * owner-reference garbage collection and namespace termination.
 */
import { parse as parseYaml } from "yaml";
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  forbidden,
  gone,
  invalid,
  notFound,
  unsupportedMediaType,
} from "./errors.ts";
import { defaultOnCreate, defaultOnUpdate } from "./defaults.ts";
import { checkBodyText, checkValue } from "./depth.ts";
import { jsonPatch, mergePatch, strategicMergePatch } from "./patch.ts";
import {
  apiVersionOf,
  type KObject,
  type ObjectMeta,
  type ResourceDef,
  type ResourceRegistry,
  storageKey,
} from "./resources.ts";
import { OwnerIndex } from "./owners.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import { setOwn } from "./own.ts";
import { validateObject } from "./validate.ts";
import type { MutationResult, Store, StoredObject } from "./store.ts";
import { createLogger, jsonEqual } from "../lib/mod.ts";
import { v4 as uuidv4 } from "uuid";
import { allocateClusterIP, allocateNodePort } from "./allocators.ts";

const log = createLogger("apiserver");

/** Which object or collection a request addresses. */
export interface Target {
  def: ResourceDef;
  /** Namespace from the URL ("" for cluster scope or all namespaces). */
  namespace: string;
  name?: string;
  subresource?: string;
}

/** Server-side knobs of the REST layer. */
export interface RestOptions {
  now?: () => Date;
}

/** DeleteOptions fields the server honours. */
export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789";

function clone(o: StoredObject): KObject {
  return JSON.parse(o.json);
}

/** Spec-like content: everything except metadata and status (drives `generation`). */
function specPart(o: KObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

/** Parses a request body (JSON, or YAML by content type) into an object; 400 on failure. */
export function parseBody(text: string, contentType: string | null): unknown {
  if (text.trim() === "") throw badRequest("the request body is empty");
  const yaml = /yaml/.test(contentType ?? "");
  checkBodyText(text, yaml);
  let value: unknown;
  try {
    value = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    const what = yaml ? "YAML" : "JSON";
    throw badRequest(
      `the body of the request was in an unknown format or malformed ${what}: ${
        (e as Error).message.split("\n")[0]
      }`,
    );
  }
  // YAML aliases can nest deeper than the text shows, or loop.
  if (yaml) checkValue(value, "the request body");
  return value;
}

/** Implements the verbs over one store and registry. */
export class Rest {
  readonly #store: Store;
  readonly #registry: ResourceRegistry;
  readonly #now: () => Date;
  readonly #owners: OwnerIndex;

  constructor(store: Store, registry: ResourceRegistry, opts: RestOptions = {}) {
    this.#store = store;
    this.#registry = registry;
    this.#now = opts.now ?? (() => new Date());
    this.#owners = new OwnerIndex(store);
  }

  #timestamp(offsetSeconds = 0): string {
    return new Date(this.#now().getTime() + offsetSeconds * 1000).toISOString().replace(
      /\.\d{3}Z$/,
      "Z",
    );
  }

  /** Re-labels a stored object for the requested version (CRD conversion strategy None). */
  present(def: ResourceDef, o: StoredObject): string {
    const av = apiVersionOf(def);
    if (o.obj.apiVersion === av && o.obj.kind === def.kind) return o.json;
    return JSON.stringify({ ...o.obj, apiVersion: av, kind: def.kind });
  }

  /** As {@link present}, as an object. */
  presentObject(def: ResourceDef, o: KObject): KObject {
    const av = apiVersionOf(def);
    if (o.apiVersion === av && o.kind === def.kind) return o;
    return { ...o, apiVersion: av, kind: def.kind };
  }

  /** GET one object. */
  get(t: Target): StoredObject {
    const o = this.#store.get(storageKey(t.def), this.#ns(t), t.name!);
    if (!o) throw notFound(t.def, t.name!);
    return o;
  }

  #ns(t: Target): string {
    return t.def.namespaced ? t.namespace : "";
  }

  /** Selects objects for list/watch/deletecollection. */
  selector(q: URLSearchParams): (o: KObject) => boolean {
    const labels = parseLabelSelector(q.get("labelSelector") ?? "");
    const fields = parseFieldSelector(q.get("fieldSelector") ?? "");
    return (o) => labels(o) && fields(o);
  }

  /** LIST: returns matching objects plus paging state. */
  list(
    t: Target,
    q: URLSearchParams,
  ): { items: StoredObject[]; rv: string; cont?: string; remaining?: number } {
    const match = this.selector(q);
    const limit = Number(q.get("limit") ?? 0);
    if (!Number.isInteger(limit) || limit < 0) throw badRequest(`invalid limit: ${q.get("limit")}`);
    let start = "";
    let rv = String(this.#store.resourceVersion);
    const cont = q.get("continue");
    if (cont) {
      try {
        const token = JSON.parse(atob(cont)) as { rv: string; start: string };
        if (typeof token.start !== "string") throw new Error("bad token");
        start = token.start;
        if (Number(token.rv) < this.#store.oldestWatchable) {
          throw gone(
            "The provided continue parameter is too old to display a consistent list result.",
          );
        }
        rv = token.rv;
      } catch (e) {
        if (e instanceof ApiError) throw e;
        throw badRequest(`continue key is not valid: ${(e as Error).message}`);
      }
    }
    const all = this.#store.list(
      storageKey(t.def),
      t.def.namespaced && t.namespace ? t.namespace : undefined,
    );
    const items: StoredObject[] = [];
    let i = 0;
    if (start) {
      // Binary search past the last key of the previous page.
      let lo = 0, hi = all.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const m = all[mid].obj.metadata!;
        if (`${m.namespace ?? ""}/${m.name}` <= start) lo = mid + 1;
        else hi = mid;
      }
      i = lo;
    }
    for (; i < all.length; i++) {
      if (!match(all[i].obj)) continue;
      if (limit && items.length === limit) {
        const last = items[items.length - 1].obj.metadata!;
        let remaining = 0;
        for (let j = i; j < all.length; j++) if (match(all[j].obj)) remaining++;
        return {
          items,
          rv,
          cont: btoa(JSON.stringify({ rv, start: `${last.namespace ?? ""}/${last.name}` })),
          remaining,
        };
      }
      items.push(all[i]);
    }
    return { items, rv };
  }

  #checkTypeAndScope(t: Target, body: unknown): KObject {
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      throw badRequest("the request body must be a JSON or YAML object");
    }
    const o = body as KObject;
    const okVersions = this.#registry.versionsOf(t.def).map(apiVersionOf);
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
    // Rebuild so apiVersion, kind and metadata lead, as kube-apiserver serializes them.
    const { apiVersion: _av, kind: _k, metadata: _m, ...rest } = o;
    const ordered: KObject = {
      apiVersion: apiVersionOf(t.def),
      kind: t.def.kind,
      metadata: meta,
      ...rest,
    };
    for (const k of Object.keys(o)) delete o[k];
    // Own properties: a top-level "__proto__" key stays a (meaningless) field, never a prototype.
    for (const [k, v] of Object.entries(ordered)) setOwn(o, k, v);
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

  #validateName(t: Target, name: string): void {
    const re = t.def.resource === "namespaces" ? DNS1123_LABEL : DNS1123_SUBDOMAIN;
    const max = t.def.resource === "namespaces" ? 63 : 253;
    if (!re.test(name) || name.length > max) {
      throw invalid(t.def.kind, t.def.group, name, [{
        field: "metadata.name",
        message: `Invalid value: "${name}": a lowercase RFC 1123 ${
          re === DNS1123_LABEL ? "label" : "subdomain"
        } must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      }]);
    }
  }

  #checkNamespace(t: Target): void {
    if (!t.def.namespaced) return;
    if (!t.namespace) throw badRequest("a namespace is required for namespaced resources");
    const ns = this.#store.get("namespaces", "", t.namespace);
    if (!ns) throw notFound({ group: "", resource: "namespaces" }, t.namespace);
    if (ns.obj.metadata?.deletionTimestamp) {
      throw forbidden(
        `${t.def.resource} "${
          t.name ?? ""
        }" is forbidden: unable to create new content in namespace ${t.namespace} because it is being terminated`,
      );
    }
  }

  /** CREATE. Returns the stored object (not persisted when `dryRun`). */
  async create(t: Target, body: unknown, dryRun = false): Promise<StoredObject> {
    const o = this.#checkTypeAndScope(t, body);
    const meta = o.metadata!;
    if (!meta.name) {
      if (meta.generateName) {
        let suffix = "";
        for (let i = 0; i < 5; i++) {
          suffix += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
        }
        meta.name = `${meta.generateName}${suffix}`;
      } else {
        throw invalid(t.def.kind, t.def.group, "", [{
          field: "metadata.name",
          reason: "FieldValueRequired",
          message: "Required value: name or generateName is required",
        }]);
      }
    }
    if (t.name && t.name !== meta.name) {
      throw badRequest(
        `the name of the object (${meta.name}) does not match the name on the URL (${t.name})`,
      );
    }
    this.#validateName(t, meta.name);
    const target = { ...t, name: meta.name };
    this.#checkNamespace(target);
    meta.uid = uuidv4();
    meta.creationTimestamp = this.#timestamp();
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.resourceVersion;
    delete meta.managedFields;
    delete meta.selfLink;
    if (o.spec !== undefined || !t.def.builtin) meta.generation = 1;
    if (!t.def.builtin && t.def.subresources.includes("status")) delete o.status;
    let used: { ports: Set<number>; ips: Set<unknown> } | undefined;
    defaultOnCreate(t.def, o, {
      allocateClusterIP: () => {
        used ??= this.#usedServiceAddresses();
        const ip = allocateClusterIP(used.ips);
        used.ips.add(ip);
        return ip;
      },
      allocateNodePort: () => {
        used ??= this.#usedServiceAddresses();
        // Several ports of one Service must not get the same NodePort either.
        const port = allocateNodePort(used.ports);
        used.ports.add(port);
        return port;
      },
    });
    if (t.def.resource === "customresourcedefinitions") this.#prepareCrd(o);
    const out = await this.#store.mutate(storageKey(t.def), this.#ns(t), meta.name, (cur) => {
      if (cur) throw alreadyExists(t.def, meta.name!);
      return { kind: "put", obj: o };
    }, dryRun);
    if (!dryRun && t.def.resource === "customresourcedefinitions") {
      this.#registry.applyCrd(out.object!.obj);
    }
    return out.object!;
  }

  #prepareCrd(o: KObject): void {
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
          lastTransitionTime: this.#timestamp(),
        },
        {
          type: "Established",
          status: "True",
          reason: "InitialNamesAccepted",
          message: "the initial names have been accepted",
          lastTransitionTime: this.#timestamp(),
        },
      ],
    };
  }

  /** NodePorts and ClusterIPs of stored Services, plus those given out to `o` so far. */
  #usedServiceAddresses(): { ports: Set<number>; ips: Set<unknown> } {
    const ports = new Set<number>();
    const ips = new Set<unknown>();
    for (const s of this.#store.list("services")) {
      const spec = s.obj.spec as
        | { clusterIP?: unknown; ports?: { nodePort?: number }[] }
        | undefined;
      ips.add(spec?.clusterIP);
      for (const p of spec?.ports ?? []) if (p.nodePort) ports.add(p.nodePort);
    }
    return { ports, ips };
  }

  /**
   * The update rules shared by PUT and PATCH: precondition on resourceVersion, immutable metadata,
   * status/spec separation, generation, finalizer-driven removal, no-op detection.
   */
  #updateFrom(t: Target, cur: StoredObject, incoming: KObject): MutationResult {
    const old = cur.obj;
    const inMeta = incoming.metadata!;
    if (inMeta.resourceVersion && inMeta.resourceVersion !== String(cur.rv)) {
      throw conflict(t.def, t.name!);
    }
    let next: KObject;
    const sub = t.subresource;
    if (sub === "status" || sub === "approval") {
      next = clone(cur);
      const status = (incoming.status ?? {}) as Record<string, unknown>;
      if (sub === "approval") {
        next.status = {
          ...((next.status ?? {}) as Record<string, unknown>),
          conditions: status.conditions,
        };
      } else next.status = incoming.status;
    } else if (sub === "finalize") {
      next = clone(cur);
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
    delete meta.managedFields;
    delete meta.selfLink;
    meta.generation = old.metadata!.generation;
    if (meta.generation === undefined) delete meta.generation;
    if (!jsonEqual(specPart(old), specPart(next))) {
      meta.generation = (old.metadata!.generation ?? 0) + 1;
    }
    meta.resourceVersion = String(cur.rv);
    if (t.def.resource === "customresourcedefinitions" && !sub) this.#prepareCrd(next);
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

  /** PUT (replace) of an object or its subresource. */
  async update(
    t: Target,
    body: unknown,
    dryRun = false,
  ): Promise<{ object: StoredObject; deleted: boolean }> {
    const incoming = this.#checkTypeAndScope(t, body);
    const meta = incoming.metadata!;
    if (meta.name && meta.name !== t.name) {
      throw badRequest(
        `the name of the object (${meta.name}) does not match the name on the URL (${t.name})`,
      );
    }
    meta.name = t.name;
    return await this.#mutateExisting(t, (cur) => this.#updateFrom(t, cur, incoming), dryRun);
  }

  async #mutateExisting(
    t: Target,
    fn: (cur: StoredObject) => MutationResult,
    dryRun: boolean,
    policy: DeleteOptions["propagationPolicy"] = "Background",
  ): Promise<{ object: StoredObject; deleted: boolean }> {
    const out = await this.#store.mutate(storageKey(t.def), this.#ns(t), t.name!, (cur) => {
      if (!cur) throw notFound(t.def, t.name!);
      return fn(cur);
    }, dryRun);
    const deleted = out.event?.type === "DELETED";
    if (!dryRun) await this.#afterWrite(t, out.object!, deleted, policy);
    return { object: out.object!, deleted };
  }

  /** PATCH with any of the supported patch types. */
  async patch(
    t: Target,
    text: string,
    contentType: string | null,
    dryRun = false,
  ): Promise<{ object: StoredObject; deleted: boolean; created?: boolean }> {
    const type = (contentType ?? "").split(";")[0].trim();
    let apply: (doc: unknown) => unknown;
    if (type === "application/json-patch+json") {
      const ops = parseBody(text, "application/json");
      apply = (doc) => jsonPatch(doc, ops);
    } else if (type === "application/merge-patch+json") {
      const p = parseBody(text, "application/json");
      if (p === null || typeof p !== "object" || Array.isArray(p)) {
        throw badRequest("merge patch must be a JSON object");
      }
      apply = (doc) => mergePatch(doc, p);
    } else if (type === "application/strategic-merge-patch+json") {
      const p = parseBody(text, "application/json");
      if (p === null || typeof p !== "object" || Array.isArray(p)) {
        throw badRequest("strategic merge patch must be a JSON object");
      }
      apply = (doc) => strategicMergePatch(doc, p, { builtinKeys: t.def.builtin });
    } else if (type === "application/apply-patch+yaml") {
      // Server-side apply, approximated by a strategic merge of the applied configuration
      // (no field ownership tracking); creates the object when it does not exist.
      const p = parseBody(text, "application/yaml");
      if (p === null || typeof p !== "object" || Array.isArray(p)) {
        throw badRequest("apply patch must be an object");
      }
      const existing = this.#store.get(storageKey(t.def), this.#ns(t), t.name!);
      if (!existing && !t.subresource) {
        const created = await this.create(t, p, dryRun);
        return { object: created, deleted: false, created: true };
      }
      apply = (doc) => strategicMergePatch(doc, p, { builtinKeys: t.def.builtin });
    } else {
      throw unsupportedMediaType(
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
      );
    }
    return await this.#mutateExisting(t, (cur) => {
      const patched = apply(clone(cur));
      checkValue(patched, "the patched object");
      const incoming = this.#checkTypeAndScope(t, patched);
      if (incoming.metadata!.name && incoming.metadata!.name !== t.name) {
        throw badRequest(
          `the name of the object (${
            incoming.metadata!.name
          }) does not match the name on the URL (${t.name})`,
        );
      }
      return this.#updateFrom(t, cur, incoming);
    }, dryRun);
  }

  /** Binds a pod to a node (the pods/binding subresource a scheduler uses); 409 when bound. */
  async bind(t: Target, node: string): Promise<StoredObject> {
    const res = await this.#mutateExisting(t, (cur) => {
      const spec = (cur.obj.spec ?? {}) as Record<string, unknown>;
      if (spec.nodeName) {
        throw conflict(
          t.def,
          t.name!,
          `pod ${t.name} is already assigned to node "${spec.nodeName}"`,
        );
      }
      const next = clone(cur);
      next.spec = { ...spec, nodeName: node };
      return { kind: "put", obj: next };
    }, false);
    return res.object;
  }

  /** DELETE one object: immediate, or graceful (deletionTimestamp) while finalizers remain. */
  async delete(
    t: Target,
    opts: DeleteOptions,
    dryRun = false,
  ): Promise<{ object: StoredObject; deleted: boolean }> {
    const grace = opts.gracePeriodSeconds;
    if (opts.propagationPolicy === "Foreground" && !dryRun) {
      // Foreground: dependents go first, then the owner (the end state of the GC's
      // foregroundDeletion finalizer, without the intermediate "owner still visible" phase).
      const owner = this.get(t);
      await this.#collectDependents(owner.obj, "Foreground");
    }
    const res = await this.#mutateExisting(
      t,
      (cur) => {
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
        const next = clone(cur);
        const nmeta = next.metadata!;
        if (t.def.resource === "namespaces") {
          if (meta.deletionTimestamp) return { kind: "noop" };
          nmeta.deletionTimestamp = this.#timestamp();
          nmeta.deletionGracePeriodSeconds = 0;
          next.status = {
            ...((next.status ?? {}) as Record<string, unknown>),
            phase: "Terminating",
          };
          return { kind: "put", obj: next };
        }
        if (meta.finalizers?.length) {
          if (meta.deletionTimestamp) return { kind: "noop" };
          nmeta.deletionTimestamp = this.#timestamp();
          nmeta.deletionGracePeriodSeconds = 0;
          return { kind: "put", obj: next };
        }
        if (t.def.builtin && t.def.resource === "pods" && t.def.group === "") {
          const spec = (cur.obj.spec ?? {}) as Record<string, unknown>;
          const phase = (cur.obj.status as Record<string, unknown> | undefined)?.phase;
          const g = grace ?? Number(spec.terminationGracePeriodSeconds ?? 30);
          // A pod bound to a node is deleted gracefully: the node's agent confirms with grace 0.
          if (spec.nodeName && g > 0 && phase !== "Succeeded" && phase !== "Failed") {
            if (meta.deletionTimestamp && (meta.deletionGracePeriodSeconds ?? 0) <= g) {
              return { kind: "noop" };
            }
            nmeta.deletionTimestamp = this.#timestamp(g);
            nmeta.deletionGracePeriodSeconds = g;
            return { kind: "put", obj: next };
          }
        }
        return { kind: "delete" };
      },
      dryRun,
      opts.propagationPolicy,
    );
    if (!dryRun && t.def.resource === "namespaces" && !res.deleted) {
      await this.#terminateNamespace(t.name!);
      const after = this.#store.get("namespaces", "", t.name!);
      if (!after) return { object: res.object, deleted: true };
      return { object: after, deleted: false };
    }
    return res;
  }

  /** Runs after any successful write through the update path. */
  async #afterWrite(
    t: Target,
    o: StoredObject,
    deleted: boolean,
    policy: DeleteOptions["propagationPolicy"],
  ): Promise<void> {
    if (t.def.resource === "customresourcedefinitions") {
      if (deleted) await this.#removeCrd(o.obj);
      else this.#registry.applyCrd(o.obj);
    }
    if (deleted) {
      await this.#collectDependents(o.obj, policy);
      const ns = o.obj.metadata?.namespace;
      if (ns && t.def.namespaced) await this.#maybeFinalizeNamespace(ns);
    }
  }

  async #removeCrd(crd: KObject): Promise<void> {
    const spec = (crd.spec ?? {}) as Record<string, unknown>;
    const plural = String((spec.names as Record<string, unknown> | undefined)?.plural ?? "");
    const storage = storageKey({ group: String(spec.group ?? ""), resource: plural });
    this.#registry.removeCrd(crd.metadata!.name!);
    for (const o of this.#store.list(storage)) {
      const m = o.obj.metadata!;
      await this.#store.mutate(
        storage,
        m.namespace ?? "",
        m.name!,
        (cur) => cur ? { kind: "delete" } : { kind: "noop" },
      );
    }
  }

  /** Garbage collection of objects owned by `owner` (background/foreground delete, or orphan). */
  async #collectDependents(
    owner: KObject,
    policy: DeleteOptions["propagationPolicy"],
  ): Promise<void> {
    const uid = owner.metadata?.uid;
    if (!uid) return;
    for (const dep of this.#owners.dependents(uid)) {
      const { storage } = dep;
      const o = this.#store.get(storage, dep.namespace, dep.name);
      const refs = o?.obj.metadata?.ownerReferences;
      if (!o || !refs?.some((r) => r.uid === uid)) continue;
      const def = this.#defForStorage(storage);
      if (!def) continue;
      const t: Target = { def, namespace: dep.namespace, name: dep.name };
      try {
        if (policy === "Orphan" || refs.length > 1) {
          await this.#store.mutate(storage, t.namespace, t.name!, (cur) => {
            if (!cur) return { kind: "noop" };
            const next = clone(cur);
            next.metadata!.ownerReferences = next.metadata!.ownerReferences!.filter((r) =>
              r.uid !== uid
            );
            if (!next.metadata!.ownerReferences.length) delete next.metadata!.ownerReferences;
            return { kind: "put", obj: next };
          });
        } else {
          await this.delete(t, {
            propagationPolicy: policy === "Foreground" ? "Foreground" : "Background",
            gracePeriodSeconds: 0,
          });
        }
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) {
          log.warn("garbage collection failed", { storage, name: t.name, error: e });
        }
      }
    }
  }

  #defForStorage(storage: string): ResourceDef | undefined {
    return this.#registry.all().find((d) => storageKey(d) === storage);
  }

  /** Deletes everything in a terminating namespace, then the namespace once it is empty. */
  async #terminateNamespace(ns: string): Promise<void> {
    for (const storage of this.#store.storages()) {
      const def = this.#defForStorage(storage);
      if (!def?.namespaced) continue;
      for (const o of this.#store.list(storage, ns)) {
        try {
          await this.delete({ def, namespace: ns, name: o.obj.metadata!.name }, {
            gracePeriodSeconds: 0,
          });
        } catch (e) {
          if (!(e instanceof ApiError && e.code === 404)) {
            log.warn("namespace cleanup failed", { ns, error: e });
          }
        }
      }
    }
    await this.#maybeFinalizeNamespace(ns);
  }

  async #maybeFinalizeNamespace(ns: string): Promise<void> {
    const nsObj = this.#store.get("namespaces", "", ns);
    if (!nsObj?.obj.metadata?.deletionTimestamp) return;
    for (const storage of this.#store.storages()) {
      if (storage === "namespaces") continue;
      if (this.#store.list(storage, ns).length) return;
    }
    await this.#store.mutate(
      "namespaces",
      "",
      ns,
      (cur) => cur ? { kind: "delete" } : { kind: "noop" },
    );
  }

  /** DELETE on a collection: deletes every matching object. */
  async deleteCollection(
    t: Target,
    q: URLSearchParams,
    opts: DeleteOptions,
    dryRun = false,
  ): Promise<StoredObject[]> {
    const { items } = this.list(t, q);
    const out: StoredObject[] = [];
    for (const o of items) {
      const m = o.obj.metadata!;
      try {
        out.push(
          (await this.delete({ ...t, namespace: m.namespace ?? "", name: m.name }, opts, dryRun))
            .object,
        );
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
    return out;
  }

  /** Ensures an object exists (used to seed namespaces and CRDs). */
  async ensure(def: ResourceDef, obj: KObject): Promise<void> {
    const m = obj.metadata!;
    if (this.#store.get(storageKey(def), def.namespaced ? m.namespace ?? "" : "", m.name!)) return;
    try {
      await this.create({ def, namespace: m.namespace ?? "" }, structuredClone(obj));
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 409)) throw e;
    }
  }
}
