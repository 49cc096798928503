/**
 * Waiting for a simulated fleet to register: a scenario measures only once EdgeController knows
 * every node (the node insert went through it into the API).
 */
import type { KubeClient } from "../../kube/mod.ts";
import { sleep } from "./report.ts";

/** Edge-labelled Nodes in the API. */
export async function countEdgeNodes(kube: KubeClient): Promise<number> {
  const list = await kube.get("/api/v1/nodes?labelSelector=node-role.kubernetes.io/edge") as {
    items: unknown[];
  };
  return list.items.length;
}

/**
 * Polls until `want` edge nodes are registered or `timeoutMs` passed (default: no limit);
 * returns the last count seen.
 */
export async function waitForEdgeNodes(
  kube: KubeClient,
  want: number,
  opts: { timeoutMs?: number; pollMs?: number } = {},
): Promise<number> {
  const deadline = performance.now() + (opts.timeoutMs ?? Infinity);
  let registered = 0;
  while (performance.now() < deadline) {
    registered = await countEdgeNodes(kube);
    if (registered >= want) break;
    await sleep(opts.pollMs ?? 500);
  }
  return registered;
}

/**
 * Polls until `want` Nodes are Ready (at most `timeoutMs`, default 300 s); returns the last count.
 * cloudcore forgets for good a pod created before it knows the pod's node as an edge node, so a
 * scenario creates pods for cloudcore only after this.
 */
export async function waitForReadyNodes(
  kube: KubeClient,
  want: number,
  timeoutMs = 300_000,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let ready = 0;
  while (performance.now() < deadline) {
    const list = await kube.get("/api/v1/nodes") as {
      items: { status?: { conditions?: { type: string; status: string }[] } }[];
    };
    ready = list.items.filter((n) =>
      n.status?.conditions?.some((c) =>
        c.type === "Ready" && c.status === "True"
      )
    ).length;
    if (ready >= want) break;
    await sleep(500);
  }
  return ready;
}
