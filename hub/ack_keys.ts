/**
 * How the ack path names a message (docs/protocol.md §4.3): its key (the object's UID), whether it
 * is a delete, and the ObjectSync record it belongs to. Pure functions of the message, apart from
 * the queue's state machine in ack_queue.ts.
 */
import { getNamespace, getResourceName, Group, type Message, Operation } from "../modules/mod.ts";
import { objectSyncName, type ObjectSyncSpec, type SyncKey } from "../kube/mod.ts";

interface ObjectMetaLike {
  uid?: unknown;
  name?: unknown;
  deletionTimestamp?: unknown;
}

function objectOf(msg: Message): Record<string, unknown> | null {
  const c = msg.content;
  if (typeof c === "object" && c !== null && !Array.isArray(c) && !(c instanceof Uint8Array)) {
    return c as Record<string, unknown>;
  }
  return null;
}

function metaOf(msg: Message): ObjectMetaLike | null {
  const obj = objectOf(msg);
  const meta = obj?.metadata;
  return typeof meta === "object" && meta !== null ? meta as ObjectMetaLike : null;
}

/** The ack-store key: the object's UID (only group `resource` messages are keyed). */
export function ackKeyOf(msg: Message): string | null {
  if (msg.route.group !== Group.Resource) return null;
  const uid = metaOf(msg)?.uid;
  return typeof uid === "string" && uid !== "" ? uid : null;
}

/** "Delete" in §4.3: operation `delete`, or content with `metadata.deletionTimestamp`. */
export function isDeleteMessage(msg: Message): boolean {
  if (msg.route.operation === Operation.Delete) return true;
  const ts = metaOf(msg)?.deletionTimestamp;
  return ts !== undefined && ts !== null && ts !== "";
}

/** The (Cluster)ObjectSync key of a message: namespace `null` in the resource → cluster-scoped. */
export function syncKeyOf(nodeId: string, uid: string, msg: Message): SyncKey {
  const ns = getNamespace(msg.route.resource ?? "");
  return { namespace: ns === "null" ? null : ns, name: objectSyncName(nodeId, uid) };
}

/** ObjectSync spec from the content's TypeMeta and the resource name. */
export function syncSpecOf(msg: Message): ObjectSyncSpec {
  const obj = objectOf(msg) ?? {};
  let name = "";
  try {
    name = getResourceName(msg.route.resource ?? "");
  } catch {
    const n = metaOf(msg)?.name;
    name = typeof n === "string" ? n : "";
  }
  return {
    objectAPIVersion: typeof obj.apiVersion === "string" ? obj.apiVersion : "",
    objectKind: typeof obj.kind === "string" ? obj.kind : "",
    objectName: name,
  };
}
