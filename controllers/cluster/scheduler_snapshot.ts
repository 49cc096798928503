/**
 * The scheduler's view of the cluster for one scheduling cycle (kube-scheduler's `NodeInfo`
 * snapshot): each node with the pods bound to it, what they request (actual and non-zero), its
 * allocatable and the host ports in use; plus namespace labels for affinity namespace selectors.
 */
import type { Node, Pod } from "./pods.ts";
import { allocatable, podRequests, type Resources } from "./scheduler_resources.ts";

/** A host port a pod takes on its node. */
export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

/** One node and what is bound to it. */
export interface NodeInfo {
  node: Node;
  name: string;
  labels: Record<string, string>;
  pods: Pod[];
  requested: Resources;
  nonZeroRequested: Resources;
  allocatable: Resources;
  ports: HostPort[];
}

/** Everything a cycle reads. */
export interface Snapshot {
  nodes: NodeInfo[];
  /** Labels of a namespace (undefined when unknown). */
  namespaceLabels(ns: string): Record<string, string> | undefined;
}

type Ports = { ports?: { hostPort?: number; hostIP?: string; protocol?: string }[] }[];

/** The host ports of a pod's containers (`schedutil.GetHostPorts`). */
export function hostPorts(p: Pod): HostPort[] {
  const out: HostPort[] = [];
  for (const c of (p.spec.containers ?? []) as Ports) {
    for (const port of c.ports ?? []) {
      if (!port.hostPort) continue;
      out.push({
        ip: port.hostIP || "0.0.0.0",
        protocol: port.protocol || "TCP",
        port: port.hostPort,
      });
    }
  }
  return out;
}

/** `HostPortInfo.CheckConflict`: same protocol and port on the same or a wildcard address. */
export function portsConflict(want: HostPort[], used: HostPort[]): boolean {
  return want.some((w) =>
    used.some((u) =>
      u.port === w.port && u.protocol === w.protocol &&
      (u.ip === w.ip || u.ip === "0.0.0.0" || w.ip === "0.0.0.0")
    )
  );
}

/** Whether a pod still occupies its node (bound, not finished). */
export function occupies(p: Pod): boolean {
  return !!p.spec.nodeName && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed";
}

/** One node's info from the pods bound to it. */
export function nodeInfo(node: Node, pods: Pod[]): NodeInfo {
  const info: NodeInfo = {
    node,
    name: node.metadata.name ?? "",
    labels: node.metadata.labels ?? {},
    pods,
    requested: {},
    nonZeroRequested: { cpu: 0, memory: 0 },
    allocatable: allocatable(node),
    ports: [],
  };
  for (const p of pods) {
    const { req, nz, ports } = podUsage(p);
    for (const [k, v] of Object.entries(req)) info.requested[k] = (info.requested[k] ?? 0) + v;
    info.nonZeroRequested.cpu += nz.cpu;
    info.nonZeroRequested.memory += nz.memory;
    info.ports.push(...ports);
  }
  return info;
}

/** Per pod object (informers replace objects on change, so identity is a safe cache key). */
const usage = new WeakMap<Pod, { req: Resources; nz: Resources; ports: HostPort[] }>();

function podUsage(p: Pod): { req: Resources; nz: Resources; ports: HostPort[] } {
  let u = usage.get(p);
  if (!u) {
    u = { req: podRequests(p), nz: podRequests(p, true), ports: hostPorts(p) };
    usage.set(p, u);
  }
  return u;
}

/** Builds the snapshot from the informers' contents. */
export function buildSnapshot(
  nodes: Node[],
  pods: Pod[],
  namespaceLabels: (ns: string) => Record<string, string> | undefined = () => undefined,
): Snapshot {
  const byNode = new Map<string, Pod[]>(nodes.map((n) => [n.metadata.name ?? "", []]));
  for (const p of pods) if (occupies(p)) byNode.get(p.spec.nodeName!)?.push(p);
  return {
    nodes: nodes.map((n) => nodeInfo(n, byNode.get(n.metadata.name ?? "")!)),
    namespaceLabels,
  };
}
