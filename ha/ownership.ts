/**
 * Which replica serves a node (docs/protocol.md §3.5: the Node annotation `cloudcore: <advertise
 * address>` that the hub holding the node's session writes), and what that means for this hub's
 * downstream queue:
 *
 * - a hub queues messages for a node only while it holds the node's session, or while nobody
 *   else claims the node (annotation unset or naming this hub: the node is offline and will most
 *   likely come back here). A node claimed by another replica is skipped: that replica gets the
 *   same changes from its own informers, and queueing here too would write the node's ObjectSyncs
 *   from two hubs (KubeEdge #4925);
 * - when another replica claims a node this hub has no session for, this hub drops the node's
 *   pool, so it can never send state that went stale while the node was served elsewhere
 *   (KubeEdge #6007). A session that is still open here (half-open connection) keeps its pool
 *   until it ends; then the pool is dropped as well.
 *
 * @example
 * ```ts
 * const own = new NodeOwnership({ self: "10.0.0.2", hasSession, annotationOf, dropPool });
 * nodes.on({ update: (n) => own.observe(n.metadata!.name!) });
 * const hub = new CloudHub({ ..., acceptsNode: (id) => own.accepts(id) });
 * ```
 */
import { createLogger } from "../lib/mod.ts";

const log = createLogger("ha");

/** What {@link NodeOwnership} needs from the hub and the node cache. */
export interface NodeOwnershipOptions {
  /** This replica's advertise address: the `cloudcore` annotation value it writes. */
  self: string;
  /** True while this hub holds a live session of the node. */
  hasSession(nodeId: string): boolean;
  /** The node's `cloudcore` annotation as last seen ("" or undefined when unset). */
  annotationOf(nodeId: string): string | undefined;
  /**
   * Drops the node's pool (its queued messages and delivery state) on this hub; returns false
   * when there was none.
   */
  dropPool(nodeId: string): boolean;
}

/** See module docs. */
export class NodeOwnership {
  readonly #opts: NodeOwnershipOptions;
  /** Pools dropped because another replica claimed the node (diagnostics and tests). */
  dropped = 0;

  constructor(opts: NodeOwnershipOptions) {
    this.#opts = opts;
  }

  /** The replica the node's annotation names, or "" when unset. */
  holder(nodeId: string): string {
    return this.#opts.annotationOf(nodeId) ?? "";
  }

  /** True when the annotation names another replica. */
  claimedElsewhere(nodeId: string): boolean {
    const holder = this.holder(nodeId);
    return holder !== "" && holder !== this.#opts.self;
  }

  /** Whether this hub queues downstream messages for the node (see module docs). */
  accepts(nodeId: string): boolean {
    return this.#opts.hasSession(nodeId) || !this.claimedElsewhere(nodeId);
  }

  /** The node (or its annotation) changed: drop the pool if another replica now serves it. */
  observe(nodeId: string): void {
    if (!this.#opts.hasSession(nodeId) && this.claimedElsewhere(nodeId)) this.#drop(nodeId);
  }

  /** The node's session here ended: drop the pool if another replica already serves it. */
  disconnected(nodeId: string): void {
    if (this.claimedElsewhere(nodeId)) this.#drop(nodeId);
  }

  #drop(nodeId: string): void {
    if (!this.#opts.dropPool(nodeId)) return;
    this.dropped++;
    log.info("node served by another replica; local queue dropped", {
      node: nodeId,
      holder: this.holder(nodeId),
    });
  }
}
