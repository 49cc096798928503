/**
 * One edgecloud replica among several on one cluster (docs/ha.md): ties {@link NodeOwnership},
 * the watched ObjectSync records and the per-node catch-up to CloudHub and the EdgeController.
 *
 * Wiring (cli/wiring.ts): build it before CloudHub, pass `syncStore`, `acceptsNode`,
 * `onConnected` and `onDisconnected` to CloudHub, register `recordsModule()` before the
 * EdgeController and `attachModule(...)` after it.
 *
 * @example
 * ```ts
 * const replica = new ReplicaCoordinator({ self: "10.0.0.2", kube, writer: new KubeSyncStore(kube.http) });
 * const hub = new CloudHub({ ..., ...replica.hubOptions() });
 * specs.push({ module: hub }, { module: replica.recordsModule() }, { module: edgeController },
 *   { module: replica.attachModule(hub, edgeController) });
 * ```
 */
import { CloudCoreAnnotation } from "../kube/mod.ts";
import type { Informer, KubeClient, KubeObject, SyncStore } from "../kube/mod.ts";
import { createLogger } from "../lib/mod.ts";
import { ModuleName } from "../modules/mod.ts";
import type { Module, ModuleContext } from "../modules/mod.ts";
import { catchUpNode } from "./catchup.ts";
import { NodeOwnership } from "./ownership.ts";
import { SyncRecordIndex, WatchedSyncStore } from "./sync_records.ts";

const log = createLogger("ha");

/**
 * What the replica uses of CloudHub (`CloudHub` satisfies it; cli/wiring.ts passes the hub): ha/
 * sits beside the hub, not above it, so it names the shape instead of importing the class.
 */
export interface ReplicaHub {
  readonly sessions: { get(nodeId: string): unknown };
  readonly pools: { peek(nodeId: string): unknown; delete(nodeId: string): unknown };
}

/** What the replica uses of the EdgeController (`EdgeController` satisfies it). */
export interface ReplicaEdge {
  readonly downstream:
    | { readonly nodes: Informer<KubeObject>; replayNode(node: string): Promise<void> }
    | undefined;
  sharedCaches(): Partial<Record<string, Informer<KubeObject>>>;
}

/** Options of {@link ReplicaCoordinator}. */
export interface ReplicaCoordinatorOptions {
  /** This replica's advertise address (the `cloudcore` annotation it writes). */
  self: string;
  kube: KubeClient;
  /** Where ObjectSync writes go (a `KubeSyncStore`). */
  writer: SyncStore;
}

/** Counters for tests and diagnostics. */
export interface ReplicaStats {
  catchUps: number;
  catchUpDeletes: number;
}

/** See module docs. */
export class ReplicaCoordinator {
  readonly records: SyncRecordIndex;
  readonly syncStore: WatchedSyncStore;
  readonly stats: ReplicaStats = { catchUps: 0, catchUpDeletes: 0 };
  readonly #self: string;
  #hub?: ReplicaHub;
  #edge?: ReplicaEdge;
  #bus?: ModuleContext["bus"];
  #ownership?: NodeOwnership;
  #ready!: () => void;
  /** Resolves once the caches a catch-up needs are synced (the attach module started). */
  readonly #attached = new Promise<void>((resolve) => this.#ready = resolve);
  #stopped = false;

  constructor(opts: ReplicaCoordinatorOptions) {
    this.#self = opts.self;
    this.records = new SyncRecordIndex(opts.kube);
    this.syncStore = new WatchedSyncStore(this.records, opts.writer);
  }

  /** The CloudHub options this replica supplies. */
  hubOptions(): {
    syncStore: SyncStore;
    acceptsNode: (nodeId: string) => boolean;
    onConnected: (nodeId: string) => void;
    onDisconnected: (nodeId: string) => void;
  } {
    return {
      syncStore: this.syncStore,
      // Before the node cache exists nobody is known to hold a node: queue as a single hub does.
      acceptsNode: (id) => this.#ownership?.accepts(id) ?? true,
      onConnected: (id) => void this.#catchUp(id),
      onDisconnected: (id) => this.#ownership?.disconnected(id),
    };
  }

  /** True when this hub queues messages for the node (see NodeOwnership). */
  accepts(nodeId: string): boolean {
    return this.#ownership?.accepts(nodeId) ?? true;
  }

  /** Watches the ObjectSync records; register before the EdgeController (its replay reads them). */
  recordsModule(): Module {
    return {
      name: "ha-objectsyncs",
      group: "ha-objectsyncs",
      start: () => this.records.start(),
      stop: () => this.records.stop(),
    };
  }

  /** Hooks into the started hub and ReplicaEdge; register after both. */
  attachModule(hub: ReplicaHub, edge: ReplicaEdge): Module {
    return {
      name: "ha-replica",
      group: "ha-replica",
      start: (ctx) => {
        this.#attach(hub, edge, ctx);
        return Promise.resolve();
      },
      stop: () => {
        this.#stopped = true;
        return Promise.resolve();
      },
    };
  }

  #attach(hub: ReplicaHub, edge: ReplicaEdge, ctx: ModuleContext): void {
    const nodes = edge.downstream?.nodes;
    if (!nodes) throw new Error("ha: the EdgeController is not started");
    this.#hub = hub;
    this.#edge = edge;
    this.#bus = ctx.bus;
    this.#ownership = new NodeOwnership({
      self: this.#self,
      hasSession: (id) => hub.sessions.get(id) !== undefined,
      annotationOf: (id) => nodes.get(id)?.metadata?.annotations?.[CloudCoreAnnotation],
      dropPool: (id) => {
        if (!hub.pools.peek(id)) return false;
        hub.pools.delete(id);
        return true;
      },
    });
    const observe = (node: KubeObject) => {
      const name = node.metadata?.name;
      if (name && !this.#stopped) this.#ownership?.observe(name);
    };
    nodes.on({ add: observe, update: observe });
    // Nodes already claimed elsewhere before we watched.
    for (const n of nodes.list()) observe(n);
    log.info("replica attached", { self: this.#self });
    this.#ready();
  }

  /** Brings a node that connected here up to date (ha/catchup.ts). */
  async #catchUp(nodeId: string): Promise<void> {
    await this.#attached;
    const hub = this.#hub as ReplicaHub;
    const edge = this.#edge as ReplicaEdge;
    const bus = this.#bus as ModuleContext["bus"];
    if (this.#stopped || !hub.sessions.get(nodeId)) return;
    const caches = edge.sharedCaches();
    try {
      const result = await catchUpNode(nodeId, {
        records: (node) => this.records.forNode(node),
        lookup: (kind, ns, name) => {
          const cache = caches[kind];
          if (!cache) return null;
          return cache.get(name, ns || undefined);
        },
        replayNode: (node) => edge.downstream?.replayNode(node) ?? Promise.resolve(),
        send: async (msg) => {
          if (!bus.closed) await bus.send(ModuleName.CloudHub, msg);
        },
      });
      this.stats.catchUps++;
      this.stats.catchUpDeletes += result.deletes;
      log.info("node caught up", { node: nodeId, deletes: result.deletes });
    } catch (err) {
      log.warn("node catch-up failed", { node: nodeId, error: err });
    }
  }
}
