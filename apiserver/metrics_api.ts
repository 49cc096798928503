/**
 * `metrics.k8s.io/v1beta1` (what metrics-server serves, for `kubectl top node|pod`): node and pod
 * usage read from each connected node's kubelet `/stats/summary` through the {@link NodeProxy}
 * (`usageNanoCores`, `workingSetBytes`, as metrics-server's summary source did). A node's summary
 * is cached for {@link SCRAPE_TTL_MS}; nodes without a tunnel have no metrics, as with an
 * unreachable kubelet.
 */
import { ApiError, methodNotAllowed, notFound } from "./errors.ts";
import type { NodeProxy } from "./node_proxy.ts";
import type { KObject, ResourceDef, ResourceRegistry } from "./resources.ts";
import type { Rest } from "./rest.ts";
import { parseLabelSelector } from "./selectors.ts";

/** How long one node's stats stay fresh. */
export const SCRAPE_TTL_MS = 5_000;
/** How long a scrape may take before the node is left out. */
const SCRAPE_TIMEOUT_MS = 5_000;

interface Usage {
  usageNanoCores?: number;
  workingSetBytes?: number;
  time?: string;
}

interface Summary {
  node?: { nodeName?: string; cpu?: Usage; memory?: Usage };
  pods?: {
    podRef?: { name?: string; namespace?: string };
    containers?: { name?: string; cpu?: Usage; memory?: Usage }[];
  }[];
}

/** What the metrics API needs. */
export interface MetricsDeps {
  rest: Rest;
  registry: ResourceRegistry;
  proxy?: NodeProxy;
  now: () => Date;
}

const cache = new WeakMap<
  NodeProxy,
  Map<string, { at: number; summary: Promise<Summary | null> }>
>();

function quantity(cpuNano: number, memBytes: number): Record<string, string> {
  return { cpu: `${Math.round(cpuNano)}n`, memory: `${Math.floor(memBytes / 1024)}Ki` };
}

async function scrape(proxy: NodeProxy, node: string): Promise<Summary | null> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), SCRAPE_TIMEOUT_MS);
  try {
    const body = proxy.get(node, "metrics", "/stats/summary", new Headers(), abort.signal);
    return JSON.parse(await new Response(body).text()) as Summary;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

function summaryOf(proxy: NodeProxy, node: string): Promise<Summary | null> {
  let byNode = cache.get(proxy);
  if (!byNode) cache.set(proxy, byNode = new Map());
  const hit = byNode.get(node);
  if (hit && Date.now() - hit.at < SCRAPE_TTL_MS) return hit.summary;
  const summary = scrape(proxy, node);
  byNode.set(node, { at: Date.now(), summary });
  return summary;
}

function listOf(deps: MetricsDeps, resource: string, namespace: string): KObject[] {
  const def = deps.registry.get("", "v1", resource)!;
  return deps.rest.list({ def, namespace }, new URLSearchParams()).items.map((o) => o.obj);
}

function timestampOf(u: Usage | undefined, now: Date): string {
  return (u?.time ? new Date(u.time) : now).toISOString().replace(/\.\d{3}Z$/, "Z");
}

async function nodeMetrics(deps: MetricsDeps, nodes: KObject[]): Promise<KObject[]> {
  const proxy = deps.proxy;
  if (!proxy) return [];
  const out: KObject[] = [];
  await Promise.all(nodes.map(async (n) => {
    const name = n.metadata?.name ?? "";
    if (!proxy.connected(name)) return;
    const s = await summaryOf(proxy, name);
    if (!s?.node?.cpu || !s.node.memory) return;
    out.push({
      kind: "NodeMetrics",
      apiVersion: "metrics.k8s.io/v1beta1",
      metadata: {
        name,
        creationTimestamp: timestampOf(undefined, deps.now()),
        labels: n.metadata?.labels ?? {},
      },
      timestamp: timestampOf(s.node.cpu, deps.now()),
      window: "10s",
      usage: quantity(s.node.cpu.usageNanoCores ?? 0, s.node.memory.workingSetBytes ?? 0),
    });
  }));
  return out.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
}

async function podMetrics(deps: MetricsDeps, pods: KObject[]): Promise<KObject[]> {
  const proxy = deps.proxy;
  if (!proxy) return [];
  const byNode = new Map<string, KObject[]>();
  for (const p of pods) {
    const node = (p.spec as { nodeName?: string } | undefined)?.nodeName;
    if (node && proxy.connected(node)) byNode.set(node, [...byNode.get(node) ?? [], p]);
  }
  const out: KObject[] = [];
  await Promise.all([...byNode].map(async ([node, list]) => {
    const s = await summaryOf(proxy, node);
    if (!s) return;
    for (const p of list) {
      const st = s.pods?.find((x) =>
        x.podRef?.name === p.metadata?.name && x.podRef?.namespace === p.metadata?.namespace
      );
      if (!st?.containers?.length) continue;
      out.push({
        kind: "PodMetrics",
        apiVersion: "metrics.k8s.io/v1beta1",
        metadata: {
          name: p.metadata!.name,
          namespace: p.metadata!.namespace,
          creationTimestamp: timestampOf(undefined, deps.now()),
          labels: p.metadata?.labels ?? {},
        },
        timestamp: timestampOf(st.containers[0].cpu, deps.now()),
        window: "10s",
        containers: st.containers.map((c) => ({
          name: c.name,
          usage: quantity(c.cpu?.usageNanoCores ?? 0, c.memory?.workingSetBytes ?? 0),
        })),
      });
    }
  }));
  return out.sort((a, b) =>
    `${a.metadata!.namespace}/${a.metadata!.name}`.localeCompare(
      `${b.metadata!.namespace}/${b.metadata!.name}`,
    )
  );
}

function matches(o: KObject, selector: string | null): boolean {
  if (!selector) return true;
  return parseLabelSelector(selector)(o);
}

/** GET on `metrics.k8s.io/v1beta1` nodes or pods (one or a list). */
export async function metricsRequest(
  deps: MetricsDeps,
  def: ResourceDef,
  namespace: string,
  name: string | undefined,
  method: string,
  q: URLSearchParams,
): Promise<KObject> {
  if (method !== "GET") throw methodNotAllowed(`${def.resource}.metrics.k8s.io is read-only`);
  if (q.get("watch") === "true" || q.get("watch") === "1") {
    throw new ApiError(405, "MethodNotAllowed", "watch is not supported on metrics");
  }
  const sel = q.get("labelSelector");
  let items: KObject[];
  if (def.resource === "nodes") {
    const nodes = listOf(deps, "nodes", "").filter((n) =>
      (name === undefined || n.metadata?.name === name) && matches(n, sel)
    );
    items = await nodeMetrics(deps, nodes);
  } else {
    const pods = listOf(deps, "pods", namespace).filter((p) =>
      (name === undefined || p.metadata?.name === name) && matches(p, sel)
    );
    items = await podMetrics(deps, pods);
  }
  if (name !== undefined) {
    if (!items[0]) throw notFound(def, name);
    return items[0];
  }
  return {
    kind: `${def.kind}List`,
    apiVersion: "metrics.k8s.io/v1beta1",
    metadata: {},
    items,
  };
}
