/**
 * Message predicates of CloudHub's dispatcher (docs/protocol.md §1.6, §3.7, §4.1, §4.2), as pure
 * functions so they can be table-tested against KubeEdge's vectors.
 */
import {
  Group,
  MessageSuccessfulContent,
  ModuleName,
  Operation,
  resourceSegment,
  ResourceType,
  VolumeOperations,
} from "../modules/mod.ts";
import type { Message } from "../modules/mod.ts";

/** CSI volume response resource from the edge (§3.7 rule 2): `^\w[-\w.+]*\/volume\/\w[-\w.+]*`. */
export const VolumeResourcePattern = /^\w[-\w.+]*\/volume\/\w[-\w.+]*/;

/** Sources that are cloud modules (`IsFromEdge` is false for them). */
const CloudSources: ReadonlySet<string> = new Set([
  ModuleName.CloudHub,
  ModuleName.CloudStream,
  ModuleName.DeviceController,
  ModuleName.EdgeController,
  ModuleName.SyncController,
]);

/** `IsFromEdge`: true unless the source is a cloud module. */
export function isFromEdge(msg: Message): boolean {
  return !CloudSources.has(msg.route.source ?? "");
}

/** The legacy device-manager source `IsToEdge` filters. */
export const SrcManager = "edgemgr";

const ToEdgeBlocked: ReadonlyArray<[string, string]> = [
  [ResourceType.Membership, Operation.Get],
  [ResourceType.Twin, Operation.Delta],
  [ResourceType.Twin, Operation.Document],
  [ResourceType.Twin, Operation.Get],
  [ResourceType.AuthInfo, Operation.Get],
  [ResourceType.Node, Operation.Delete],
];

/**
 * `IsToEdge`: only messages from source `edgemgr` are filtered; for them the pairs
 * membership/get, twin/{delta,document,get}, auth_info/get and node/delete stay in the cloud.
 * The resource type is matched as any segment after the node id.
 */
export function isToEdge(msg: Message): boolean {
  if (msg.route.source !== SrcManager) return true;
  const segments = (msg.route.resource ?? "").split("/").slice(2);
  const op = msg.route.operation ?? "";
  return !ToEdgeBlocked.some(([res, o]) => o === op && segments.includes(res));
}

/** `IsNodeStopped`: resource type `node` and operation `delete`. */
export function isNodeStopped(msg: Message): boolean {
  if (msg.route.operation !== Operation.Delete) return false;
  return resourceTypeOf(msg.route.resource ?? "") === ResourceType.Node;
}

/** Segment 3 of `node/<id>/<ns>/<type>/...`, or "" when absent. */
function resourceTypeOf(resource: string): string {
  return resourceSegment(resource, 3) ?? "";
}

/** True when content is an error value (a JS Error, or Go's `*StatusError` JSON). */
function isErrorContent(content: unknown): boolean {
  if (content instanceof Error) return true;
  if (typeof content !== "object" || content === null || Array.isArray(content)) return false;
  const keys = Object.keys(content);
  return keys.length === 1 && keys[0] === "ErrStatus";
}

const NoAckResourceSubstrings = [
  ResourceType.PodList,
  ResourceType.Membership,
  ResourceType.TwinCloudUpdated,
  ResourceType.ServiceAccountToken,
  ResourceType.K8sCA,
];

const EdgeControllerNoAckTypes: ReadonlySet<string> = new Set([
  ResourceType.Lease,
  ResourceType.NodePatch,
  ResourceType.PodPatch,
  ResourceType.PodStatus,
  ResourceType.CertificateSigningRequest,
]);

/**
 * `noAckRequired` (§4.2), checked in KubeEdge's order. Everything it does not match takes the
 * ack path.
 */
export function noAckRequired(msg: Message): boolean {
  const resource = msg.route.resource ?? "";
  const op = msg.route.operation ?? "";
  if (NoAckResourceSubstrings.some((s) => resource.includes(s))) return true;
  if (VolumeOperations.has(op) || op === Operation.ApplicationResponse) return true;
  if (msg.route.group === Group.User) return true;
  const source = msg.route.source ?? "";
  if (source === ModuleName.TaskManager || source === ModuleName.NodeUpgradeJobController) {
    return true;
  }
  if (op === Operation.Response) {
    if (msg.content === MessageSuccessfulContent || isErrorContent(msg.content)) return true;
  }
  if (source === ModuleName.EdgeController) {
    const type = resourceTypeOf(resource);
    if (type === ResourceType.Node && op !== Operation.Update) return true;
    if (EdgeControllerNoAckTypes.has(type)) return true;
    if (type === ResourceType.Pod && op === Operation.Response) return true;
  }
  return false;
}
