/**
 * What a cluster controller (the embedded control plane: workloads, scheduler, node lifecycle,
 * endpoints, ...) is given and offers. They run only with the embedded API; a real cluster has its
 * own kube-controller-manager and scheduler.
 */
import type { KubeClient } from "../../kube/mod.ts";

/** Shared inputs of every cluster controller. */
export interface ClusterContext {
  /** The API client (in process for the embedded API: no socket, same handler). */
  kube: KubeClient;
  /** Clock, injectable for tests. */
  now: () => Date;
  /** Node monitor grace period in ms (kube-controller-manager's `--node-monitor-grace-period`). */
  nodeMonitorGracePeriodMs: number;
  /** The API's CA (PEM), published to every namespace as `kube-root-ca.crt`. */
  caPem?: string;
}

/** One control loop. `start` resolves once its informers have synced; `stop` ends every timer. */
export interface ClusterController {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Builds a controller from the shared context. */
export type ClusterControllerFactory = (ctx: ClusterContext) => ClusterController;
