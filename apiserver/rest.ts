/**
 * The verbs (get, list, create, update, patch, delete, deletecollection) for any served resource,
 * following the generic registry of kube-apiserver: uid/creationTimestamp/generation on create,
 * optimistic concurrency on update, status subresources, graceful deletion with finalizers.
 * Garbage collection and namespace termination are in lifecycle.ts.
 */
import { parse as parseYaml } from "yaml";
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  forbidden,
  invalid,
  notFound,
  unsupportedMediaType,
} from "./errors.ts";
import { defaultOnCreate } from "./defaults.ts";
import { checkBodyText, checkValue } from "./depth.ts";
import { jsonPatch, mergePatch, strategicMergePatch } from "./patch.ts";
import {
  apiVersionOf,
  type KObject,
  type ResourceDef,
  type ResourceRegistry,
  storageKey,
} from "./resources.ts";
import { OwnerIndex } from "./owners.ts";
import { ObjectLifecycle } from "./lifecycle.ts";
import { checkTypeAndScope, prepareCrd, validateName } from "./admission.ts";
import { updateFrom } from "./update_rules.ts";
import { pageOf, parseContinue } from "./list_page.ts";
import { deletion } from "./deletion.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import { cloneStored, type MutationResult, type Store, type StoredObject } from "./store.ts";
import { v4 as uuidv4 } from "uuid";
import { allocateClusterIP, allocateNodePort } from "./allocators.ts";
import { afterApply, afterUpdate, type Writer } from "./managed_fields.ts";

/** Which object or collection a request addresses. */
export interface Target {
  def: ResourceDef;
  /** Namespace from the URL ("" for cluster scope or all namespaces). */
  namespace: string;
  name?: string;
  subresource?: string;
}

/** Who writes (managedFields), and for an apply whether conflicts are overridden. */
export interface WriterContext extends Writer {
  force?: boolean;
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

const NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789";

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
  readonly #life: ObjectLifecycle;

