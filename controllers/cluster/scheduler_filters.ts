/**
 * The scheduler's filters and scores (kube-scheduler's default plugins, the subset an edge fleet
 * needs), with kube-scheduler's reason strings for the FailedScheduling message.
 */
import { type LabelSelector, selectorMatches } from "../../lib/mod.ts";
import { nodeSelectorMatches, termMatches, untoleratedTaints } from "./node_fit.ts";
import { controllerRef, type Node, type Pod } from "./pods.ts";

/** Why a node does not fit, as kube-scheduler words it. */
export interface FitFailure {
  node: string;
  reason: string;
}

/** The hostname topology key (the only one honoured for pod affinity). */
const HOSTNAME = "kubernetes.io/hostname";

interface PodAffinityTerm {
  labelSelector?: LabelSelector;
  topologyKey?: string;
  namespaces?: string[];
}

interface Affinity {
  podAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
    preferredDuringSchedulingIgnoredDuringExecution?: {
      weight: number;
      podAffinityTerm: PodAffinityTerm;
    }[];
  };
  podAntiAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
    preferredDuringSchedulingIgnoredDuringExecution?: {
      weight: number;
      podAffinityTerm: PodAffinityTerm;
    }[];
  };
  nodeAffinity?: {
    preferredDuringSchedulingIgnoredDuringExecution?: {
      weight: number;
      preference: { matchExpressions?: unknown[]; matchFields?: unknown[] };
    }[];
  };
}

/** A Quantity in base units (cores for cpu, bytes for memory). */
export function quantity(q: unknown): number {
  if (typeof q === "number") return q;
  if (typeof q !== "string") return 0;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(q.trim());
  if (!m) return 0;
  const mult: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
    Pi: 1024 ** 5,
    Ei: 1024 ** 6,
  };
  return Number(m[1]) * (m[2] ? mult[m[2]] : 1);
}

type Containers = {
  resources?: { requests?: Record<string, unknown> };
  ports?: { hostPort?: number; protocol?: string }[];
}[];

/** The pod's requests (`max(init) ∪ sum(containers)` per resource, plus overhead). */
export function podRequests(p: Pod): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of (p.spec.containers ?? []) as Containers) {
    for (const [k, v] of Object.entries(c.resources?.requests ?? {})) {
      out[k] = (out[k] ?? 0) + quantity(v);
    }
  }
  for (const c of (p.spec.initContainers ?? []) as Containers) {
    for (const [k, v] of Object.entries(c.resources?.requests ?? {})) {
      out[k] = Math.max(out[k] ?? 0, quantity(v));
    }
  }
  return out;
}

function hostPorts(p: Pod): string[] {
  const out: string[] = [];
  for (const c of (p.spec.containers ?? []) as Containers) {
    for (const port of c.ports ?? []) {
      if (port.hostPort) out.push(`${port.protocol ?? "TCP"}/${port.hostPort}`);
    }
  }
  return out;
}

function termSelects(term: PodAffinityTerm, owner: Pod, other: Pod): boolean {
  const namespaces = term.namespaces?.length ? term.namespaces : [owner.metadata.namespace ?? ""];
  if (!namespaces.includes(other.metadata.namespace ?? "")) return false;
  return selectorMatches(term.labelSelector, other.metadata.labels ?? {});
}

function allocatable(n: Node): Record<string, number> {
  const a = (n.status as { allocatable?: Record<string, unknown> } | undefined)?.allocatable ?? {};
  return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, quantity(v)]));
}

/**
 * Filters: which nodes can take the pod, and why each other one cannot (the first failing filter
 * in kube-scheduler's order: NodeUnschedulable, TaintToleration, NodeAffinity, NodeResourcesFit,
 * NodePorts, InterPodAffinity).
 */
