/**
 * Bringing a node up to date on the replica it (re)connects to — the SyncController's per-record
 * logic (docs/protocol.md §4.5), run for one node at connect time instead of by a single leader:
 *
 * 1. every ObjectSync record of the node whose object is gone (or exists under another UID) →
 *    a `delete` to the node, so deletes made while the node was served elsewhere (or nowhere)
 *    still arrive;
 * 2. the node's current objects are replayed from the informer caches (`replayNode`); the ack
 *    queue drops what the node already acknowledged at that resourceVersion and sends what is
 *    newer or new.
 *
 * Nothing comes from another replica's memory, so a node that moved can only receive current
 * state.
 */
import {
  buildMessage,
  buildResource,
  Group,
  type Message,
  ModuleName,
  NullNamespace,
  Operation,
} from "../modules/mod.ts";
import type { KubeObject, SyncRecord } from "../kube/mod.ts";

/** What {@link catchUpNode} needs. */
export interface CatchUpDeps {
  /** The node's ObjectSync records (what it acknowledged). */
  records(node: string): SyncRecord[];
  /**
   * The current object, `undefined` when it does not exist, or `null` when this replica has no
   * cache for the kind (the record is then left alone).
   */
  lookup(kind: string, namespace: string, name: string): KubeObject | undefined | null;
  /** Sends the node its current objects (EdgeController's `replayNode`). */
  replayNode(node: string): Promise<void>;
  /** Sends a message to the local hub (the bus module `cloudhub`). */
  send(msg: Message): Promise<void>;
}

/** What a catch-up did. */
export interface CatchUpResult {
  deletes: number;
}

/** The `delete` a node gets for a record whose object is gone (as the SyncController sends). */
export function deleteForRecord(node: string, record: SyncRecord, uid: string): Message {
  const { objectAPIVersion, objectKind, objectName } = record.spec;
  const ns = record.namespace ?? "";
  const metadata: Record<string, string> = { name: objectName, uid };
  if (ns) metadata.namespace = ns;
  return buildMessage({
    source: ModuleName.EdgeController,
    group: Group.Resource,
    operation: Operation.Delete,
    resource: buildResource(node, ns || NullNamespace, objectKind.toLowerCase(), objectName),
  }, { apiVersion: objectAPIVersion || "v1", kind: objectKind, metadata });
}

/** Runs steps 1 and 2 of the module docs for `node`. */
export async function catchUpNode(node: string, deps: CatchUpDeps): Promise<CatchUpResult> {
  let deletes = 0;
  for (const record of deps.records(node)) {
    const { objectKind, objectName } = record.spec;
    // The node's own record: its deletion ends the session anyway.
    if (!objectKind || !objectName || objectKind === "Node") continue;
    const uid = record.name.slice(record.name.lastIndexOf(".") + 1);
    const obj = deps.lookup(objectKind, record.namespace ?? "", objectName);
    if (obj === null) continue;
    if (obj === undefined || obj.metadata?.uid !== uid) {
      await deps.send(deleteForRecord(node, record, uid));
      deletes++;
    }
  }
  await deps.replayNode(node);
  return { deletes };
}
