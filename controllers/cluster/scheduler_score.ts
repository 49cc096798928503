/**
 * The scheduler's Score plugins with kube-scheduler 1.32's default weights, each normalised to
 * 0..100 as upstream: TaintToleration (3; fewer untolerated PreferNoSchedule taints),
 * NodeAffinity (2; preferred terms' weights), NodeResourcesFit LeastAllocated (1; cpu and memory
 * with non-zero requests), PodTopologySpread (2; the system default constraints, hostname skew 3
 * and zone skew 5, over pods of the same controller), InterPodAffinity (2) and
 * NodeResourcesBalancedAllocation (1). ImageLocality is not scored. The best node wins; ties are
 * broken at random, as `selectHost` does.
 */
import { termMatches as nodeTermMatches, tolerates } from "./node_fit.ts";
import { controllerRef, type NodeSelectorTerm, type Pod } from "./pods.ts";
import { affinityScores } from "./scheduler_affinity.ts";
import { podRequests } from "./scheduler_resources.ts";
import type { NodeInfo, Snapshot } from "./scheduler_snapshot.ts";

const MAX = 100;

/** `helper.DefaultNormalizeScore`. */
function normalize(scores: number[], reverse: boolean): number[] {
  const hi = Math.max(0, ...scores);
  if (hi === 0) return scores.map(() => reverse ? MAX : 0);
  return scores.map((s) => {
    const v = Math.trunc(MAX * s / hi);
    return reverse ? MAX - v : v;
  });
}

function taintToleration(pod: Pod, nodes: NodeInfo[]): number[] {
  const tols = (pod.spec.tolerations ?? []).filter((t) =>
    !t.effect || t.effect === "PreferNoSchedule"
  );
  return normalize(
    nodes.map(({ node }) =>
      (node.spec?.taints ?? []).filter((taint) =>
        taint.effect === "PreferNoSchedule" && !tols.some((t) => tolerates(t, taint))
      ).length
    ),
    true,
  );
}

function nodeAffinity(pod: Pod, nodes: NodeInfo[]): number[] {
  const prefs = (pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ??
    []) as { weight: number; preference: NodeSelectorTerm }[];
  if (!prefs.length) return nodes.map(() => 0);
  return normalize(
    nodes.map(({ node }) =>
      prefs.reduce(
        (s, p) => s + (p.weight && nodeTermMatches(p.preference, node) ? p.weight : 0),
        0,
      )
    ),
    false,
  );
}

function leastAllocated(pod: Pod, nodes: NodeInfo[]): number[] {
  const req = podRequests(pod, true);
  return nodes.map((info) => {
    let sum = 0, weights = 0;
    for (const r of ["cpu", "memory"] as const) {
      const cap = info.allocatable[r] ?? 0;
      if (cap === 0) continue;
      const used = info.nonZeroRequested[r] + req[r];
      sum += used > cap ? 0 : Math.trunc((cap - used) * MAX / cap);
      weights++;
    }
    return weights ? Math.trunc(sum / weights) : 0;
  });
}

function balancedAllocation(pod: Pod, nodes: NodeInfo[]): number[] {
  const req = podRequests(pod);
  return nodes.map((info) => {
    const fractions: number[] = [];
    for (const r of ["cpu", "memory"]) {
      const cap = info.allocatable[r] ?? 0;
      if (cap === 0) continue;
      fractions.push(Math.min(1, ((info.requested[r] ?? 0) + (req[r] ?? 0)) / cap));
    }
    const std = fractions.length === 2 ? Math.abs(fractions[0] - fractions[1]) / 2 : 0;
    return Math.trunc((1 - std) * MAX);
  });
}

/**
 * PodTopologySpread scoring with the system default constraints. The default selector is the
 * selectors of the Services and controllers that select the pod; here, pods with the same
 * controller (the same ReplicaSet, StatefulSet, ...), which is what those selectors pick out.
 */
function topologySpread(pod: Pod, nodes: NodeInfo[], snap: Snapshot): number[] {
  const owner = controllerRef(pod)?.uid;
  if (!owner) return nodes.map(() => 0);
  const ns = pod.metadata.namespace;
  const matching = (info: NodeInfo) =>
    info.pods.filter((p) =>
      p.metadata.namespace === ns && !p.metadata.deletionTimestamp &&
      controllerRef(p)?.uid === owner
    ).length;
  const HOST = "kubernetes.io/hostname", ZONE = "topology.kubernetes.io/zone";
  const zoneCounts = new Map<string, number>();
  const zones = new Set(nodes.map((n) => n.labels[ZONE]).filter((z) => z !== undefined));
  for (const info of snap.nodes) {
    const z = info.labels[ZONE];
    if (z !== undefined && zones.has(z)) {
      zoneCounts.set(z, (zoneCounts.get(z) ?? 0) + matching(info));
    }
  }
  const hostWeight = Math.log(nodes.length + 2), zoneWeight = Math.log(zones.size + 2);
  const raw = nodes.map((info) => {
    let s = 0;
    if (info.labels[HOST] !== undefined) s += matching(info) * hostWeight + (3 - 1);
    const z = info.labels[ZONE];
    if (z !== undefined) s += (zoneCounts.get(z) ?? 0) * zoneWeight + (5 - 1);
    return Math.round(s);
  });
  const lo = Math.min(...raw), hi = Math.max(...raw);
  return raw.map((s) => hi === 0 ? MAX : Math.trunc(MAX * (hi + lo - s) / hi));
}

/** Weighted total score per node, in `nodes` order. */
export function scoreNodes(pod: Pod, nodes: NodeInfo[], snap: Snapshot): number[] {
  const plugins: [number, number[]][] = [
    [3, taintToleration(pod, nodes)],
    [2, nodeAffinity(pod, nodes)],
    [1, leastAllocated(pod, nodes)],
    [2, topologySpread(pod, nodes, snap)],
    [2, affinityScores(pod, nodes, snap)],
    [1, balancedAllocation(pod, nodes)],
  ];
  return nodes.map((_, i) => plugins.reduce((s, [w, scores]) => s + w * scores[i], 0));
}

/** `selectHost`: the highest total, a random one of equals. */
export function selectHost(pod: Pod, nodes: NodeInfo[], snap: Snapshot): NodeInfo {
  if (nodes.length === 1) return nodes[0];
  const scores = scoreNodes(pod, nodes, snap);
  const best = Math.max(...scores);
  const top = nodes.filter((_, i) => scores[i] === best);
  return top[Math.floor(Math.random() * top.length)];
}
