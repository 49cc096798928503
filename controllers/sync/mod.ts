/**
 * SyncController: the ObjectSync reconciler that makes deletes and updates eventually reach the
 * edge across hub restarts and disconnects.
 *
 * @module
 */
export {
  CachedKinds,
  ReliableSyncsApi,
  SyncController,
  type SyncControllerOptions,
  type SyncStats,
} from "./synccontroller.ts";
export { kindToResource, objectPath } from "./kinds.ts";
