/**
 * The embedded control plane's controllers, started in this order and stopped in reverse. Each
 * entry is one file in this directory; see {@link ClusterController}.
 *
 * @module
 */
import type { ClusterContext, ClusterController, ClusterControllerFactory } from "./types.ts";
import { daemonSetController } from "./daemonset.ts";
import { jobController } from "./job.ts";
import { scheduler } from "./scheduler.ts";
import { deploymentController } from "./deployment.ts";
import { replicaSetController } from "./replicaset.ts";
import { endpointsController } from "./endpoints.ts";
import { endpointSliceController } from "./endpointslice.ts";
import { serviceAccountsController } from "./serviceaccounts.ts";
import { sharedKube } from "./shared_informers.ts";
import { nodeLifecycle } from "./node_lifecycle.ts";
import { taintEviction } from "./taint_eviction.ts";
import { cronJobController } from "./cronjob.ts";
import { statefulSetController } from "./statefulset.ts";

export type { ClusterContext, ClusterController, ClusterControllerFactory } from "./types.ts";
export { EventRecorder } from "./events.ts";
export { failureMessage, Scheduler } from "./scheduler.ts";
export { NodeLifecycle, NOT_READY, UNREACHABLE } from "./node_lifecycle.ts";
export { TaintEviction } from "./taint_eviction.ts";

/** kube-controller-manager's default `--node-monitor-grace-period` (40 s). */
export const DEFAULT_NODE_MONITOR_GRACE_MS = 40_000;

/** Every cluster controller, in start order. */
export const CLUSTER_CONTROLLERS: ClusterControllerFactory[] = [
  serviceAccountsController,
  nodeLifecycle,
  taintEviction,
  scheduler,
  deploymentController,
  replicaSetController,
  endpointsController,
  endpointSliceController,
  daemonSetController,
  jobController,
  statefulSetController,
  cronJobController,
];

/** Runs a set of controllers as one unit: started in order, stopped in reverse. */
export class ClusterControllers {
  readonly controllers: ClusterController[];

  constructor(ctx: ClusterContext, factories: ClusterControllerFactory[] = CLUSTER_CONTROLLERS) {
    // One informer per resource for all of them (shared_informers.ts).
    const shared = { ...ctx, kube: sharedKube(ctx.kube) };
    this.controllers = factories.map((f) => f(shared));
  }

  async start(): Promise<void> {
    for (const c of this.controllers) await c.start();
  }

  async stop(): Promise<void> {
    for (const c of [...this.controllers].reverse()) await c.stop();
  }
}
