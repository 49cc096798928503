/**
 * SyncController (`synccontroller`), docs/protocol.md §4.5: reconciles every
 * `objectsyncs` / `clusterobjectsyncs.reliablesyncs.kubeedge.io/v1alpha1` record `<node>.<uid>`
 * against the object it names:
 *
 * - the object is gone, or exists under another UID → send the edge a `delete` (content with
 *   name, namespace, uid) through cloudhub — this is how deletes that happened while the hub was
 *   down still reach the edge;
 * - the object's RV is newer than `status.objectResourceVersion` → send an `update` with the
 *   full object and its RV;
 * - the record's node no longer exists → delete the record.
 *
 * Event-driven where it can be: a full pass runs once every informer has synced, then every
 * `intervalMs` (default 5 s), and object / node delete events trigger the affected records at
 * once instead of waiting for the next pass.
 *
 * Resends are paced (`resendQps`, `resendBurst`; KubeEdge sends a whole pass at once). A pod's
 * status change bumps its RV without a downstream update (status-only changes are not pushed,
 * §7.1), so every pass resends each pod whose status changed in the last 5 s: at 1,000 nodes
 * and 50 pods/s that is ~250 updates at once, and the hub's work for them (write, ACK, the
 * edge's podstatus answer) held its event loop for 50–150 ms every 5 s — the whole p99 of
 * `deno task bench:latency`. Paced, live messages interleave with the repair traffic.
 */
import {
  buildMessage,
  type Bus,
  Group,
  type Message,
  ModuleName,
  NullNamespace,
  Operation,
} from "../../modules/mod.ts";
import type { Module, ModuleContext } from "../../modules/mod.ts";
import { createLogger, sleep } from "../../lib/mod.ts";
import {
  compareResourceVersion,
  type Informer,
  isNotFound,
  type KubeClient,
  type KubeObject,
  nodeOfObjectSyncName,
  TokenBucket,
  uidOfObjectSyncName,
} from "../../kube/mod.ts";
import { objectPath } from "./kinds.ts";

/** Records checked between two turns of the event loop during a full pass. */
const YIELD_EVERY = 256;

const log = createLogger("synccontroller");

/** API group/version of the reliablesyncs CRDs. */
export const ReliableSyncsApi = "reliablesyncs.kubeedge.io/v1alpha1";

/** Kinds the controller keeps informers for (others are looked up live). */
export const CachedKinds = ["Pod", "ConfigMap", "Secret", "Service", "Endpoints", "Node"] as const;

const KIND_PATHS: Record<string, string> = {
  Pod: "/api/v1/pods",
  ConfigMap: "/api/v1/configmaps",
  Secret: "/api/v1/secrets",
  Service: "/api/v1/services",
  Endpoints: "/api/v1/endpoints",
  Node: "/api/v1/nodes",
};

/** Settings of the SyncController. */
export interface SyncControllerOptions {
  kube: KubeClient;
  /** Full-pass interval in ms (default 5000); `0` disables periodic passes (tests). */
  intervalMs?: number;
  /** Updates and deletes sent per second at most (default 1000; `<= 0`: unpaced). */
  resendQps?: number;
  /** Sent back to back before pacing starts (default 20). */
  resendBurst?: number;
  /**
   * Informer caches by kind to share instead of listing twice — e.g.
   * `() => edgeController.sharedCaches()` (a function, because EdgeController creates its
   * informers in its own start(), which runs first). Kinds not given get their own informer.
   * `Node` must cover every node a record can name: leave it to the SyncController.
   */
  caches?:
    | Partial<Record<string, Informer<KubeObject>>>
    | (() => Partial<Record<string, Informer<KubeObject>>>);
  /**
   * The RV this process has acknowledged for a record but not yet written to the API
   * (`KubeSyncStore.pendingRv`: CloudHub folds and paces its success-point writes). The newer
   * of it and the record's status counts as synced; without it, every object acknowledged since
   * the last write would be resent on each pass.
   */
  pendingRv?: (namespace: string | null, name: string) => string | undefined;
}

interface SyncObj extends KubeObject {
  spec?: { objectAPIVersion?: string; objectKind?: string; objectName?: string };
  status?: { objectResourceVersion?: string };
}

/** Counters for metrics and tests. */
export interface SyncStats {
  passes: number;
  deletesSent: number;
  updatesSent: number;
  recordsDeleted: number;
}

