/**
 * The pod status merge of KubeEdge's `updatePodStatus` (docs/protocol.md §7.1), as pure functions.
 *
 * The stored status is replaced by the one the edge reported; nothing of the old status is kept
 * except two things:
 * - the `lastTransitionTime` of the `Ready` and `Initialized` conditions (the first of each type):
 *   when the old status has that condition with the same `status`, its old `lastTransitionTime`
 *   is kept (even when it was unset), otherwise it becomes "now". Every other condition keeps the
 *   `lastTransitionTime` the edge sent;
 * - `startTime`: the old one when set, else the reported one, else "now".
 *
 * Then timestamps are normalised to RFC 3339 seconds, `containerStatuses` are sorted by name
 * (byte order, as Go compares strings) and `initContainerStatuses` are put in the order of the
 * pod's `spec.initContainers` (KubeEdge's `SortInitContainerStatuses`, the same swap walk);
 * ephemeral container statuses are left in the order they came.
 */
import { rfc3339, toSeconds } from "./meta.ts";
import type {
  ConditionLike,
  ContainerLike,
  ContainerStatusLike,
  PodLike,
  PodStatusLike,
} from "./shapes.ts";

const TIME_KEYS = new Set([
  "lastProbeTime",
  "lastTransitionTime",
  "startTime",
  "startedAt",
  "finishedAt",
]);

/** The conditions whose `lastTransitionTime` the cloud recomputes (kubelet's status manager). */
const TRANSITION_CONDITIONS = ["Ready", "Initialized"];

function normalizeTimes(v: unknown): void {
  if (Array.isArray(v)) {
    for (const x of v) normalizeTimes(x);
  } else if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    for (const [k, x] of Object.entries(o)) {
      if (TIME_KEYS.has(k) && typeof x === "string") o[k] = toSeconds(x);
      else normalizeTimes(x);
    }
  }
}

/** Go's `a < b` on strings: byte (here UTF-16 code unit) order, not locale order. */
function byName(a: { name?: unknown }, b: { name?: unknown }): number {
  const x = String(a?.name ?? "");
  const y = String(b?.name ?? "");
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The first condition of `type` (Go's `getPodCondition`), or undefined. */
function conditionOf(status: PodStatusLike | undefined, type: string): ConditionLike | undefined {
  const conds = status?.conditions;
  if (!Array.isArray(conds)) return undefined;
  return conds.find((c) => c?.type === type);
}

/**
 * `SortInitContainerStatuses`: walks the pod's init containers in spec order and swaps the
 * matching status into the next slot; statuses of unknown containers end up behind, in whatever
 * order the swaps leave them (exactly as KubeEdge does).
 */
export function sortInitContainerStatuses(
  initContainers: ContainerLike[] | undefined,
  statuses: ContainerStatusLike[],
): void {
  if (!Array.isArray(initContainers)) return;
  let current = 0;
  for (const container of initContainers) {
    for (let j = current; j < statuses.length; j++) {
      if (container?.name === statuses[j]?.name) {
        [statuses[current], statuses[j]] = [statuses[j], statuses[current]];
        current++;
        break;
      }
    }
  }
}

/**
 * Merges a status reported by the edge with the status stored in the API. `initContainers` is
 * the pod's `spec.initContainers`, which decides the order of `initContainerStatuses`.
 */
export function mergePodStatus(
  old: PodStatusLike | undefined,
  reported: PodStatusLike | undefined,
  now: number,
  initContainers: ContainerLike[] | undefined = [],
): PodStatusLike {
  const status: PodStatusLike = structuredClone(reported ?? {});
  for (const type of TRANSITION_CONDITIONS) {
    const cond = conditionOf(status, type);
    if (!cond || typeof cond !== "object") continue;
    const prev = conditionOf(old, type);
    cond.lastTransitionTime = prev && (prev.status ?? "") === (cond.status ?? "")
      ? prev.lastTransitionTime ?? null
      : rfc3339(now);
  }
  if (old?.startTime) status.startTime = old.startTime;
  else if (!status.startTime) status.startTime = rfc3339(now);
  normalizeTimes(status);
  if (Array.isArray(status.containerStatuses)) status.containerStatuses.sort(byName);
  if (Array.isArray(status.initContainerStatuses)) {
    sortInitContainerStatuses(initContainers, status.initContainerStatuses);
  }
  return status;
}

/** True when no container is running (all terminated or waiting): `isPodNotRunning`. */
export function podNotRunning(status: PodStatusLike | undefined): boolean {
  return (status?.containerStatuses ?? []).every((c) =>
    !!c?.state?.terminated || !!c?.state?.waiting
  );
}

/** A pod the edge finished that the API wants gone: delete with grace 0. */
export function shouldDeleteTerminal(pod: PodLike | undefined): boolean {
  const phase = pod?.status?.phase;
  return !!pod?.metadata?.deletionTimestamp && (phase === "Succeeded" || phase === "Failed") &&
    podNotRunning(pod?.status);
}
