/**
 * The scheduler's PreFilter and Filter plugins, in kube-scheduler 1.32's default-profile order
 * (NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit,
 * InterPodAffinity), each with its status code and reason strings: a node is rejected by the
 * first failing plugin, which may give several reasons ("Insufficient cpu", "Insufficient
 * memory"). Volume plugins, PodTopologySpread's DoNotSchedule constraints and DRA are not here.
 */
import { nodeSelectorMatches, tolerates } from "./node_fit.ts";
import type { Pod } from "./pods.ts";
import { affinityFilter, affinityState } from "./scheduler_affinity.ts";
import { podRequests } from "./scheduler_resources.ts";
import { hostPorts, type NodeInfo, portsConflict, type Snapshot } from "./scheduler_snapshot.ts";

/** A plugin's verdict: Unschedulable may be resolved by preemption, the other may not. */
export interface Status {
  code: "Unschedulable" | "UnschedulableAndUnresolvable";
  reasons: string[];
}

/** What filtering found. */
export interface Diagnosis {
  /** Nodes that passed every filter. */
  feasible: NodeInfo[];
  /** Why each filtered node failed. */
  statuses: Map<string, Status>;
  /** The status of nodes never filtered (a PreFilter restricted or rejected them). */
  absent?: Status;
  /** A PreFilter rejection (then no node was filtered). */
  preFilterMsg?: string;
}

const unresolvable = (...reasons: string[]): Status => ({
  code: "UnschedulableAndUnresolvable",
  reasons,
});
const unschedulable = (...reasons: string[]): Status => ({ code: "Unschedulable", reasons });

type Filter = (info: NodeInfo) => Status | undefined;

/** The node names a pod's required node affinity pins it to (NodeAffinity PreFilter). */
function pinnedNodes(pod: Pod): Set<string> | undefined {
  const terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
    ?.nodeSelectorTerms;
  if (!terms?.length) return undefined;
  let names: Set<string> | undefined;
  for (const t of terms) {
    let termNames: Set<string> | undefined;
    for (const r of t.matchFields ?? []) {
      if (r.key !== "metadata.name" || r.operator !== "In") continue;
      const s = new Set(r.values ?? []);
      termNames = termNames ? new Set([...termNames].filter((n) => s.has(n))) : s;
    }
    if (!termNames) return undefined; // this term allows every node (terms are ORed)
    names = new Set([...(names ?? []), ...termNames]);
  }
  return names;
}

/** The filters for one pod, with their PreFilter state computed once. */
function filters(pod: Pod, snap: Snapshot): Filter[] {
  const tolerations = pod.spec.tolerations ?? [];
  const req = podRequests(pod);
  const ports = hostPorts(pod);
  const aff = affinityState(pod, snap);
  const hasAffinity = aff.affinityTerms.length > 0 || aff.antiTerms.length > 0 ||
    aff.existingAntiCounts.size > 0;
  return [
    // NodeUnschedulable
    ({ node }) => {
      if (!node.spec?.unschedulable) return undefined;
      const taint = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" };
      return tolerations.some((t) => tolerates(t, taint))
        ? undefined
        : unresolvable("node(s) were unschedulable");
    },
    // NodeName
    ({ name }) =>
      pod.spec.nodeName && pod.spec.nodeName !== name
        ? unresolvable("node(s) didn't match the requested node name")
        : undefined,
    // TaintToleration
    ({ node }) => {
      const taint = (node.spec?.taints ?? []).find((taint) =>
        (taint.effect === "NoSchedule" || taint.effect === "NoExecute") &&
        !tolerations.some((t) => tolerates(t, taint))
      );
      return taint
        ? unresolvable(`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`)
        : undefined;
    },
    // NodeAffinity
    ({ node }) =>
      nodeSelectorMatches(pod.spec, node)
        ? undefined
        : unresolvable("node(s) didn't match Pod's node affinity/selector"),
    // NodePorts
    (info) =>
      ports.length && portsConflict(ports, info.ports)
        ? unschedulable("node(s) didn't have free ports for the requested pod ports")
        : undefined,
    // NodeResourcesFit (fitsRequest)
    (info) => {
      const reasons: string[] = [];
      if (info.pods.length + 1 > (info.allocatable.pods ?? 0)) reasons.push("Too many pods");
      for (const r of ["cpu", "memory", "ephemeral-storage"]) {
        const want = req[r] ?? 0;
        if (want > 0 && want > (info.allocatable[r] ?? 0) - (info.requested[r] ?? 0)) {
          reasons.push(`Insufficient ${r}`);
        }
      }
      // Scalar resources: extended (vendor-domain), hugepages-*, attachable-volumes-*.
      for (const [r, want] of Object.entries(req)) {
        if (["cpu", "memory", "ephemeral-storage", "storage", "pods"].includes(r) || want === 0) {
          continue;
        }
        if (want > (info.allocatable[r] ?? 0) - (info.requested[r] ?? 0)) {
          reasons.push(`Insufficient ${r}`);
        }
      }
      return reasons.length ? unschedulable(...reasons) : undefined;
    },
    // InterPodAffinity
    (info) => {
      if (!hasAffinity) return undefined;
      switch (affinityFilter(aff, info)) {
        case "affinity":
          return unresolvable("node(s) didn't match pod affinity rules");
        case "anti":
          return unschedulable("node(s) didn't match pod anti-affinity rules");
        case "existing":
          return unschedulable("node(s) didn't satisfy existing pods anti-affinity rules");
        default:
          return undefined;
      }
    },
  ];
}

/** Runs the filters of one node; the first failing plugin's status, or undefined (fits). */
export function filterNode(pod: Pod, info: NodeInfo, snap: Snapshot): Status | undefined {
  for (const f of filters(pod, snap)) {
    const s = f(info);
    if (s) return s;
  }
  return undefined;
}

/** `findNodesThatFitPod`: PreFilters, then every (remaining) node through the Filters. */
export function findNodesThatFit(pod: Pod, snap: Snapshot): Diagnosis {
  const statuses = new Map<string, Status>();
  const pinned = pinnedNodes(pod);
  if (pinned && pinned.size === 0) {
    const msg = "pod affinity terms conflict";
    return { feasible: [], statuses, absent: unresolvable(msg), preFilterMsg: msg };
  }
  const nodes = pinned ? snap.nodes.filter((n) => pinned.has(n.name)) : snap.nodes;
  const fs = filters(pod, snap);
  const feasible: NodeInfo[] = [];
  for (const info of nodes) {
    let status: Status | undefined;
    for (const f of fs) if ((status = f(info))) break;
    if (status) statuses.set(info.name, status);
    else feasible.push(info);
  }
  return {
    feasible,
    statuses,
    absent: pinned ? unresolvable("node(s) didn't satisfy plugin(s) [NodeAffinity]") : undefined,
  };
}
