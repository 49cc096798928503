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
