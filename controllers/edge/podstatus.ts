/**
 * The pod status merge of KubeEdge's `updatePodStatus` (PROTOCOL.md §7.1), as pure functions:
 * keep a condition's `lastTransitionTime` while its status is unchanged, keep `startTime`,
 * normalise timestamps to RFC 3339 seconds, sort container statuses by name.
 */
import { rfc3339, toSeconds } from "./meta.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const TIME_KEYS = new Set([
  "lastProbeTime",
  "lastTransitionTime",
  "startTime",
  "startedAt",
  "finishedAt",
]);

function normalizeTimes(v: Json): void {
  if (Array.isArray(v)) {
    for (const x of v) normalizeTimes(x);
  } else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      if (TIME_KEYS.has(k) && typeof x === "string") v[k] = toSeconds(x);
      else normalizeTimes(x);
    }
  }
}

function byName(a: Json, b: Json): number {
  return String(a?.name ?? "").localeCompare(String(b?.name ?? ""));
}

/** Merges a status reported by the edge with the status stored in the API. */
export function mergePodStatus(old: Json, reported: Json, now: number): Json {
  const status: Json = structuredClone(reported ?? {});
  const oldConds: Json[] = old?.conditions ?? [];
  for (const c of status.conditions ?? []) {
    const prev = oldConds.find((o) => o?.type === c?.type);
    c.lastTransitionTime = prev && prev.status === c.status && prev.lastTransitionTime
      ? prev.lastTransitionTime
      : rfc3339(now);
  }
  if (old?.startTime) status.startTime = old.startTime;
  else if (!status.startTime) status.startTime = rfc3339(now);
  normalizeTimes(status);
  for (const key of ["containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"]) {
    if (Array.isArray(status[key])) status[key].sort(byName);
  }
  return status;
}

/** True when no container is running (all terminated or waiting): `isPodNotRunning`. */
export function podNotRunning(status: Json): boolean {
  return (status?.containerStatuses ?? []).every((c: Json) =>
    !!c?.state?.terminated || !!c?.state?.waiting
  );
}

/** A pod the edge finished that the API wants gone: delete with grace 0. */
export function shouldDeleteTerminal(pod: Json): boolean {
  const phase = pod?.status?.phase;
  return !!pod?.metadata?.deletionTimestamp && (phase === "Succeeded" || phase === "Failed") &&
    podNotRunning(pod?.status);
}
