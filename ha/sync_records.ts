/**
 * ObjectSync / ClusterObjectSync records (docs/protocol.md §4.5) as every replica sees them: a watch
 * instead of `KubeSyncStore`'s list-once copy, which only tracks its own writes and so goes stale
 * as soon as another replica acknowledges messages for a node that later moves here.
 *
 * {@link WatchedSyncStore} reads from the watch and writes through the given store, so the hub's
 * ack queues compare against what the node acknowledged on whichever replica served it.
 *
 * @example
 * ```ts
 * const records = new SyncRecordIndex(kube);
 * await records.start();
 * const hub = new CloudHub({ ..., syncStore: new WatchedSyncStore(records, new KubeSyncStore(kube.http)) });
 * records.forNode("edge-1"); // what edge-1 acknowledged, per object
 * ```
 */
import type { Informer, KubeClient, KubeObject } from "../kube/mod.ts";
import {
  nodeOfObjectSyncName,
  type ObjectSyncSpec,
  ReliableSyncsGroup,
  ReliableSyncsVersion,
  type SyncKey,
  type SyncRecord,
  syncRecordOf,
  type SyncStore,
} from "../kube/mod.ts";

const API = `${ReliableSyncsGroup}/${ReliableSyncsVersion}`;

interface SyncObj extends KubeObject {
  spec?: Partial<ObjectSyncSpec>;
  status?: { objectResourceVersion?: string };
}

/** Watched ObjectSync and ClusterObjectSync records; see module docs. */
export class SyncRecordIndex {
  readonly #namespaced: Informer<SyncObj>;
  readonly #cluster: Informer<SyncObj>;
  /** node → `<namespace or "">/<name>` of its records, so a connect does not scan every record. */
  readonly #byNode = new Map<string, Set<string>>();

  constructor(kube: KubeClient) {
    this.#namespaced = kube.informer<SyncObj>(`/apis/${API}/objectsyncs`, undefined, {
      name: "ha-objectsyncs",
      kind: "ObjectSync",
      apiVersion: API,
    });
    this.#cluster = kube.informer<SyncObj>(`/apis/${API}/clusterobjectsyncs`, undefined, {
      name: "ha-clusterobjectsyncs",
      kind: "ClusterObjectSync",
      apiVersion: API,
    });
    for (const inf of [this.#namespaced, this.#cluster]) {
      inf.on({
        add: (o) => this.#track(o, true),
        update: (o) => this.#track(o, true),
        delete: (o) => this.#track(o, false),
      });
    }
  }

  #track(obj: SyncObj, present: boolean): void {
    const name = obj.metadata?.name ?? "";
    const node = nodeOfObjectSyncName(name);
    const key = `${obj.metadata?.namespace ?? ""}/${name}`;
    let keys = this.#byNode.get(node);
    if (present) {
      if (!keys) this.#byNode.set(node, keys = new Set());
      keys.add(key);
    } else if (keys) {
      keys.delete(key);
      if (keys.size === 0) this.#byNode.delete(node);
    }
  }

  /** Starts both watches and resolves once both listed. */
  async start(): Promise<void> {
    this.#namespaced.start();
    this.#cluster.start();
    await Promise.all([this.#namespaced.synced, this.#cluster.synced]);
  }

  /** Stops both watches. */
  async stop(): Promise<void> {
    await Promise.all([this.#namespaced.stop(), this.#cluster.stop()]);
  }

  /** True once both watches listed. */
  get synced(): boolean {
    return this.#namespaced.hasSynced() && this.#cluster.hasSynced();
  }

  /** One record, or null. */
  get(key: SyncKey): SyncRecord | null {
    if (key.namespace === null) {
      const obj = this.#cluster.get(key.name);
      return obj ? syncRecordOf(obj, null) : null;
    }
    const obj = this.#namespaced.get(key.name, key.namespace);
    return obj ? syncRecordOf(obj, key.namespace) : null;
  }

  /** Every record. */
  all(): SyncRecord[] {
    return [
      ...this.#namespaced.list().map((o) => syncRecordOf(o, o.metadata?.namespace ?? "")),
      ...this.#cluster.list().map((o) => syncRecordOf(o, null)),
    ];
  }

  /** The records of one node (`<node>.<uid>`). */
  forNode(node: string): SyncRecord[] {
    const out: SyncRecord[] = [];
    for (const key of this.#byNode.get(node) ?? []) {
      const i = key.indexOf("/");
      const ns = key.slice(0, i);
      const rec = this.get({ namespace: ns === "" ? null : ns, name: key.slice(i + 1) });
      if (rec) out.push(rec);
    }
    return out;
  }
}

/**
 * A {@link SyncStore} that reads from a {@link SyncRecordIndex} (once it has synced; before that,
 * from `writer`) and writes through `writer`.
 */
export class WatchedSyncStore implements SyncStore {
  constructor(readonly index: SyncRecordIndex, readonly writer: SyncStore) {}

  get(key: SyncKey): Promise<SyncRecord | null> {
    return this.index.synced ? Promise.resolve(this.index.get(key)) : this.writer.get(key);
  }

  upsertStatus(key: SyncKey, spec: ObjectSyncSpec, resourceVersion: string): Promise<void> {
    return this.writer.upsertStatus(key, spec, resourceVersion);
  }

  delete(key: SyncKey): Promise<void> {
    return this.writer.delete(key);
  }

  async flush(): Promise<void> {
    await this.writer.flush?.();
  }

  list(): Promise<SyncRecord[]> {
    return this.index.synced ? Promise.resolve(this.index.all()) : this.writer.list();
  }
}
