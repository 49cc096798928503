/**
 * LocationCache (docs/protocol.md §7.3), done better than KubeEdge's:
 *
 * - references come from containers, **init containers and ephemeral containers**, volumes
 *   (configMap, secret, projected sources, CSI node-publish secrets, PVCs, generic ephemeral
 *   PVCs), `imagePullSecrets` and the service account;
 * - it is reference counted per (object, node), so it **shrinks** when a pod is deleted, rebound
 *   or stops referencing an object, and reports which node no longer needs which object (the
 *   caller then sends that node a `delete`);
 * - the same index answers the NodeRestriction-style authorization of upstream requests.
 */
import type { KubeObject } from "../../kube/mod.ts";
import { podOf } from "./shapes.ts";

/** Object kinds the cache tracks references to. */
export type RefKind = "configmap" | "secret" | "persistentvolumeclaim" | "serviceaccount";

const KINDS: readonly RefKind[] = [
  "configmap",
  "secret",
  "persistentvolumeclaim",
  "serviceaccount",
];

/** The references of one pod: kind → set of `<namespace>/<name>`. */
export type PodRefs = Record<RefKind, Set<string>>;

/** One (object, node) pair that started or stopped being needed. */
export interface LocationChange {
  kind: RefKind;
  /** `<namespace>/<name>`. */
  key: string;
  node: string;
}

/** What a pod event changed in the cache. */
export interface LocationDelta {
  added: LocationChange[];
  removed: LocationChange[];
}

interface PodEntry {
  node: string;
  refs: PodRefs;
}

function emptyRefs(): PodRefs {
  return {
    configmap: new Set(),
    secret: new Set(),
    persistentvolumeclaim: new Set(),
    serviceaccount: new Set(),
  };
}

