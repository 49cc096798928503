/**
 * The message kube-scheduler writes when a pod fits nowhere (`FitError.Error()` followed by the
 * DefaultPreemption PostFilter's own FitError), e.g.
 * "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 node(s) had
 * untolerated taint {k: v}. preemption: 0/3 nodes are available: 3 Preemption is not helpful for
 * scheduling."
 *
 * Preemption itself is not implemented: for nodes a victim could free (status Unschedulable),
 * the diagnosis is upstream's when the node has no lower-priority pod ("No preemption victims
 * found for incoming pod") or when removing them would not help (the filter's reasons again).
 */
import type { Pod } from "./pods.ts";
import { type Diagnosis, filterNode, type Status } from "./scheduler_filters.ts";
import { nodeInfo, type Snapshot } from "./scheduler_snapshot.ts";

/** `FitError.Error()` without the PostFilter part. */
export function fitErrorMessage(
  total: number,
  statuses: Map<string, Status>,
  absent: Status | undefined,
  preFilterMsg?: string,
): string {
  let msg = `0/${total} nodes are available:`;
  if (preFilterMsg) return `${msg} ${preFilterMsg}.`;
  const reasons = new Map<string, number>();
  for (const s of statuses.values()) {
    for (const r of s.reasons) reasons.set(r, (reasons.get(r) ?? 0) + 1);
  }
  if (statuses.size < total && absent) {
    for (const r of absent.reasons) {
      reasons.set(r, (reasons.get(r) ?? 0) + total - statuses.size);
    }
  }
  // sort.Strings over "<count> <reason>".
  const parts = [...reasons].map(([r, n]) => `${n} ${r}`).sort((a, b) =>
    a < b ? -1 : a > b ? 1 : 0
  );
  if (parts.length) msg += ` ${parts.join(", ")}.`;
  return msg;
}

const priority = (p: Pod) => typeof p.spec.priority === "number" ? p.spec.priority : 0;

/** The DefaultPreemption PostFilter's message, "preemption: ...". */
export function preemptionMessage(pod: Pod, snap: Snapshot, d: Diagnosis): string {
  if (pod.spec.preemptionPolicy === "Never") {
    return "preemption: not eligible due to preemptionPolicy=Never.";
  }
  const total = snap.nodes.length;
  const potential = snap.nodes.filter((n) => d.statuses.get(n.name)?.code === "Unschedulable");
  const statuses = new Map<string, Status>();
  for (const info of potential) {
    const lower = info.pods.filter((p) => priority(p) < priority(pod));
    if (lower.length === 0) {
      statuses.set(info.name, {
        code: "UnschedulableAndUnresolvable",
        reasons: ["No preemption victims found for incoming pod"],
      });
      continue;
    }
    const without = nodeInfo(info.node, info.pods.filter((p) => !lower.includes(p)));
    const rest = { ...snap, nodes: snap.nodes.map((n) => n === info ? without : n) };
    statuses.set(
      info.name,
      filterNode(pod, without, rest) ?? {
        code: "Unschedulable",
        reasons: ["preemption of lower-priority pods is not supported by this scheduler"],
      },
    );
  }
  return `preemption: ${
    fitErrorMessage(total, statuses, {
      code: "UnschedulableAndUnresolvable",
      reasons: ["Preemption is not helpful for scheduling"],
    })
  }`;
}

/** The whole FailedScheduling message. */
export function failureMessage(pod: Pod, snap: Snapshot, d: Diagnosis): string {
  if (snap.nodes.length === 0) return "no nodes available to schedule pods";
  return `${fitErrorMessage(snap.nodes.length, d.statuses, d.absent, d.preFilterMsg)} ${
    preemptionMessage(pod, snap, d)
  }`;
}
