/**
 * The edge simulator (`edgecloud edge-sim`, bench scenarios): many simulated edgecore nodes.
 *
 * @example
 * ```ts
 * import { obtainCredentials, runEdgeSim } from "./edge/sim/mod.ts";
 * ```
 *
 * @module
 */
export { type CredentialOptions, obtainCredentials } from "./credentials.ts";
export { Histogram, type HistogramSummary } from "./histogram.ts";
export { type LinkOptions, type NodeCredentials, quicLink, type SimLink, wsLink } from "./link.ts";
export * from "./messages.ts";
export { type NodeBehaviour, SimNode } from "./node.ts";
export {
  assertLoopback,
  EdgeSimulator,
  MAX_SIM_DURATION_S,
  MAX_SIM_NODES,
  runEdgeSim,
  type RunSimOptions,
  type SimOptions,
  SimOptionsError,
} from "./simulator.ts";
export { ProgressLine, SimStats, type SimSummary } from "./stats.ts";
export {
  containerUsage,
  SimKubelet,
  type SimKubeletOptions,
  type UpgradeServer,
} from "./kubelet.ts";
export { type SimPod, SimPods } from "./pods.ts";
export { SimStream, type SimStreamOptions } from "./stream.ts";
