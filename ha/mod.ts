/**
 * High availability: leader election on a `coordination.k8s.io/v1` Lease, so several edgecloud
 * replicas share one cluster while one of them runs the controllers.
 *
 * @example
 * ```ts
 * import { CoordinationV1Api } from "@kubernetes/client-node";
 * import { defaultIdentity, LeaderElector, LeaseLock } from "./ha/mod.ts";
 * const elector = new LeaderElector({
 *   lock: new LeaseLock(kc.makeApiClient(CoordinationV1Api), "kubeedge", "edgecloud-controllers"),
 *   identity: defaultIdentity(),
 *   callbacks: { onStartedLeading: (signal) => startControllers(signal), onStoppedLeading: stop },
 * });
 * elector.start();
 * ```
 */
export {
  defaultIdentity,
  JITTER_FACTOR,
  type LeaderCallbacks,
  type LeaderClock,
  LeaderElectionConfigError,
  LeaderElector,
  type LeaderElectorOptions,
} from "./leader.ts";
export {
  type LeaderElectionRecord,
  type LeaseApi,
  LeaseLock,
  LeaseLockError,
  recordFromLease,
  type VersionedRecord,
} from "./lease_lock.ts";
