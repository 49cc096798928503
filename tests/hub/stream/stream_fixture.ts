/**
 * A hub with CloudStream and edge-sim nodes that keep stream tunnels, for kubectl
 * logs/exec/attach/port-forward/top tests against the embedded API.
 */
import type { EmbeddedApi } from "../../../apiserver/mod.ts";
import { EdgeSimulator, type SimOptions } from "../../../edge/sim/mod.ts";
import { type Stack, startStack } from "../../../harness/stack.ts";
import { setLogLevel } from "../../../lib/log.ts";
import { waitUntil } from "../../wait.ts";

setLogLevel("warn");

/** A running fixture. */
export interface StreamFixture {
  stack: Stack;
  api: EmbeddedApi;
  sim: EdgeSimulator;
  close(): Promise<void>;
}

/** Stack with CloudStream plus `nodes` simulated nodes (`sim-0`...) with tunnels up. */
export async function startStreamFixture(
  nodes = 1,
  sim: Partial<SimOptions> = {},
  streamServer = false,
): Promise<StreamFixture> {
  const stack = await startStack({ stream: true, sync: false, streamServer });
  const api = stack.api!;
  const edge = new EdgeSimulator({
    nodes,
    server: stack.server,
    streamServer: stack.tunnelServer,
    credentials: (n) => stack.issuer.credentials(n),
    nodeStatusInterval: 0,
    leaseInterval: 0,
    jitter: 0,
    logIntervalMs: 200,
    ...sim,
  });
  try {
    await edge.start();
    await waitUntil(
      () => edge.nodes.every((n) => n.stream?.connected) && stack.stream!.tunnels.size === nodes,
      "every simulated node's stream tunnel",
    );
  } catch (e) {
    await edge.stop();
    await stack.close();
    throw e;
  }
  return {
    stack,
    api,
    sim: edge,
    async close() {
      await edge.stop();
      await stack.close();
    },
  };
}

/** A pod bound to `node` with the given containers. */
export function podYaml(name: string, node: string, containers = ["app"]): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: default
spec:
  nodeName: ${node}
  containers:
${containers.map((c) => `  - name: ${c}\n    image: busybox:1`).join("\n")}
`;
}
