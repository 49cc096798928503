/**
 * The resource registry: which group/version/resource paths are served, their kind, scope and
 * subresources. Built-in types are fixed; custom resources come and go with CRD objects.
 */

/** A Kubernetes object as JSON. */
export type KObject = Record<string, unknown> & {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
};

/** The subset of ObjectMeta the server reads and writes. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: { uid: string; kind: string; name: string; apiVersion: string }[];
  [key: string]: unknown;
}

/** One served resource at one group/version. */
export interface ResourceDef {
  group: string;
  version: string;
  /** Plural name, as in the URL. */
  resource: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Subresources: "status", "token", "approval", "finalize". */
  subresources: string[];
  /** True for types compiled into the server (strategic merge patch allowed). */
  builtin: boolean;
  /** Extra Table columns from a CRD's additionalPrinterColumns. */
  printerColumns?: PrinterColumn[];
  /** Discovery verbs when not the full set (read-only APIs such as metrics.k8s.io). */
  verbs?: string[];
  /** A CRD version's `schema.openAPIV3Schema` (field types are validated against it). */
  schema?: Record<string, unknown>;
}

/** A CRD additionalPrinterColumn. */
export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
}

/** The storage identity of a resource: objects are shared by all versions of a group/resource. */
export function storageKey(def: { group: string; resource: string }): string {
  return def.group ? `${def.resource}.${def.group}` : def.resource;
}

/** "v1" or "group/version". */
export function apiVersionOf(def: { group: string; version: string }): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

interface BuiltinSpec {
  g: string;
  v: string;
  r: string;
  k: string;
  ns: boolean;
  short?: string[];
  sub?: string[];
  cat?: string[];
  verbs?: string[];
}

const BUILTINS: BuiltinSpec[] = [
  {
    g: "",
    v: "v1",
    r: "namespaces",
    k: "Namespace",
    ns: false,
    short: ["ns"],
    sub: ["status", "finalize"],
  },
  { g: "", v: "v1", r: "nodes", k: "Node", ns: false, short: ["no"], sub: ["status", "proxy"] },
  {
    g: "",
    v: "v1",
    r: "pods",
    k: "Pod",
    ns: true,
    short: ["po"],
    sub: ["status", "binding", "eviction", "log", "exec", "attach", "portforward"],
    cat: ["all"],
  },
  { g: "", v: "v1", r: "configmaps", k: "ConfigMap", ns: true, short: ["cm"] },
  { g: "", v: "v1", r: "secrets", k: "Secret", ns: true },
  {
    g: "",
    v: "v1",
    r: "services",
    k: "Service",
    ns: true,
    short: ["svc"],
    sub: ["status"],
    cat: ["all"],
  },
  { g: "", v: "v1", r: "endpoints", k: "Endpoints", ns: true, short: ["ep"] },
  { g: "discovery.k8s.io", v: "v1", r: "endpointslices", k: "EndpointSlice", ns: true },
  { g: "", v: "v1", r: "events", k: "Event", ns: true, short: ["ev"] },
  {
    g: "",
    v: "v1",
    r: "persistentvolumes",
    k: "PersistentVolume",
    ns: false,
    short: ["pv"],
    sub: ["status"],
  },
  {
    g: "",
    v: "v1",
    r: "persistentvolumeclaims",
    k: "PersistentVolumeClaim",
    ns: true,
    short: ["pvc"],
    sub: ["status"],
  },
  {
    g: "",
    v: "v1",
    r: "serviceaccounts",
    k: "ServiceAccount",
    ns: true,
    short: ["sa"],
    sub: ["token"],
  },
  { g: "coordination.k8s.io", v: "v1", r: "leases", k: "Lease", ns: true },
  {
    g: "storage.k8s.io",
    v: "v1",
    r: "volumeattachments",
    k: "VolumeAttachment",
    ns: false,
    sub: ["status"],
  },
  {
    g: "certificates.k8s.io",
    v: "v1",
    r: "certificatesigningrequests",
    k: "CertificateSigningRequest",
    ns: false,
    short: ["csr"],
    sub: ["status", "approval"],
  },
  {
    g: "apiextensions.k8s.io",
    v: "v1",
    r: "customresourcedefinitions",
    k: "CustomResourceDefinition",
    ns: false,
    short: ["crd", "crds"],
    sub: ["status"],
  },
  // Access reviews (apiserver/access_review.ts): create only.
  {
    g: "authorization.k8s.io",
    v: "v1",
    r: "selfsubjectaccessreviews",
    k: "SelfSubjectAccessReview",
    ns: false,
    verbs: ["create"],
  },
  {
    g: "authorization.k8s.io",
    v: "v1",
    r: "selfsubjectrulesreviews",
    k: "SelfSubjectRulesReview",
    ns: false,
    verbs: ["create"],
  },
  {
    g: "authorization.k8s.io",
    v: "v1",
    r: "subjectaccessreviews",
    k: "SubjectAccessReview",
    ns: false,
    verbs: ["create"],
  },
  {
    g: "authorization.k8s.io",
    v: "v1",
    r: "localsubjectaccessreviews",
    k: "LocalSubjectAccessReview",
    ns: true,
    verbs: ["create"],
  },
  // Served from the nodes' kubelet stats through CloudStream (apiserver/metrics_api.ts), as
  // metrics-server would: `kubectl top node|pod`.
  {
    g: "metrics.k8s.io",
    v: "v1beta1",
    r: "nodes",
    k: "NodeMetrics",
    ns: false,
    verbs: ["get", "list"],
  },
  {
    g: "metrics.k8s.io",
    v: "v1beta1",
    r: "pods",
    k: "PodMetrics",
    ns: true,
    verbs: ["get", "list"],
  },
  // apps/v1 and batch/v1 workloads (apiserver/workloads.ts).
  {
    g: "apps",
    v: "v1",
    r: "deployments",
    k: "Deployment",
    ns: true,
    short: ["deploy"],
    sub: ["status", "scale"],
    cat: ["all"],
  },
  {
    g: "apps",
    v: "v1",
    r: "replicasets",
    k: "ReplicaSet",
    ns: true,
    short: ["rs"],
    sub: ["status", "scale"],
    cat: ["all"],
  },
  {
    g: "apps",
    v: "v1",
    r: "daemonsets",
    k: "DaemonSet",
    ns: true,
    short: ["ds"],
    sub: ["status"],
    cat: ["all"],
  },
  {
    g: "apps",
    v: "v1",
    r: "statefulsets",
    k: "StatefulSet",
    ns: true,
    short: ["sts"],
    sub: ["status", "scale"],
    cat: ["all"],
  },
  { g: "apps", v: "v1", r: "controllerrevisions", k: "ControllerRevision", ns: true },
  { g: "batch", v: "v1", r: "jobs", k: "Job", ns: true, sub: ["status"], cat: ["all"] },
  {
    g: "batch",
    v: "v1",
    r: "cronjobs",
    k: "CronJob",
    ns: true,
    short: ["cj"],
    sub: ["status"],
    cat: ["all"],
  },
];

