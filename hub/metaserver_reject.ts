/**
 * The answer an edge's MetaServer gets while no DynamicController runs on the bus.
 *
 * edgecore's MetaServer sends each list/get/watch/write it cannot serve from its cache to the
 * cloud as an "Application" (docs/compatibility.md, "MetaServer requests"), and waits up to 10 s
 * for the reply whose parent id is the request's id. cloudcore with dynamicController disabled
 * drops the request, so the edge client waits out its timeout and sees "failed to access cloud
 * Application center". edgecloud answers at once instead: the Application comes back `Rejected`
 * with a 503 Status, which edgecore's MetaServer hands to its HTTP client as is.
 */
import {
  buildMessage,
  Group,
  type Message,
  type MessageEnv,
  ModuleName,
  Operation,
} from "../modules/mod.ts";

/**
 * The resource of the edge's watch-application sync (sent on each connect, operation "null"):
 * a notice, never answered. The hub has prefixed it with the node by the time it is seen here.
 */
export const WatchAppSync = "watchapp/sync";

/** The Status the rejected Application carries. */
export function unavailableStatus(nodeId: string): Record<string, unknown> {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message:
      `edgecloud serves no DynamicController yet: MetaServer requests from node ${nodeId} cannot be answered`,
    reason: "ServiceUnavailable",
    code: 503,
  };
}

/**
 * The reply to a MetaServer Application request `req` from `nodeId`, or null when `req` needs
 * none (a watch-application sync, or content that is not an Application object).
 */
export function rejectApplication(
  req: Message,
  nodeId: string,
  env?: MessageEnv,
): Message | null {
  const resource = req.route.resource ?? "";
  if (resource === WatchAppSync || resource.endsWith(`/${WatchAppSync}`)) return null;
  const app = req.content;
  if (typeof app !== "object" || app === null || Array.isArray(app)) return null;
  // cloudcore's Center.Response: the request's Application, its status and error filled in.
  const content = {
    ...app,
    Status: "Rejected",
    Reason: "",
    Error: { ErrStatus: unavailableStatus(nodeId) },
  };
  return buildMessage(
    {
      source: ModuleName.DynamicController,
      group: Group.Resource,
      operation: Operation.ApplicationResponse,
      resource: `node/${nodeId}/ignore/Application/ignore`,
    },
    content,
    { parentId: req.header.id, env },
  );
}
