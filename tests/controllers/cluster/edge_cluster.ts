/**
 * A hub with the embedded control plane and edge-sim nodes (heartbeats every second), for the
 * scheduler, node lifecycle and workload tests that need real edges.
 */
import { EdgeSimulator } from "../../../edge/sim/mod.ts";
import { type Stack, startStack } from "../../../harness/stack.ts";
import { setLogLevel } from "../../../lib/log.ts";
import { waitUntil } from "../../wait.ts";

setLogLevel("warn");

/** A running fixture. */
export interface EdgeCluster {
  stack: Stack;
  sim: EdgeSimulator;
  close(): Promise<void>;
}

/** Stack + controllers + `nodes` simulated edges `edge-0`... that are Ready. */
export async function startEdgeCluster(nodes: number, graceMs = 40_000): Promise<EdgeCluster> {
  const stack = await startStack({ sync: false, cluster: { nodeMonitorGracePeriodMs: graceMs } });
  const sim = new EdgeSimulator({
    nodes,
    namePrefix: "edge-",
    server: stack.server,
    credentials: (n) => stack.issuer.credentials(n),
    nodeStatusInterval: 1,
    leaseInterval: 1,
    jitter: 0,
  });
  try {
    await sim.start();
    await waitUntil(async () => {
      const list = await stack.kube.get<{ items: unknown[] }>("/api/v1/nodes");
      return list.items.length === nodes;
    }, "every edge node registered");
  } catch (e) {
    await sim.stop();
    await stack.close();
    throw e;
  }
  return {
    stack,
    sim,
    async close() {
      await sim.stop();
      await stack.close();
    },
  };
}

/** Writes the API's admin kubeconfig for kubectl. */
export function kubeconfigOf(c: EdgeCluster): string {
  return c.stack.api!.kubeconfigPath;
}

/** Runs kubectl against the cluster's API; throws with stderr unless it exits 0. */
export async function kubectlIn(c: EdgeCluster, args: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command("kubectl", {
    args: ["--kubeconfig", c.stack.api!.kubeconfigPath, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { KUBECACHEDIR: `${c.stack.api!.kubeconfigPath}.cache` },
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  if (out.code !== 0) {
    throw new Error(`kubectl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}
