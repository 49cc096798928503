/**
 * {@link SyncStore} over a Kubernetes API (`reliablesyncs.kubeedge.io/v1alpha1` objectsyncs and
 * clusterobjectsyncs, status subresource) through `npm:@kubernetes/client-node`: the same records
 * cloudcore keeps, so edgecloud can take over an existing cluster's reliable-sync state.
 *
 * @example
 * ```ts
 * const kc = new KubeConfig();
 * kc.loadFromString(api.kubeconfigYaml);
 * const store = new KubeSyncStore(kc);
 * ```
 */
import { ApiException, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import {
  type ObjectSyncSpec,
  ReliableSyncsGroup,
  ReliableSyncsVersion,
  type SyncKey,
  type SyncRecord,
  type SyncStore,
} from "./objectsync.ts";

const group = ReliableSyncsGroup;
const version = ReliableSyncsVersion;

interface SyncObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: Partial<ObjectSyncSpec>;
  status?: { objectResourceVersion?: string };
}

function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
}

function toRecord(obj: SyncObject, namespace: string | null): SyncRecord {
  return {
    namespace,
    name: obj.metadata?.name ?? "",
    spec: {
      objectAPIVersion: obj.spec?.objectAPIVersion ?? "",
      objectKind: obj.spec?.objectKind ?? "",
      objectName: obj.spec?.objectName ?? "",
    },
    resourceVersion: obj.status?.objectResourceVersion ?? "",
  };
}

/** ObjectSync records in a Kubernetes API; see module docs. */
export class KubeSyncStore implements SyncStore {
  readonly #api: CustomObjectsApi;

  constructor(kc: KubeConfig) {
    this.#api = kc.makeApiClient(CustomObjectsApi);
  }

  async #getRaw(key: SyncKey): Promise<SyncObject | null> {
    try {
      if (key.namespace === null) {
        return await this.#api.getClusterCustomObject({
          group,
          version,
          plural: "clusterobjectsyncs",
          name: key.name,
        }) as SyncObject;
      }
      return await this.#api.getNamespacedCustomObject({
        group,
        version,
        namespace: key.namespace,
        plural: "objectsyncs",
        name: key.name,
      }) as SyncObject;
    } catch (err) {
      if (isStatus(err, 404)) return null;
      throw err;
    }
  }

  async get(key: SyncKey): Promise<SyncRecord | null> {
    const obj = await this.#getRaw(key);
    return obj ? toRecord(obj, key.namespace) : null;
  }

  async #create(key: SyncKey, spec: ObjectSyncSpec): Promise<SyncObject> {
    const body: SyncObject = {
      apiVersion: `${group}/${version}`,
      kind: key.namespace === null ? "ClusterObjectSync" : "ObjectSync",
      metadata: key.namespace === null
        ? { name: key.name }
        : { name: key.name, namespace: key.namespace },
      spec: { ...spec },
    };
    if (key.namespace === null) {
      return await this.#api.createClusterCustomObject({
        group,
        version,
        plural: "clusterobjectsyncs",
        body,
      }) as SyncObject;
    }
    return await this.#api.createNamespacedCustomObject({
      group,
      version,
      namespace: key.namespace,
      plural: "objectsyncs",
      body,
    }) as SyncObject;
  }

  async #replaceStatus(key: SyncKey, obj: SyncObject): Promise<void> {
    if (key.namespace === null) {
      await this.#api.replaceClusterCustomObjectStatus({
        group,
        version,
        plural: "clusterobjectsyncs",
        name: key.name,
        body: obj,
      });
      return;
    }
    await this.#api.replaceNamespacedCustomObjectStatus({
      group,
      version,
      namespace: key.namespace,
      plural: "objectsyncs",
      name: key.name,
      body: obj,
    });
  }

  /** Get-or-create, then UpdateStatus (retried once on a 409 conflict or a create race). */
  async upsertStatus(key: SyncKey, spec: ObjectSyncSpec, resourceVersion: string): Promise<void> {
    for (let attempt = 0;; attempt++) {
      try {
        let obj = await this.#getRaw(key);
        if (!obj) obj = await this.#create(key, spec);
        obj.status = { ...obj.status, objectResourceVersion: resourceVersion };
        await this.#replaceStatus(key, obj);
        return;
      } catch (err) {
        if (attempt < 2 && (isStatus(err, 409))) continue;
        throw err;
      }
    }
  }

  async delete(key: SyncKey): Promise<void> {
    try {
      if (key.namespace === null) {
        await this.#api.deleteClusterCustomObject({
          group,
          version,
          plural: "clusterobjectsyncs",
          name: key.name,
          gracePeriodSeconds: 0,
        });
      } else {
        await this.#api.deleteNamespacedCustomObject({
          group,
          version,
          namespace: key.namespace,
          plural: "objectsyncs",
          name: key.name,
          gracePeriodSeconds: 0,
        });
      }
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
  }

  async list(): Promise<SyncRecord[]> {
    const namespaced = await this.#api.listCustomObjectForAllNamespaces({
      group,
      version,
      plural: "objectsyncs",
    }) as { items?: SyncObject[] };
    const cluster = await this.#api.listClusterCustomObject({
      group,
      version,
      plural: "clusterobjectsyncs",
    }) as { items?: SyncObject[] };
    return [
      ...(namespaced.items ?? []).map((o) => toRecord(o, o.metadata?.namespace ?? "")),
      ...(cluster.items ?? []).map((o) => toRecord(o, null)),
    ];
  }
}
