/**
 * Whether a pod fits a node by the rules the DaemonSet controller checks
 * (`NodeShouldRunDaemonPod` in pkg/controller/daemon): the pod's nodeSelector, its required node
 * affinity (labels via matchExpressions, `metadata.name` via matchFields), and the node's taints
 * against the pod's tolerations (`v1helper.TolerationsTolerateTaint`). Resources and ports are the
 * kubelet's business, as upstream since 1.12.
 */
import type {
  Node,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  PodSpec,
  Toleration,
} from "./pods.ts";

/** A node taint. */
export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

/** `Toleration.ToleratesTaint`. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key ? t.key !== taint.key : t.operator !== "Exists") return false;
  if (t.operator === "Exists") return true;
  return (t.operator === undefined || t.operator === "" || t.operator === "Equal") &&
    (t.value ?? "") === (taint.value ?? "");
}

/** The taints of `node` with one of `effects` that no toleration tolerates. */
export function untoleratedTaints(
  node: Node,
  tolerations: Toleration[] | undefined,
  effects: string[],
): Taint[] {
  return (node.spec?.taints ?? []).filter((taint) =>
    effects.includes(taint.effect) && !(tolerations ?? []).some((t) => tolerates(t, taint))
  );
}

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case "In":
      return value !== undefined && values.includes(value);
    case "NotIn":
      return value === undefined || !values.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    case "Gt":
    case "Lt": {
      if (value === undefined || values.length !== 1) return false;
      const a = Number.parseInt(value, 10), b = Number.parseInt(values[0], 10);
      if (Number.isNaN(a) || Number.isNaN(b)) return false;
      return r.operator === "Gt" ? a > b : a < b;
    }
    default:
      return false;
  }
}

function label(node: Node, key: string): string | undefined {
  const labels = node.metadata.labels ?? {};
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

/** A node selector term: an empty term selects nothing; expressions and fields all hold. */
export function termMatches(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (!exprs.length && !fields.length) return false;
  return exprs.every((r) => requirementMatches(r, label(node, r.key))) &&
    fields.every((r) =>
      r.key === "metadata.name" && requirementMatches(r, node.metadata.name ?? "")
    );
}

/** nodeSelector and required node affinity (`nodeaffinity.GetRequiredNodeAffinity().Match`). */
export function nodeSelectorMatches(spec: PodSpec, node: Node): boolean {
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) {
    if (label(node, k) !== v) return false;
  }
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
    ?.nodeSelectorTerms;
  if (terms === undefined) return true;
  return terms.some((t) => termMatches(t, node));
}

/**
 * `NodeShouldRunDaemonPod`: `shouldRun` (a new pod may be placed: selector, affinity, and every
 * NoSchedule/NoExecute taint tolerated) and `shouldContinueRunning` (an existing pod stays:
 * selector, affinity and every NoExecute taint tolerated).
 */
export function nodeShouldRunPod(
  spec: PodSpec,
  node: Node,
): { shouldRun: boolean; shouldContinueRunning: boolean } {
  if (!nodeSelectorMatches(spec, node)) return { shouldRun: false, shouldContinueRunning: false };
  const noExecute = untoleratedTaints(node, spec.tolerations, ["NoExecute"]).length === 0;
  const noSchedule = untoleratedTaints(node, spec.tolerations, ["NoSchedule"]).length === 0;
  return { shouldRun: noExecute && noSchedule, shouldContinueRunning: noExecute };
}
