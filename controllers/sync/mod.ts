/**
 * SyncController: the ObjectSync reconciler that makes deletes and updates eventually reach the
 * edge across hub restarts and disconnects.
 */
export {
  CachedKinds,
  nodeOfSyncName,
  ReliableSyncsApi,
  SyncController,
  type SyncControllerOptions,
  type SyncStats,
  uidOfSyncName,
} from "./synccontroller.ts";
export { kindToResource, objectPath } from "./kinds.ts";
