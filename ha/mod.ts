/**
 * High availability: leader election on a `coordination.k8s.io/v1` Lease, so several edgecloud
 * replicas share one cluster while one of them runs the controllers; per-node routing, watched
 * ObjectSyncs and catch-up on connect so every replica serves edges (docs/ha.md).
 *
 * @example
 * ```ts
 * import { defaultIdentity, LeaderElector, leaseLockFor } from "./ha/mod.ts";
 * const elector = new LeaderElector({
 *   lock: leaseLockFor(kc), // kubeedge/edgecloud-controllers
 *   identity: defaultIdentity(),
 *   callbacks: { onStartedLeading: (signal) => startControllers(signal), onStoppedLeading: stop },
 * });
 * elector.start();
 * ```
 *
 * @module
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
  DEFAULT_LEASE_NAME,
  DEFAULT_LEASE_NAMESPACE,
  httpLeaseApi,
  httpLeaseLock,
  type LeaderElectionRecord,
  type LeaseApi,
  LeaseLock,
  LeaseLockError,
  leaseLockFor,
  recordFromLease,
  type VersionedRecord,
} from "./lease_lock.ts";
export { type CatchUpDeps, catchUpNode, type CatchUpResult, deleteForRecord } from "./catchup.ts";
export { leaderOnlyEvents } from "./device_api.ts";
export { NodeOwnership, type NodeOwnershipOptions } from "./ownership.ts";
export {
  ReplicaCoordinator,
  type ReplicaCoordinatorOptions,
  type ReplicaStats,
} from "./replica.ts";
export { LeaderGate, type LeaderGateOptions } from "./singletons.ts";
export { SyncRecordIndex, WatchedSyncStore } from "./sync_records.ts";