export function filterNodes(
  pod: Pod,
  nodes: Node[],
  bound: Pod[],
): { fit: Node[]; failures: FitFailure[] } {
  const fit: Node[] = [];
  const failures: FitFailure[] = [];
  const byNode = new Map<string, Pod[]>();
  for (const p of bound) byNode.set(p.spec.nodeName!, [...byNode.get(p.spec.nodeName!) ?? [], p]);
  const req = podRequests(pod);
  const ports = hostPorts(pod);
  const aff = (pod.spec.affinity ?? {}) as Affinity;
  for (const n of nodes) {
    const name = n.metadata.name ?? "";
    const fail = (reason: string) => failures.push({ node: name, reason });
    if (n.spec?.unschedulable) {
      // Tolerated by the node.kubernetes.io/unschedulable toleration, as upstream.
      const tolerated = (pod.spec.tolerations ?? []).some((t) =>
        t.key === "node.kubernetes.io/unschedulable" && (t.operator === "Exists")
      );
      if (!tolerated) {
        fail("node(s) were unschedulable");
        continue;
      }
    }
    const taints = untoleratedTaints(n, pod.spec.tolerations, ["NoSchedule", "NoExecute"]);
    if (taints.length) {
      fail(`node(s) had untolerated taint {${taints[0].key}: ${taints[0].value ?? ""}}`);
      continue;
    }
    if (!nodeSelectorMatches(pod.spec, n)) {
      fail("node(s) didn't match Pod's node affinity/selector");
      continue;
    }
    const here = byNode.get(name) ?? [];
    const alloc = allocatable(n);
    let short = "";
    if (alloc.pods !== undefined && here.length + 1 > alloc.pods) short = "Too many pods";
    for (const [r, v] of Object.entries(req)) {
      if (short || alloc[r] === undefined || v === 0) continue;
      const used = here.reduce((s, p) => s + (podRequests(p)[r] ?? 0), 0);
      if (used + v > alloc[r] + 1e-9) short = `Insufficient ${r}`;
    }
    if (short) {
      fail(short);
      continue;
    }
    if (ports.length && here.some((p) => hostPorts(p).some((hp) => ports.includes(hp)))) {
      fail("node(s) didn't have free ports for the requested pod ports");
      continue;
    }
    const anti = aff.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    if (
      anti.some((t) =>
        (t.topologyKey ?? HOSTNAME) === HOSTNAME && here.some((p) => termSelects(t, pod, p))
      )
    ) {
      fail("node(s) didn't match pod anti-affinity rules");
      continue;
    }
    const need = aff.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    const anywhere = (t: PodAffinityTerm) => bound.some((p) => termSelects(t, pod, p));
    if (
      need.some((t) =>
        (t.topologyKey ?? HOSTNAME) === HOSTNAME && !here.some((p) => termSelects(t, pod, p)) &&
        // The first pod of a group that selects itself may go anywhere (upstream's rule).
        (anywhere(t) || !termSelects(t, pod, pod))
      )
    ) {
      fail("node(s) didn't match pod affinity rules");
      continue;
    }
    fit.push(n);
  }
  return { fit, failures };
}

/** Scores the fitting nodes; best first (ties by name). */
export function scoreNodes(pod: Pod, nodes: Node[], bound: Pod[]): Node[] {
  const owner = controllerRef(pod)?.uid;
  const req = podRequests(pod);
  const aff = (pod.spec.affinity ?? {}) as Affinity;
  const scored = nodes.map((n) => {
    const name = n.metadata.name ?? "";
    const here = bound.filter((p) => p.spec.nodeName === name);
    const alloc = allocatable(n);
    let score = 0;
    // LeastAllocated over cpu and memory (0..100).
    const frac = (r: string) => {
      if (!alloc[r]) return 1;
      const used = here.reduce((s, p) => s + (podRequests(p)[r] ?? 0), 0) + (req[r] ?? 0);
      return Math.max(0, (alloc[r] - used) / alloc[r]);
    };
    score += 50 * (frac("cpu") + frac("memory"));
    // Spread pods of one owner (SelectorSpread / PodTopologySpread on hostname).
    if (owner) score -= 200 * here.filter((p) => controllerRef(p)?.uid === owner).length;
    score -= 5 * here.length;
    for (const p of aff.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
      if (termMatches(p.preference as Parameters<typeof termMatches>[0], n)) score += p.weight * 10;
    }
    for (const p of aff.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
      if (here.some((o) => termSelects(p.podAffinityTerm, pod, o))) score += p.weight * 10;
    }
    for (const p of aff.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
      if (here.some((o) => termSelects(p.podAffinityTerm, pod, o))) score -= p.weight * 10;
    }
    return { n, score };
  });
  scored.sort((a, b) =>
    b.score - a.score || (a.n.metadata.name ?? "").localeCompare(b.n.metadata.name ?? "")
  );
  return scored.map((s) => s.n);
}