/** See module docs. */
export class SyncController implements Module {
  readonly name = ModuleName.SyncController;
  readonly group = ModuleName.SyncController;
  readonly stats: SyncStats = { passes: 0, deletesSent: 0, updatesSent: 0, recordsDeleted: 0 };
  readonly #opts: SyncControllerOptions;
  readonly #caches = new Map<string, Informer<KubeObject>>();
  readonly #own: Informer<KubeObject>[] = [];
  #objectSyncs?: Informer<SyncObj>;
  #clusterSyncs?: Informer<SyncObj>;
  #bus?: Bus;
  readonly #abort = new AbortController();
  #loop?: Promise<void>;
  #ready = false;
  readonly #pace: TokenBucket;
  /** Serialises passes and event-driven checks. */
  #chain: Promise<void> = Promise.resolve();

  constructor(opts: SyncControllerOptions) {
    this.#opts = opts;
    this.#pace = new TokenBucket(
      opts.resendQps ?? 1000,
      opts.resendBurst ?? 20,
      () => performance.now(),
    );
  }

  /** Sends one repair message once the pacing bucket allows it. */
  async #send(msg: Message): Promise<void> {
    await this.#pace.take(this.#abort.signal);
    await (this.#bus as Bus).send(ModuleName.CloudHub, msg);
  }

  /** Starts informers and waits for them to sync; starts the first pass and schedules the rest. */
  async start(ctx: ModuleContext): Promise<void> {
    this.#bus = ctx.bus;
    const kube = this.#opts.kube;
    const caches = typeof this.#opts.caches === "function"
      ? this.#opts.caches()
      : this.#opts.caches;
    for (const kind of CachedKinds) {
      const shared = caches?.[kind];
      if (shared) {
        this.#caches.set(kind, shared);
      } else {
        const inf = kube.informer(KIND_PATHS[kind], undefined, {
          name: `sync-${kind.toLowerCase()}`,
          kind,
          apiVersion: "v1",
        });
        this.#own.push(inf);
        this.#caches.set(kind, inf);
      }
      const inf = this.#caches.get(kind) as Informer<KubeObject>;
      inf.on({
        delete: (obj) => {
          if (!this.#ready) return;
          if (kind === "Node") return this.#enqueue(() => this.#nodeGone(obj.metadata?.name ?? ""));
          return this.#enqueue(() => this.#checkUid(obj.metadata?.uid ?? ""));
        },
      });
    }
    this.#objectSyncs = kube.informer<SyncObj>(`/apis/${ReliableSyncsApi}/objectsyncs`, undefined, {
      name: "objectsyncs",
      kind: "ObjectSync",
      apiVersion: ReliableSyncsApi,
    });
    this.#clusterSyncs = kube.informer<SyncObj>(
      `/apis/${ReliableSyncsApi}/clusterobjectsyncs`,
      undefined,
      { name: "clusterobjectsyncs", kind: "ClusterObjectSync", apiVersion: ReliableSyncsApi },
    );
    this.#own.push(
      this.#objectSyncs as unknown as Informer<KubeObject>,
      this.#clusterSyncs as unknown as Informer<KubeObject>,
    );
    for (const inf of this.#own) inf.start();
    await Promise.all(
      [...this.#caches.values(), this.#objectSyncs, this.#clusterSyncs].map((i) => i.synced),
    );
    this.#ready = true;
    // The first pass runs in the background (KubeEdge: `go wait.Until(reconcile, 5s)`): paced
    // resends after a long outage can take seconds, and start() gates the hub's readiness.
    void this.reconcileNow();
    const interval = this.#opts.intervalMs ?? 5000;
    if (interval > 0) this.#loop = this.#periodic(interval);
    log.info("synccontroller started", { intervalMs: interval });
  }

  async #periodic(ms: number): Promise<void> {
    for (;;) {
      try {
        await sleep(ms, this.#abort.signal);
      } catch {
        return;
      }
      await this.reconcileNow().catch((err) => log.error("sync pass failed", { error: err }));
    }
  }

  /** Resolves once the work queued so far (passes, event-driven checks) has run. */
  get settled(): Promise<void> {
    return this.#chain;
  }

  /** Stops the periodic pass and the informers it owns. */
  async stop(): Promise<void> {
    this.#abort.abort(new Error("synccontroller stopped"));
    await this.#loop;
    await Promise.all(this.#own.map((i) => i.stop()));
    await this.#chain.catch(() => {});
  }

  #enqueue(fn: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(fn).catch((err) => {
      // stop() aborts a paced send: that is not a failure.
      if (!this.#abort.signal.aborted) log.error("sync check failed", { error: err });
    });
    this.#chain = next;
    return next;
  }

  /** Runs one full pass now (also what the timer runs). */
  reconcileNow(): Promise<void> {
    return this.#enqueue(async () => {
      this.stats.passes++;
      let n = 0;
      for (const s of this.#all()) {
        if (this.#abort.signal.aborted) return;
        await this.#reconcile(s);
        // A record served from the caches never leaves the microtask queue: without a break,
        // a pass over thousands of records holds the event loop (sockets, timers) until done.
        if (++n % YIELD_EVERY === 0) await new Promise((r) => setTimeout(r, 0));
      }
    });
  }

  #all(): SyncObj[] {
    return [...(this.#objectSyncs?.list() ?? []), ...(this.#clusterSyncs?.list() ?? [])];
  }

  async #checkUid(uid: string): Promise<void> {
    if (!uid) return;
    for (const s of this.#all()) {
      if (uidOfObjectSyncName(s.metadata?.name ?? "") === uid) await this.#reconcile(s);
    }
  }

  async #nodeGone(node: string): Promise<void> {
    for (const s of this.#all()) {
      if (nodeOfObjectSyncName(s.metadata?.name ?? "") === node) await this.#reconcile(s);
    }
  }

  async #lookup(
    apiVersion: string,
    kind: string,
    ns: string,
    name: string,
  ): Promise<KubeObject | undefined> {
    const cache = this.#caches.get(kind);
    if (cache) return cache.get(name, ns || undefined);
    try {
      const obj = await this.#opts.kube.get(objectPath(apiVersion, kind, ns, name));
      if (!obj.kind) obj.kind = kind;
      if (!obj.apiVersion) obj.apiVersion = apiVersion;
      return obj;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async #deleteRecord(s: SyncObj): Promise<void> {
    const ns = s.metadata?.namespace;
    const name = s.metadata?.name ?? "";
    const path = ns
      ? `/apis/${ReliableSyncsApi}/namespaces/${encodeURIComponent(ns)}/objectsyncs/${
        encodeURIComponent(name)
      }`
      : `/apis/${ReliableSyncsApi}/clusterobjectsyncs/${encodeURIComponent(name)}`;
    await this.#opts.kube.delete(path, { gracePeriodSeconds: 0 }).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
    this.stats.recordsDeleted++;
    log.info("objectsync of a deleted node removed", { name, namespace: ns ?? "" });
  }

  async #reconcile(s: SyncObj): Promise<void> {
    const name = s.metadata?.name ?? "";
    const node = nodeOfObjectSyncName(name);
    const uid = uidOfObjectSyncName(name);
    const nodes = this.#caches.get("Node");
    if (nodes?.hasSynced() && !nodes.get(node)) return this.#deleteRecord(s);
    const kind = s.spec?.objectKind ?? "";
    const apiVersion = s.spec?.objectAPIVersion ?? "v1";
    const objName = s.spec?.objectName ?? "";
    if (!kind || !objName) return;
    const ns = s.metadata?.namespace ?? "";
    const resource = `node/${node}/${ns || NullNamespace}/${kind.toLowerCase()}/${objName}`;
    const obj = await this.#lookup(apiVersion, kind, ns, objName);
    const route = { source: ModuleName.EdgeController, group: Group.Resource, resource };
    if (!obj || obj.metadata?.uid !== uid) {
      const metadata: Record<string, string> = { name: objName, uid };
      if (ns) metadata.namespace = ns;
      await this.#send(
        buildMessage({ ...route, operation: Operation.Delete }, { apiVersion, kind, metadata }),
      );
      this.stats.deletesSent++;
      return;
    }
    const objRv = obj.metadata?.resourceVersion ?? "";
    const syncedRv = s.status?.objectResourceVersion ?? "";
    const pendingRv = this.#opts.pendingRv?.(ns || null, name);
    let newer = false;
    try {
      newer = compareResourceVersion(objRv, syncedRv || "0") > 0 &&
        (!pendingRv || compareResourceVersion(objRv, pendingRv) > 0);
    } catch (err) {
      log.warn("objectsync with a non-numeric resourceVersion skipped", { name, error: err });
      return;
    }
    if (newer) {
      await this.#send(
        buildMessage({ ...route, operation: Operation.Update }, obj, { resourceVersion: objRv }),
      );
      this.stats.updatesSent++;
    }
  }
}