  constructor(store: Store, registry: ResourceRegistry, opts: RestOptions = {}) {
    this.#store = store;
    this.#registry = registry;
    this.#now = opts.now ?? (() => new Date());
    this.#life = new ObjectLifecycle({
      store,
      registry,
      owners: new OwnerIndex(store),
      delete: (t, o) => this.delete(t, o),
    });
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
    const limit = Number(q.get("limit") ?? 0);
    if (!Number.isInteger(limit) || limit < 0) throw badRequest(`invalid limit: ${q.get("limit")}`);
    const from = parseContinue(q.get("continue"), this.#store.oldestWatchable);
    const all = this.#store.list(
      storageKey(t.def),
      t.def.namespaced && t.namespace ? t.namespace : undefined,
    );
    return pageOf(
      all,
      this.selector(q),
      limit,
      from ?? {
        rv: String(this.#store.resourceVersion),
        start: "",
      },
    );
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
  async create(
    t: Target,
    body: unknown,
    dryRun = false,
    w?: WriterContext,
    applied?: KObject,
  ): Promise<StoredObject> {
    const o = checkTypeAndScope(t, body, this.#registry.versionsOf(t.def).map(apiVersionOf));
    const meta = o.metadata!;
    if (!meta.name) {
      if (meta.generateName) {
        let suffix = "";
        for (let i = 0; i < 5; i++) {
          suffix += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
        }
        // apiserver's SimpleNameGenerator: the base is cut to 58 characters, so a
        // `<63-character name>-` prefix still gives a valid name.
        meta.name = `${String(meta.generateName).slice(0, 58)}${suffix}`;
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
    validateName(t.def, meta.name);
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
    if (t.def.resource === "customresourcedefinitions") prepareCrd(o, this.#timestamp());
    if (w && applied) afterApply(undefined, o, applied, w, w.force ?? false);
    else if (w) meta.managedFields = afterUpdate(undefined, o, w);
    const out = await this.#store.mutate(storageKey(t.def), this.#ns(t), meta.name, (cur) => {
      if (cur) throw alreadyExists(t.def, meta.name!);
      return { kind: "put", obj: o };
    }, dryRun);
    if (!dryRun && t.def.resource === "customresourcedefinitions") {
      this.#registry.applyCrd(out.object!.obj);
    }
    return out.object!;
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

  /** PUT (replace) of an object or its subresource. */
  async update(
    t: Target,
    body: unknown,
    dryRun = false,
    w?: WriterContext,
  ): Promise<{ object: StoredObject; deleted: boolean }> {
    const incoming = checkTypeAndScope(t, body, this.#registry.versionsOf(t.def).map(apiVersionOf));
    const meta = incoming.metadata!;
    if (meta.name && meta.name !== t.name) {
      throw badRequest(
        `the name of the object (${meta.name}) does not match the name on the URL (${t.name})`,
      );
    }
    meta.name = t.name;
    return await this.#mutateExisting(
      t,
      (cur) => recordUpdate(cur, updateFrom(t, cur, this.#timestamp(), incoming), w),
      dryRun,
    );
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
    w?: WriterContext,
  ): Promise<{ object: StoredObject; deleted: boolean; created?: boolean }> {
    const type = (contentType ?? "").split(";")[0].trim();
    let apply: (doc: unknown) => unknown;
    let applied: KObject | undefined;
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
      applied = p as KObject;
      const existing = this.#store.get(storageKey(t.def), this.#ns(t), t.name!);
      if (!existing && !t.subresource) {
        const created = await this.create(t, p, dryRun, w, structuredClone(applied));
        return { object: created, deleted: false, created: true };
      }
      apply = (doc) => strategicMergePatch(doc, p, { builtinKeys: t.def.builtin });
    } else {
      throw unsupportedMediaType(
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
      );
    }
    return await this.#mutateExisting(t, (cur) => {
      const patched = apply(cloneStored(cur));
      checkValue(patched, "the patched object");
      const incoming = checkTypeAndScope(
        t,
        patched,
        this.#registry.versionsOf(t.def).map(apiVersionOf),
      );
      if (incoming.metadata!.name && incoming.metadata!.name !== t.name) {
        throw badRequest(
          `the name of the object (${
            incoming.metadata!.name
          }) does not match the name on the URL (${t.name})`,
        );
      }
      const res = updateFrom(t, cur, this.#timestamp(), incoming);
      if (w && applied && res.kind === "put") {
        afterApply(cur.obj, res.obj, applied, w, w.force ?? false);
        return res;
      }
      return recordUpdate(cur, res, w);
    }, dryRun);
  }

  /** Binds a pod to a node (the pods/binding subresource a scheduler uses); 409 when bound. */
  /**
   * The `pods/binding` subresource (BindingREST `setPodHostAndAnnotations`): the binding's uid
   * and resourceVersion are preconditions; a pod being deleted, already bound or with
   * scheduling gates is a conflict; sets `spec.nodeName`, merges the binding's annotations and
   * sets `PodScheduled=True` (lastTransitionTime kept when it already was True).
   */
  async bind(
    t: Target,
    node: string,
    meta: { uid?: string; resourceVersion?: string; annotations?: Record<string, string> } = {},
  ): Promise<StoredObject> {
    const ref = { ...t.def, resource: "pods/binding" };
    const res = await this.#mutateExisting(t, (cur) => {
      const spec = (cur.obj.spec ?? {}) as Record<string, unknown>;
      const m = cur.obj.metadata ?? {};
      if (meta.uid && meta.uid !== m.uid) {
        throw conflict(
          ref,
          t.name!,
          `Precondition failed: UID in precondition: ${meta.uid}, UID in object meta: ${m.uid}`,
        );
      }
      if (meta.resourceVersion && meta.resourceVersion !== m.resourceVersion) {
        throw conflict(ref, t.name!);
      }
      if (m.deletionTimestamp) {
        throw conflict(
          ref,
          t.name!,
          `pod ${t.name} is being deleted, cannot be assigned to a host`,
        );
      }
      if (spec.nodeName) {
        throw conflict(
          ref,
          t.name!,
          `pod ${t.name} is already assigned to node "${spec.nodeName}"`,
        );
      }
      if (Array.isArray(spec.schedulingGates) && spec.schedulingGates.length) {
        throw conflict(ref, t.name!, `pod ${t.name} has non-empty .spec.schedulingGates`);
      }
      const next = cloneStored(cur);
      next.spec = { ...spec, nodeName: node };
      if (meta.annotations && Object.keys(meta.annotations).length) {
        next.metadata = {
          ...next.metadata,
          annotations: { ...(next.metadata?.annotations ?? {}), ...meta.annotations },
        };
      }
      const status = { ...(next.status ?? {}) } as Record<string, unknown>;
      const conds = (Array.isArray(status.conditions) ? status.conditions : []) as Record<
        string,
        unknown
      >[];
      const old = conds.find((c) => c.type === "PodScheduled");
      const cond = {
        type: "PodScheduled",
        status: "True",
        lastProbeTime: null,
        lastTransitionTime: old?.status === "True" ? old.lastTransitionTime : this.#timestamp(),
      };
      status.conditions = old ? conds.map((c) => c === old ? cond : c) : [...conds, cond];
      next.status = status;
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
    if (opts.propagationPolicy === "Foreground" && !dryRun) {
      // Foreground: dependents go first, then the owner (the end state of the GC's
      // foregroundDeletion finalizer, without the intermediate "owner still visible" phase).
      const owner = this.get(t);
      await this.#life.collectDependents(owner.obj, "Foreground");
    }
    const res = await this.#mutateExisting(
      t,
      (cur) => deletion(t, cur, opts, (offset) => this.#timestamp(offset)),
      dryRun,
      opts.propagationPolicy,
    );
    if (!dryRun && t.def.resource === "namespaces" && !res.deleted) {
      await this.#life.terminateNamespace(t.name!);
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
      if (deleted) await this.#life.removeCrd(o.obj);
      else this.#registry.applyCrd(o.obj);
    }
    if (deleted) {
      await this.#life.collectDependents(o.obj, policy);
      const ns = o.obj.metadata?.namespace;
      if (ns && t.def.namespaced) await this.#life.maybeFinalizeNamespace(ns);
    }
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

/** Records an Update's field ownership on the result of an update (client writes only). */
function recordUpdate(cur: StoredObject, res: MutationResult, w?: WriterContext): MutationResult {
  if (!w || res.kind !== "put") return res;
  res.obj.metadata = { ...res.obj.metadata, managedFields: afterUpdate(cur.obj, res.obj, w) };
  return res;
}