/** Lookup of served resources, updated as CRDs are created and deleted. */
export class ResourceRegistry {
  #byPath = new Map<string, ResourceDef>();
  #crdOwned = new Map<string, ResourceDef[]>();

  constructor() {
    for (const b of BUILTINS) {
      this.#add({
        group: b.g,
        version: b.v,
        resource: b.r,
        singular: b.k.toLowerCase(),
        kind: b.k,
        listKind: `${b.k}List`,
        namespaced: b.ns,
        shortNames: b.short ?? [],
        categories: b.cat ?? [],
        subresources: b.sub ?? [],
        builtin: true,
        ...(b.verbs ? { verbs: b.verbs } : {}),
      });
    }
  }

  #add(def: ResourceDef): void {
    this.#byPath.set(`${def.group}/${def.version}/${def.resource}`, def);
  }

  /** The resource served at group/version/resource, if any. */
  get(group: string, version: string, resource: string): ResourceDef | undefined {
    return this.#byPath.get(`${group}/${version}/${resource}`);
  }

  /** All served resources. */
  all(): ResourceDef[] {
    return [...this.#byPath.values()];
  }

  /** Served group → versions (preferred version first). */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const d of this.#byPath.values()) {
      const list = out.get(d.group) ?? [];
      if (!list.includes(d.version)) list.push(d.version);
      out.set(d.group, list);
    }
    for (const [g, versions] of out) out.set(g, sortVersions(versions));
    return out;
  }

  /** Resources of one group/version. */
  inGroupVersion(group: string, version: string): ResourceDef[] {
    return this.all().filter((d) => d.group === group && d.version === version);
  }

  /** Every served version of the storage behind `def`. */
  versionsOf(def: ResourceDef): ResourceDef[] {
    return this.all().filter((d) => d.group === def.group && d.resource === def.resource);
  }

  /** Serves (or re-serves) the versions a CRD object declares. */
  applyCrd(crd: KObject): void {
    const name = crd.metadata?.name ?? "";
    this.removeCrd(name);
    const spec = (crd.spec ?? {}) as Record<string, unknown>;
    const names = (spec.names ?? {}) as Record<string, unknown>;
    const group = String(spec.group ?? "");
    const plural = String(names.plural ?? "");
    const kind = String(names.kind ?? "");
    if (!group || !plural || !kind) return;
    const defs: ResourceDef[] = [];
    for (const v of (spec.versions ?? []) as Record<string, unknown>[]) {
      if (v.served === false) continue;
      const sub = (v.subresources ?? {}) as Record<string, unknown>;
      const def: ResourceDef = {
        group,
        version: String(v.name),
        resource: plural,
        singular: String(names.singular ?? kind.toLowerCase()),
        kind,
        listKind: String(names.listKind ?? `${kind}List`),
        namespaced: spec.scope !== "Cluster",
        shortNames: (names.shortNames ?? []) as string[],
        categories: (names.categories ?? []) as string[],
        subresources: sub.status !== undefined ? ["status"] : [],
        builtin: false,
        printerColumns: (v.additionalPrinterColumns ?? []) as PrinterColumn[],
        schema: openApiSchema(v.schema),
      };
      this.#add(def);
      defs.push(def);
    }
    this.#crdOwned.set(name, defs);
  }

  /** Stops serving what a CRD declared. */
  removeCrd(name: string): void {
    for (const d of this.#crdOwned.get(name) ?? []) {
      this.#byPath.delete(`${d.group}/${d.version}/${d.resource}`);
    }
    this.#crdOwned.delete(name);
  }
}

/** `schema.openAPIV3Schema` of a CRD version, when it is an object. */
function openApiSchema(schema: unknown): Record<string, unknown> | undefined {
  const s = (schema as Record<string, unknown> | null | undefined)?.openAPIV3Schema;
  return s !== null && typeof s === "object" && !Array.isArray(s)
    ? s as Record<string, unknown>
    : undefined;
}

/** Orders versions the Kubernetes way: GA > beta > alpha, higher numbers first. */
export function sortVersions(versions: string[]): string[] {
  const rank = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [0, 0, 0];
    const level = m[2] === "alpha" ? 1 : m[2] === "beta" ? 2 : 3;
    return [level, Number(m[1]), Number(m[3] ?? 0)];
  };
  return [...versions].sort((a, b) => {
    const ra = rank(a), rb = rank(b);
    for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return rb[i] - ra[i];
    return a.localeCompare(b);
  });
}
