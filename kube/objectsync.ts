/**
 * ObjectSync / ClusterObjectSync records (`reliablesyncs.kubeedge.io/v1alpha1`, docs/protocol.md
 * §4.5): the last resourceVersion each node acknowledged for each object, named
 * `<node>.<uid>`. Namespaced objects get an ObjectSync in the object's namespace; cluster-scoped
 * objects (resource namespace `null`) get a ClusterObjectSync.
 *
 * Access goes through {@link SyncStore} so the queue logic runs against memory in unit tests and
 * against a Kubernetes API (`KubeSyncStore` in `objectsync_kube.ts`) in production.
 */

/** API group/version of the reliablesyncs CRDs. */
export const ReliableSyncsGroup = "reliablesyncs.kubeedge.io";
/** Version of the reliablesyncs CRDs. */
export const ReliableSyncsVersion = "v1alpha1";

/** `spec` of an (Cluster)ObjectSync. */
export interface ObjectSyncSpec {
  objectAPIVersion: string;
  objectKind: string;
  objectName: string;
}

/** Identifies one record: `namespace` null means ClusterObjectSync. */
export interface SyncKey {
  namespace: string | null;
  /** `<node>.<uid>`. */
  name: string;
}

/** One (Cluster)ObjectSync as the hub sees it. */
export interface SyncRecord extends SyncKey {
  spec: ObjectSyncSpec;
  /**
   * `status.objectResourceVersion`; "0" for a record with no status yet (created for a message
   * not yet acknowledged).
   */
  resourceVersion: string;
}

/** An (Cluster)ObjectSync object as the API serves it. */
export interface SyncObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: Partial<ObjectSyncSpec>;
  status?: { objectResourceVersion?: string };
}

/**
 * The record an API object holds. A record with no status yet was created for a message not yet
 * acknowledged: "0" (`KubeSyncStore` creates records without one). KubeEdge drops such a
 * record's messages forever; we re-send them.
 */
export function syncRecordOf(obj: SyncObject, namespace: string | null): SyncRecord {
  return {
    namespace,
    name: obj.metadata?.name ?? "",
    spec: {
      objectAPIVersion: obj.spec?.objectAPIVersion ?? "",
      objectKind: obj.spec?.objectKind ?? "",
      objectName: obj.spec?.objectName ?? "",
    },
    resourceVersion: obj.status?.objectResourceVersion || "0",
  };
}

/** Storage of ObjectSync records (a Kubernetes API in production). */
export interface SyncStore {
  /** Returns the record or null when it does not exist. */
  get(key: SyncKey): Promise<SyncRecord | null>;
  /**
   * Creates the record if missing (spec as given) and sets `status.objectResourceVersion` through
   * the status subresource.
   */
  upsertStatus(key: SyncKey, spec: ObjectSyncSpec, resourceVersion: string): Promise<void>;
  /** Deletes the record; a missing record is not an error. */
  delete(key: SyncKey): Promise<void>;
  /** Every record (for reconcilers and tests). */
  list(): Promise<SyncRecord[]>;
  /** Writes anything the store holds back (deferred success points) and waits for it. */
  flush?(): Promise<void>;
}

/** `<node>.<uid>`. */
export function objectSyncName(nodeId: string, uid: string): string {
  return `${nodeId}.${uid}`;
}

/** The node name of an ObjectSync name: everything before the last `.`. */
export function nodeOfObjectSyncName(name: string): string {
  const i = name.lastIndexOf(".");
  return i < 0 ? name : name.slice(0, i);
}

/** The object UID of an ObjectSync name: everything after the last `.`. */
export function uidOfObjectSyncName(name: string): string {
  const i = name.lastIndexOf(".");
  return i < 0 ? "" : name.slice(i + 1);
}

function keyString(key: SyncKey): string {
  return `${key.namespace ?? ""}/${key.name}`;
}

/** An in-memory {@link SyncStore} (unit tests; hub restarts in tests share one instance). */
export class MemorySyncStore implements SyncStore {
  readonly #records = new Map<string, SyncRecord>();

  get(key: SyncKey): Promise<SyncRecord | null> {
    const rec = this.#records.get(keyString(key));
    return Promise.resolve(rec ? { ...rec, spec: { ...rec.spec } } : null);
  }

  upsertStatus(key: SyncKey, spec: ObjectSyncSpec, resourceVersion: string): Promise<void> {
    const existing = this.#records.get(keyString(key));
    this.#records.set(keyString(key), {
      namespace: key.namespace,
      name: key.name,
      spec: existing?.spec ?? { ...spec },
      // As in the API: a record without a status RV reads as "0" (see syncRecordOf).
      resourceVersion: resourceVersion || "0",
    });
    return Promise.resolve();
  }

  delete(key: SyncKey): Promise<void> {
    this.#records.delete(keyString(key));
    return Promise.resolve();
  }

  list(): Promise<SyncRecord[]> {
    return Promise.resolve([...this.#records.values()].map((r) => ({ ...r, spec: { ...r.spec } })));
  }
}
