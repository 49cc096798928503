/**
 * Resource arithmetic for the scheduler: Quantities in base units, a pod's requests as
 * component-helpers' `resource.PodRequests` counts them (containers summed, restartable init
 * containers (sidecars) added, each other init container as a peak, plus `spec.overhead`), the
 * non-zero requests kube-scheduler scores with (100m CPU / 200 MiB for a container that asks for
 * none), and a node's allocatable (a resource the node does not list has 0, as upstream).
 */
import type { Node, Pod } from "./pods.ts";

const MULT: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * A Quantity ("100m", "1.5Gi", "2e3") in base units; 0 when unparsable. Hand-written: the npm
 * client's `quantityToScalar` rejects fractions with binary suffixes ("1.5Gi") and mixes bigint.
 */
export function quantity(q: unknown): number {
  if (typeof q === "number") return q;
  if (typeof q !== "string") return 0;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(n|u|m|k|M|G|T|P|E|[KMGTPE]i))?$/.exec(
    q.trim(),
  );
  if (!m) return 0;
  return Number(m[1] + (m[2] ?? "")) * MULT[m[3] ?? ""];
}

/** Requests in the scheduler's units: cpu in millicores, everything else rounded up. */
export type Resources = Record<string, number>;

function scaled(name: string, q: unknown): number {
  const v = quantity(q);
  // resource.Quantity's MilliValue/Value round up.
  return name === "cpu" ? Math.ceil(v * 1000 - 1e-9) : Math.ceil(v - 1e-9);
}

type Container = { resources?: { requests?: Record<string, unknown> }; restartPolicy?: string };

function containerRequests(c: Container, nonZero: boolean): Resources {
  const out: Resources = {};
  const req = c.resources?.requests ?? {};
  for (const [k, v] of Object.entries(req)) out[k] = scaled(k, v);
  if (nonZero) {
    // schedutil.DefaultMilliCPURequest / DefaultMemoryRequest.
    if (!Object.hasOwn(req, "cpu")) out.cpu = 100;
    if (!Object.hasOwn(req, "memory")) out.memory = 200 * 2 ** 20;
  }
  return out;
}

function add(into: Resources, r: Resources): void {
  for (const [k, v] of Object.entries(r)) into[k] = (into[k] ?? 0) + v;
}

function max(into: Resources, r: Resources): void {
  for (const [k, v] of Object.entries(r)) into[k] = Math.max(into[k] ?? 0, v);
}

/**
 * `resource.PodRequests` (with `nonZero`, `NonMissingContainerRequests` of the scoring plugins:
 * only cpu and memory get defaults there).
 */
export function podRequests(p: Pod, nonZero = false): Resources {
  const reqs: Resources = {};
  for (const c of (p.spec.containers ?? []) as Container[]) {
    add(reqs, containerRequests(c, nonZero));
  }
  const sidecars: Resources = {};
  const inits: Resources = {};
  for (const c of (p.spec.initContainers ?? []) as Container[]) {
    const r = containerRequests(c, nonZero);
    if (c.restartPolicy === "Always") {
      add(reqs, r);
      add(sidecars, r);
      max(inits, sidecars);
    } else {
      const tmp: Resources = { ...r };
      add(tmp, sidecars);
      max(inits, tmp);
    }
  }
  max(reqs, inits);
  const overhead = p.spec.overhead as Record<string, unknown> | undefined;
  if (overhead) {
    add(reqs, Object.fromEntries(Object.entries(overhead).map(([k, v]) => [k, scaled(k, v)])));
  }
  if (nonZero) return { cpu: reqs.cpu ?? 0, memory: reqs.memory ?? 0 };
  return reqs;
}

/** A node's `status.allocatable` in the scheduler's units. */
export function allocatable(n: Node): Resources {
  const a = (n.status as { allocatable?: Record<string, unknown> } | undefined)?.allocatable ?? {};
  return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, scaled(k, v)]));
}