/** Scans a pod spec for every object it references (namespace-qualified keys). */
export function podReferences(pod: KubeObject): PodRefs {
  const refs = emptyRefs();
  const ns = pod.metadata?.namespace ?? "default";
  const spec = podOf(pod).spec ?? {};
  const add = (kind: RefKind, name: unknown) => {
    if (typeof name === "string" && name) refs[kind].add(`${ns}/${name}`);
  };
  for (const v of spec.volumes ?? []) {
    add("configmap", v?.configMap?.name);
    add("secret", v?.secret?.secretName);
    add("persistentvolumeclaim", v?.persistentVolumeClaim?.claimName);
    add("secret", v?.csi?.nodePublishSecretRef?.name);
    if (v?.ephemeral && v?.name) add("persistentvolumeclaim", `${pod.metadata?.name}-${v.name}`);
    for (const s of v?.projected?.sources ?? []) {
      add("configmap", s?.configMap?.name);
      add("secret", s?.secret?.name);
    }
  }
  const containers = [
    ...(spec.containers ?? []),
    ...(spec.initContainers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ];
  for (const c of containers) {
    for (const e of c?.envFrom ?? []) {
      add("configmap", e?.configMapRef?.name);
      add("secret", e?.secretRef?.name);
    }
    for (const e of c?.env ?? []) {
      add("configmap", e?.valueFrom?.configMapKeyRef?.name);
      add("secret", e?.valueFrom?.secretKeyRef?.name);
    }
  }
  for (const s of spec.imagePullSecrets ?? []) add("secret", s?.name);
  add("serviceaccount", spec.serviceAccountName || spec.serviceAccount || "default");
  return refs;
}

function podKey(pod: KubeObject): string {
  return `${pod.metadata?.namespace ?? "default"}/${pod.metadata?.name ?? ""}`;
}

/** See module docs. */
export class LocationCache {
  readonly #edgeNodes = new Set<string>();
  readonly #pods = new Map<string, PodEntry>();
  /** kind → object key → node → number of pods on that node referencing it. */
  readonly #index = new Map<RefKind, Map<string, Map<string, number>>>(
    KINDS.map((k) => [k, new Map()]),
  );
  /** node → pod keys bound to it. */
  readonly #podsByNode = new Map<string, Set<string>>();

  /** Adds an edge node (label `node-role.kubernetes.io/edge=`). */
  addNode(name: string): boolean {
    if (this.#edgeNodes.has(name)) return false;
    this.#edgeNodes.add(name);
    return true;
  }

  /** Removes an edge node; its pods' references stay until the pods go. */
  removeNode(name: string): boolean {
    return this.#edgeNodes.delete(name);
  }

  /** True when `name` is a known edge node. */
  isEdgeNode(name: string | undefined): boolean {
    return !!name && this.#edgeNodes.has(name);
  }

  /** Known edge nodes. */
  edgeNodes(): string[] {
    return [...this.#edgeNodes];
  }

  #inc(kind: RefKind, key: string, node: string): boolean {
    const byKey = this.#index.get(kind) as Map<string, Map<string, number>>;
    let nodes = byKey.get(key);
    if (!nodes) byKey.set(key, nodes = new Map());
    const n = (nodes.get(node) ?? 0) + 1;
    nodes.set(node, n);
    return n === 1;
  }

  #dec(kind: RefKind, key: string, node: string): boolean {
    const byKey = this.#index.get(kind) as Map<string, Map<string, number>>;
    const nodes = byKey.get(key);
    const n = (nodes?.get(node) ?? 0) - 1;
    if (!nodes) return false;
    if (n > 0) {
      nodes.set(node, n);
      return false;
    }
    nodes.delete(node);
    if (nodes.size === 0) byKey.delete(key);
    return true;
  }

  /**
   * Records a pod's references for its `spec.nodeName` (pods without a node are forgotten).
   * Returns the (object, node) pairs that became needed and those no longer needed.
   */
  addOrUpdatePod(pod: KubeObject): LocationDelta {
    const key = podKey(pod);
    const node = podOf(pod).spec?.nodeName ?? "";
    const removed = this.#forget(key);
    if (!node) return { added: [], removed };
    const refs = podReferences(pod);
    const added: LocationChange[] = [];
    for (const kind of KINDS) {
      for (const ref of refs[kind]) {
        if (this.#inc(kind, ref, node)) added.push({ kind, key: ref, node });
      }
    }
    this.#pods.set(key, { node, refs });
    let set = this.#podsByNode.get(node);
    if (!set) this.#podsByNode.set(node, set = new Set());
    set.add(key);
    // A pair removed and re-added by the same update is no change at all.
    const addedKeys = new Set(added.map((c) => `${c.kind}|${c.key}|${c.node}`));
    const removedKeys = new Set(removed.map((c) => `${c.kind}|${c.key}|${c.node}`));
    return {
      added: added.filter((c) => !removedKeys.has(`${c.kind}|${c.key}|${c.node}`)),
      removed: removed.filter((c) => !addedKeys.has(`${c.kind}|${c.key}|${c.node}`)),
    };
  }

  /** Forgets a deleted pod; returns the (object, node) pairs no longer needed. */
  deletePod(pod: KubeObject): LocationDelta {
    return { added: [], removed: this.#forget(podKey(pod)) };
  }

  #forget(key: string): LocationChange[] {
    const entry = this.#pods.get(key);
    if (!entry) return [];
    this.#pods.delete(key);
    const set = this.#podsByNode.get(entry.node);
    set?.delete(key);
    if (set?.size === 0) this.#podsByNode.delete(entry.node);
    const removed: LocationChange[] = [];
    for (const kind of KINDS) {
      for (const ref of entry.refs[kind]) {
        if (this.#dec(kind, ref, entry.node)) removed.push({ kind, key: ref, node: entry.node });
      }
    }
    return removed;
  }

  /** Nodes (edge or not) whose pods reference `<ns>/<name>` of `kind`. */
  nodesFor(kind: RefKind, namespace: string, name: string): string[] {
    return [...(this.#index.get(kind)?.get(`${namespace}/${name}`)?.keys() ?? [])];
  }

  /** Edge nodes that need ConfigMap `<ns>/<name>` (`ConfigMapNodes`). */
  configMapNodes(namespace: string, name: string): string[] {
    return this.nodesFor("configmap", namespace, name).filter((n) => this.#edgeNodes.has(n));
  }

  /** Edge nodes that need Secret `<ns>/<name>` (`SecretNodes`). */
  secretNodes(namespace: string, name: string): string[] {
    return this.nodesFor("secret", namespace, name).filter((n) => this.#edgeNodes.has(n));
  }

  /** True when a pod on `node` references the object. */
  nodeReferences(node: string, kind: RefKind, namespace: string, name: string): boolean {
    return (this.#index.get(kind)?.get(`${namespace}/${name}`)?.get(node) ?? 0) > 0;
  }

  /** `<ns>/<name>` keys of the pods bound to `node`. */
  podsOnNode(node: string): string[] {
    return [...(this.#podsByNode.get(node) ?? [])];
  }

  /** The node a pod (`<ns>/<name>`) is bound to, if known. */
  podNode(namespace: string, name: string): string | undefined {
    return this.#pods.get(`${namespace}/${name}`)?.node;
  }

  /** Objects of `kind` referenced by pods on `node`. */
  referencedBy(node: string, kind: RefKind): string[] {
    const out: string[] = [];
    for (const [key, nodes] of this.#index.get(kind) ?? []) if (nodes.has(node)) out.push(key);
    return out;
  }
}
