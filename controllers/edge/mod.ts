/**
 * EdgeController: upstream edge requests into the Kubernetes API and downstream sync of nodes,
 * pods, configmaps, secrets, services and endpoints to the edges that need them.
 *
 * @module
 */
export { EdgeController, type EdgeControllerOptions } from "./edgecontroller.ts";
export {
  DownstreamController,
  type DownstreamOptions,
  EdgeNodeLabelSelector,
} from "./downstream.ts";
export {
  routeFor,
  UpstreamController,
  type UpstreamOptions,
  type UpstreamStats,
} from "./upstream.ts";
export {
  LocationCache,
  type LocationChange,
  type LocationDelta,
  podReferences,
  type PodRefs,
  type RefKind,
} from "./location.ts";
export {
  authorizationMode,
  type NodeAuthorizationMode,
  NodeAuthorizer,
  NodeLeaseNamespace,
} from "./authorize.ts";
export { mergePodStatus, podNotRunning, shouldDeleteTerminal } from "./podstatus.ts";
export { podChangedForEdge, TYPE_META, withTypeMeta } from "./meta.ts";
