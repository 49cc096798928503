/**
 * Typed views of pods, nodes and owner references for the workload controllers (DaemonSet,
 * StatefulSet, Job, CronJob), and the pod predicates they share: ready and available as
 * `podutil.IsPodReady`/`IsPodAvailable`, active as `controller.IsPodActive`, controlled-by.
 */
import type { KubeObject, ObjectMeta } from "../../kube/mod.ts";
import type { LabelSelector } from "../../lib/mod.ts";

/** An owner reference. */
export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** ObjectMeta with the owner references typed. */
export interface Meta extends ObjectMeta {
  ownerReferences?: OwnerRef[];
  generateName?: string;
}

/** A status condition. */
export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastProbeTime?: string;
  lastHeartbeatTime?: string;
}

/** A toleration. */
export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/** A node selector requirement (node affinity). */
export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

/** A node selector term. */
export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

/** The parts of a pod spec the controllers read or write. */
export interface PodSpec {
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  affinity?: {
    nodeAffinity?: {
      requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: NodeSelectorTerm[] };
      [k: string]: unknown;
    };
    [k: string]: unknown;
  };
  hostNetwork?: boolean;
  restartPolicy?: string;
  hostname?: string;
  subdomain?: string;
  volumes?: { name: string; [k: string]: unknown }[];
  containers?: { name: string; image?: string; [k: string]: unknown }[];
  [k: string]: unknown;
}

/** A pod. */
export interface Pod extends KubeObject {
  metadata: Meta;
  spec: PodSpec;
  status?: {
    phase?: string;
    conditions?: Condition[];
    containerStatuses?: { restartCount?: number; [k: string]: unknown }[];
    [k: string]: unknown;
  };
}

/** A node. */
export interface Node extends KubeObject {
  metadata: Meta;
  spec?: { taints?: { key: string; value?: string; effect: string }[]; unschedulable?: boolean };
  status?: { conditions?: Condition[] };
}

/** A pod template. */
export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}

/** The spec fields every workload kind here shares. */
export interface WorkloadSpec {
  selector?: LabelSelector;
  template: PodTemplate;
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
}

/** The controller reference of `o`, if any. */
export function controllerRef(o: { metadata?: Meta }): OwnerRef | undefined {
  return o.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** True when `o` is controlled by the object with `uid`. */
export function isControlledBy(o: { metadata?: Meta }, uid: string | undefined): boolean {
  return !!uid && controllerRef(o)?.uid === uid;
}

/** An owner reference to `owner` that makes it the controller. */
export function ownerRefTo(owner: KubeObject, apiVersion: string, kind: string): OwnerRef {
  return {
    apiVersion,
    kind,
    name: owner.metadata!.name!,
    uid: owner.metadata!.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The Ready condition of a pod, if any. */
function readyCondition(p: Pod): Condition | undefined {
  return p.status?.conditions?.find((c) => c.type === "Ready");
}

/** `podutil.IsPodReady`. */
export function isPodReady(p: Pod): boolean {
  return readyCondition(p)?.status === "True";
}

/**
 * `podutil.IsPodAvailable`: ready for at least `minReadySeconds` at `now`. Also returns, when
 * ready but not yet available, how many ms remain (so a sync can be scheduled then).
 */
export function podAvailability(
  p: Pod,
  minReadySeconds: number,
  now: Date,
): { available: boolean; inMs?: number } {
  const c = readyCondition(p);
  if (c?.status !== "True") return { available: false };
  if (!minReadySeconds) return { available: true };
  const since = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  if (Number.isNaN(since)) return { available: false };
  const at = since + minReadySeconds * 1000;
  return at <= now.getTime() ? { available: true } : { available: false, inMs: at - now.getTime() };
}

/** True for Succeeded or Failed pods. */
export function isPodTerminal(p: Pod): boolean {
  return p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
}

/** `controller.IsPodActive`: not terminal and not being deleted. */
export function isPodActive(p: Pod): boolean {
  return !isPodTerminal(p) && !p.metadata.deletionTimestamp;
}

/** Oldest first by creation time, then name (stable). */
export function byCreation<T extends { metadata?: Meta }>(a: T, b: T): number {
  const ta = a.metadata?.creationTimestamp ?? "", tb = b.metadata?.creationTimestamp ?? "";
  if (ta !== tb) return ta < tb ? -1 : 1;
  const na = a.metadata?.name ?? "", nb = b.metadata?.name ?? "";
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/** `<namespace>/<name>`. */
export function keyOf(o: { metadata?: Meta }): string {
  return `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
}

/** Splits a `<namespace>/<name>` key. */
export function splitKey(key: string): [string, string] {
  const i = key.indexOf("/");
  return [key.slice(0, i), key.slice(i + 1)];
}

/** RFC 3339 with seconds, as the API prints times. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}
