/**
 * DynamicController: answers edge MetaServer list, get, watch and write requests from the cloud
 * (KubeEdge's `cloud/pkg/dynamiccontroller`).
 *
 * @module
 */
export { DynamicController, type DynamicControllerOptions } from "./dynamiccontroller.ts";
export {
  type Application,
  AppStatus,
  decodeApplication,
  encodeApplication,
  parseKey,
  Verb,
  WATCH_APP_SYNC,
} from "./application.ts";
