/**
 * Per-node message pools (KubeEdge's `NodeMessagePool`, docs/protocol.md §4.1): one ack queue and one
 * no-ack queue per node. Pools belong to the node, not to a session: they are created on the
 * first message for a node (online or not) and live until the node is deleted or the hub stops,
 * so a node's backlog survives disconnects (docs/design.md).
 */
import type { Message } from "../modules/mod.ts";
import { type AckDropReason, AckQueue } from "./ack_queue.ts";
import type { Clock } from "../lib/mod.ts";
import type { HubMetrics } from "./metrics.ts";
import { NoAckQueue } from "./noack_queue.ts";
import type { SyncStore } from "../kube/mod.ts";

/** The two queues of one node. */
export interface NodePool {
  readonly nodeId: string;
  readonly ack: AckQueue;
  readonly noAck: NoAckQueue;
}

/** Options of {@link NodePools}. */
export interface NodePoolsOptions {
  syncStore: SyncStore;
  clock: Clock;
  metrics: HubMetrics;
  /** Bound of each node's no-ack queue (default 1000). */
  noAckCapacity?: number;
  /** Ack back-off cap (ms). */
  backoffCapMs?: number;
}

/** All nodes' pools. */
export class NodePools {
  readonly #pools = new Map<string, NodePool>();
  readonly #opts: NodePoolsOptions;
  /** Metric callbacks shared by every node's queues (not a set of closures per node). */
  readonly #onAckDrop: (reason: AckDropReason, msg: Message) => void;
  readonly #onAckDepth: (delta: number) => void;
  readonly #onNoAckOverflow: () => void;
  readonly #onNoAckDepth: (delta: number) => void;

  constructor(opts: NodePoolsOptions) {
    this.#opts = opts;
    const m = opts.metrics;
    this.#onAckDrop = (reason) => m.dropped.inc({ reason });
    this.#onAckDepth = (d) => m.addQueueDepth("ack", d);
    this.#onNoAckOverflow = () => m.dropped.inc({ reason: "noack_overflow" });
    this.#onNoAckDepth = (d) => m.addQueueDepth("noack", d);
  }

  /** The node's pool, created on first use. */
  get(nodeId: string): NodePool {
    let pool = this.#pools.get(nodeId);
    if (pool) return pool;
    pool = {
      nodeId,
      ack: new AckQueue({
        nodeId,
        syncStore: this.#opts.syncStore,
        clock: this.#opts.clock,
        backoffCapMs: this.#opts.backoffCapMs,
        onDrop: this.#onAckDrop,
        onDepth: this.#onAckDepth,
      }),
      noAck: new NoAckQueue({
        capacity: this.#opts.noAckCapacity,
        onOverflow: this.#onNoAckOverflow,
        onDepth: this.#onNoAckDepth,
      }),
    };
    this.#pools.set(nodeId, pool);
    return pool;
  }

  /** The node's pool if it exists. */
  peek(nodeId: string): NodePool | undefined {
    return this.#pools.get(nodeId);
  }

  /** Drops a node's pool (node deleted). */
  delete(nodeId: string): void {
    const pool = this.#pools.get(nodeId);
    if (!pool) return;
    this.#pools.delete(nodeId);
    pool.ack.close();
    pool.noAck.clear();
  }

  /** Closes every pool (hub stopping). */
  close(): void {
    for (const id of [...this.#pools.keys()]) this.delete(id);
  }

  /** Node ids with a pool. */
  get nodeIds(): string[] {
    return [...this.#pools.keys()];
  }
}
