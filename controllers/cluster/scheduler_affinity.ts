/**
 * Inter-pod affinity as kube-scheduler's InterPodAffinity plugin computes it, on any topology key
 * (a node's label): the PreFilter counts (the incoming pod's required affinity and anti-affinity
 * terms against the pods already bound, and the bound pods' required anti-affinity against the
 * incoming pod), the Filter on them, and the Score of preferred terms both ways (plus bound pods'
 * required affinity at hardPodAffinityWeight 1), min-max normalised.
 */
import { type LabelSelector, selectorMatches } from "../../lib/mod.ts";
import type { Pod } from "./pods.ts";
import type { NodeInfo, Snapshot } from "./scheduler_snapshot.ts";

/** A pod (anti-)affinity term. */
export interface PodAffinityTerm {
  labelSelector?: LabelSelector | null;
  namespaces?: string[];
  namespaceSelector?: LabelSelector | null;
  topologyKey: string;
}

/** A preferred term. */
export interface WeightedPodAffinityTerm {
  weight: number;
  podAffinityTerm: PodAffinityTerm;
}

interface PodAffinity {
  requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
  preferredDuringSchedulingIgnoredDuringExecution?: WeightedPodAffinityTerm[];
}

function affinityOf(p: Pod): { affinity: PodAffinity; anti: PodAffinity } {
  const a = (p.spec.affinity ?? {}) as { podAffinity?: PodAffinity; podAntiAffinity?: PodAffinity };
  return { affinity: a.podAffinity ?? {}, anti: a.podAntiAffinity ?? {} };
}

/** Required affinity and anti-affinity terms of a pod. */
export function requiredTerms(p: Pod): { affinity: PodAffinityTerm[]; anti: PodAffinityTerm[] } {
  const { affinity, anti } = affinityOf(p);
  return {
    affinity: affinity.requiredDuringSchedulingIgnoredDuringExecution ?? [],
    anti: anti.requiredDuringSchedulingIgnoredDuringExecution ?? [],
  };
}

/**
 * `AffinityTerm.Matches`: `target` is in the term's namespaces (its own owner's namespace when
 * neither `namespaces` nor `namespaceSelector` is given) and its labels match the selector.
 */
export function termMatches(
  term: PodAffinityTerm,
  owner: Pod,
  target: Pod,
  snap: Snapshot,
): boolean {
  const ns = target.metadata.namespace ?? "";
  const names = term.namespaces ?? [];
  const sel = term.namespaceSelector;
  const inNs = names.length === 0 && !sel
    ? ns === (owner.metadata.namespace ?? "")
    : names.includes(ns) || (!!sel && selectorMatches(sel, snap.namespaceLabels(ns) ?? {}));
  return inNs && selectorMatches(term.labelSelector, target.metadata.labels ?? {});
}

type Counts = Map<string, number>;
const pair = (key: string, value: string) => `${key}\u0000${value}`;
function bump(c: Counts, key: string, value: string | undefined, by = 1): void {
  if (value === undefined) return;
  c.set(pair(key, value), (c.get(pair(key, value)) ?? 0) + by);
}

/** The InterPodAffinity PreFilter state for one pod. */
export interface AffinityState {
  affinityTerms: PodAffinityTerm[];
  antiTerms: PodAffinityTerm[];
  affinityCounts: Counts;
  antiCounts: Counts;
  existingAntiCounts: Counts;
  /** The pod matches all its own affinity terms (the first of a group may go anywhere). */
  selfMatch: boolean;
}

/** PreFilter: counts per topology pair. */
export function affinityState(pod: Pod, snap: Snapshot): AffinityState {
  const { affinity, anti } = requiredTerms(pod);
  const s: AffinityState = {
    affinityTerms: affinity,
    antiTerms: anti,
    affinityCounts: new Map(),
    antiCounts: new Map(),
    existingAntiCounts: new Map(),
    selfMatch: affinity.every((t) => termMatches(t, pod, pod, snap)),
  };
  for (const info of snap.nodes) {
    for (const p of info.pods) {
      for (const t of requiredTerms(p).anti) {
        if (termMatches(t, p, pod, snap)) {
          bump(s.existingAntiCounts, t.topologyKey, info.labels[t.topologyKey]);
        }
      }
      for (const t of affinity) {
        if (termMatches(t, pod, p, snap)) {
          bump(s.affinityCounts, t.topologyKey, info.labels[t.topologyKey]);
        }
      }
      for (const t of anti) {
        if (termMatches(t, pod, p, snap)) {
          bump(s.antiCounts, t.topologyKey, info.labels[t.topologyKey]);
        }
      }
    }
  }
  return s;
}

/** The Filter's verdict: undefined when the node fits, else which rule fails. */
export function affinityFilter(
  s: AffinityState,
  info: NodeInfo,
): "affinity" | "anti" | "existing" | undefined {
  // satisfyPodAffinity
  let podsExist = true;
  for (const t of s.affinityTerms) {
    const v = info.labels[t.topologyKey];
    if (v === undefined) return "affinity";
    if ((s.affinityCounts.get(pair(t.topologyKey, v)) ?? 0) <= 0) podsExist = false;
  }
  if (!podsExist && !(s.affinityCounts.size === 0 && s.selfMatch)) return "affinity";
  for (const t of s.antiTerms) {
    const v = info.labels[t.topologyKey];
    if (v !== undefined && (s.antiCounts.get(pair(t.topologyKey, v)) ?? 0) > 0) return "anti";
  }
  for (const [k, v] of Object.entries(info.labels)) {
    if ((s.existingAntiCounts.get(pair(k, v)) ?? 0) > 0) return "existing";
  }
  return undefined;
}

/** Score (raw, per node) and NormalizeScore (0..100), in `nodes` order. */
export function affinityScores(pod: Pod, nodes: NodeInfo[], snap: Snapshot): number[] {
  const { affinity, anti } = affinityOf(pod);
  const prefA = affinity.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  const prefN = anti.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  const topo: Counts = new Map();
  for (const info of snap.nodes) {
    for (const p of info.pods) {
      const at = (t: PodAffinityTerm, w: number) =>
        bump(topo, t.topologyKey, info.labels[t.topologyKey], w);
      for (const w of prefA) {
        if (termMatches(w.podAffinityTerm, pod, p, snap)) at(w.podAffinityTerm, w.weight);
      }
      for (const w of prefN) {
        if (termMatches(w.podAffinityTerm, pod, p, snap)) at(w.podAffinityTerm, -w.weight);
      }
      const theirs = affinityOf(p);
      // hardPodAffinityWeight (1): a bound pod's required affinity draws the pods it selects.
      for (const t of theirs.affinity.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
        if (termMatches(t, p, pod, snap)) at(t, 1);
      }
      for (const w of theirs.affinity.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
        if (termMatches(w.podAffinityTerm, p, pod, snap)) at(w.podAffinityTerm, w.weight);
      }
      for (const w of theirs.anti.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
        if (termMatches(w.podAffinityTerm, p, pod, snap)) at(w.podAffinityTerm, -w.weight);
      }
    }
  }
  if (topo.size === 0) return nodes.map(() => 0);
  const raw = nodes.map((info) =>
    Object.entries(info.labels).reduce((s, [k, v]) => s + (topo.get(pair(k, v)) ?? 0), 0)
  );
  const lo = Math.min(...raw), hi = Math.max(...raw);
  return raw.map((r) => hi > lo ? Math.trunc(100 * (r - lo) / (hi - lo)) : 0);
}
