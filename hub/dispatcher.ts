/**
 * CloudHub's dispatcher (docs/protocol.md §3.7, §4.1): upstream, an edge message goes to a session
 * action or a controller on the bus; downstream, a controller's message goes to its node's
 * ack or no-ack queue.
 *
 * A missing module or group on the bus is counted (`unroutable_messages_total`) and logged; it
 * never breaks the connection or the loop.
 */
import type { Bus } from "../modules/mod.ts";
import {
  buildMessage,
  getNodeId,
  Group,
  isEmptyMessage,
  type Message,
  type MessageEnv,
  ModuleName,
  newErrorMessage,
  Operation,
  prefixResource,
  receiveLoop,
  ResourceType,
  VolumeOperations,
} from "../modules/mod.ts";
import { createLogger, Fifo } from "../lib/mod.ts";
import {
  isFromEdge,
  isNodeStopped,
  isToEdge,
  noAckRequired,
  VolumeResourcePattern,
} from "./classify.ts";
import { CloseReason, type HubMetrics } from "./metrics.ts";
import { rejectApplication } from "./metaserver_reject.ts";
import type { NodePool, NodePools } from "./node_pool.ts";
import { type Session, SessionCloseText } from "./session.ts";
import type { SessionManager } from "./session_manager.ts";

const log = createLogger("cloudhub.dispatcher");

/** Operations routed to the taskmanager group (§3.7 rule 6). */
const TaskManagerOps: ReadonlySet<string> = new Set([
  Operation.Prepull,
  Operation.Upgrade,
  Operation.UpdateNodeActionStatus,
]);

/** Options of {@link Dispatcher}. */
export interface DispatcherOptions {
  bus: Bus;
  pools: NodePools;
  metrics: HubMetrics;
  /** Set after construction (the manager needs the dispatcher's upstream handler). */
  sessions?: SessionManager;
  /** The Kubernetes CA PEM answered to `k8s/ca.crt` requests (§3.7 rule 7). */
  kubeCaPem?: string;
  /** Clock and ids for messages the hub creates. */
  env?: MessageEnv;
  /**
   * Downstream ack enqueues waiting for an ObjectSync lookup at once (a first arrival; the rest
   * are decided at once and take no slot). Default 256.
   */
  maxConcurrentEnqueues?: number;
  /**
   * HA (several hubs on one cluster, ha/): whether this hub queues messages for a node. A node
   * whose session lives on another replica gets them from that replica's own informers; queueing
   * here too would write its ObjectSyncs from two hubs and keep state that goes stale once the
   * node is served elsewhere. Default: every node.
   */
  accepts?: (nodeId: string) => boolean;
}

/** What {@link Dispatcher.upstream} did with a message (tests). */
export type UpstreamAction =
  | "keepalive"
  | "volume_response"
  | "ack"
  | "error"
  | "router"
  | "taskmanager"
  | "k8s_ca"
  | "dynamiccontroller"
  | "metaserver_rejected"
  | "devicecontroller"
  | "edgecontroller"
  | "dropped";

/** What {@link Dispatcher.downstream} did with a message (tests). */
export type DownstreamAction = "noack" | "ack" | "node_stopped" | "dropped" | "not_held";

/** Upstream and downstream routing; see module docs. */
export class Dispatcher {
  readonly #bus: Bus;
  readonly #pools: NodePools;
  readonly #metrics: HubMetrics;
  readonly #env: MessageEnv | undefined;
  readonly #maxEnqueues: number;
  /** Ack enqueues waiting on a lookup; a slot waiter is woken when one finishes. */
  #running = 0;
  readonly #slotWaiters = new Fifo<() => void>();
  #idleWaiters: Array<() => void> = [];
  sessions: SessionManager | undefined;
  kubeCaPem: string;
  readonly #accepts: ((nodeId: string) => boolean) | undefined;

  constructor(opts: DispatcherOptions) {
    this.#bus = opts.bus;
    this.#pools = opts.pools;
    this.#metrics = opts.metrics;
    this.sessions = opts.sessions;
    this.kubeCaPem = opts.kubeCaPem ?? "";
    this.#env = opts.env;
    this.#maxEnqueues = opts.maxConcurrentEnqueues ?? 256;
    this.#accepts = opts.accepts;
  }

  /**
   * The upstream handler: one edge message from `session`, rules in §3.7 order. Keepalives,
   * ACKs, errors and volume responses complete synchronously (the common case stays off the
   * promise machinery); bus sends return a promise.
   */
  upstream(session: Session, msg: Message): UpstreamAction | Promise<UpstreamAction> {
    const op = msg.route.operation ?? "";
    const resource = msg.route.resource ?? "";
    const nodeId = session.nodeId;
    if (isEmptyMessage(msg)) {
      // edgecore's zero-value message: cloudcore drops it and keeps the session; so do we.
      this.#metrics.dropped.inc({ reason: "empty_message" });
      log.warn("empty message from edge dropped", { node: nodeId });
      return "dropped";
    }
    this.#metrics.countIn(op);
    if (op === Operation.Keepalive) {
      session.keepalive();
      return "keepalive";
    }
    if (VolumeResourcePattern.test(resource)) {
      if (!this.#bus.sendResp(msg)) this.#metrics.unroutable.inc({ target: "volume_response" });
      return "volume_response";
    }
    if (op === Operation.Response) {
      if (!session.handleAck(msg.header.parentId)) {
        log.debug("response for no pending message", {
          node: nodeId,
          parent: msg.header.parentId ?? "",
        });
      }
      return "ack";
    }
    if (op === Operation.Error) {
      log.warn("edge reported an error", { node: nodeId, resource, content: msg.content });
      return "error";
    }
    return this.#route(session, msg);
  }

  async #route(session: Session, msg: Message): Promise<UpstreamAction> {
    const op = msg.route.operation ?? "";
    const resource = msg.route.resource ?? "";
    const nodeId = session.nodeId;
    if (op === Operation.Upload && msg.route.group === Group.User) {
      msg.route.resource = prefixResource(nodeId, resource);
      return await this.#toModule(ModuleName.Router, msg) ? "router" : "dropped";
    }
    if (TaskManagerOps.has(op)) {
      return await this.#toGroup(ModuleName.TaskManager, msg) ? "taskmanager" : "dropped";
    }
    if (resource === ResourceType.K8sCA) {
      const resp = buildMessage(
        {
          source: ModuleName.CloudHub,
          group: Group.Resource,
          operation: Operation.Response,
          resource: prefixResource(nodeId, ResourceType.K8sCA),
        },
        this.kubeCaPem,
        { parentId: msg.header.id, env: this.#env },
      );
      await this.downstream(resp);
      return "k8s_ca";
    }
    msg.route.resource = prefixResource(nodeId, resource);
    if (!isFromEdge(msg)) {
      log.warn("edge message claims a cloud source; dropped", {
        node: nodeId,
        source: msg.route.source ?? "",
      });
      return "dropped";
    }
    switch (msg.route.source) {
      case "metaserver":
        if (!this.#bus.modules().includes(ModuleName.DynamicController)) {
          return await this.#rejectMetaServer(nodeId, msg);
        }
        return await this.#toModule(ModuleName.DynamicController, msg)
          ? "dynamiccontroller"
          : "dropped";
      case "twin":
        return await this.#toGroup(ModuleName.DeviceController, msg)
          ? "devicecontroller"
          : "dropped";
      default:
        return await this.#toGroup(ModuleName.EdgeController, msg) ? "edgecontroller" : "dropped";
    }
  }

  /** No DynamicController: the edge's MetaServer request is answered `Rejected`, not dropped. */
  async #rejectMetaServer(nodeId: string, msg: Message): Promise<UpstreamAction> {
    this.#metrics.unroutable.inc({ target: ModuleName.DynamicController });
    const reply = rejectApplication(msg, nodeId, this.#env);
    if (!reply) return "dropped";
    log.debug("metaserver request rejected: no dynamiccontroller", {
      node: nodeId,
      operation: msg.route.operation ?? "",
    });
    await this.downstream(reply);
    return "metaserver_rejected";
  }

  async #toModule(module: string, msg: Message): Promise<boolean> {
    if (!this.#bus.modules().includes(module)) return this.#unroutable(module, msg);
    try {
      await this.#bus.send(module, msg);
      return true;
    } catch (err) {
      return this.#unroutable(module, msg, err);
    }
  }

  async #toGroup(group: string, msg: Message): Promise<boolean> {
    if (this.#bus.modules(group).length === 0) return this.#unroutable(group, msg);
    try {
      await this.#bus.sendToGroup(group, msg);
      return true;
    } catch (err) {
      return this.#unroutable(group, msg, err);
    }
  }

  #unroutable(target: string, msg: Message, err?: unknown): false {
    this.#metrics.unroutable.inc({ target });
    log.warn("no module for upstream message; dropped", {
      target,
      resource: msg.route.resource ?? "",
      operation: msg.route.operation ?? "",
      ...(err ? { error: err } : {}),
    });
    return false;
  }

  /**
   * The downstream handler (§4.1): node from the resource, `IsToEdge`, then the no-ack queue or
   * the ack queue (§4.2, §4.3). A node delete closes the node's session and drops its pool.
   * Returns at once unless it has to wait for an enqueue slot. Enqueues that look up an
   * ObjectSync record run concurrently up to a bound; {@link flush} waits for them.
   */
  downstream(msg: Message): DownstreamAction | Promise<DownstreamAction> {
    const nodeId = getNodeId(msg.route.resource ?? "");
    if (!nodeId) {
      this.#metrics.dropped.inc({ reason: "no_node" });
      log.warn("downstream message without a node; dropped", {
        resource: msg.route.resource ?? "",
      });
      return "dropped";
    }
    if (!isToEdge(msg)) {
      this.#metrics.dropped.inc({ reason: "not_to_edge" });
      return "dropped";
    }
    if (isNodeStopped(msg)) {
      this.sessions?.closeNode(nodeId, SessionCloseText.NodeDeleted, CloseReason.NodeDeleted);
      this.#pools.delete(nodeId);
      return "node_stopped";
    }
    if (
      msg.header.sync && VolumeOperations.has(msg.route.operation ?? "") &&
      !this.sessions?.get(nodeId)
    ) {
      // A CSI request (UDS sendSync) for a node with no session: answer now with an error
      // instead of queueing an old createvolume the edge would run whenever it reconnects.
      const err = newErrorMessage(
        msg,
        `node ${nodeId} is not connected to this cloudhub`,
        this.#env,
      );
      err.route.source = ModuleName.CloudHub;
      err.route.group = msg.route.group;
      this.#bus.sendResp(err);
      this.#metrics.dropped.inc({ reason: "node_offline" });
      return "dropped";
    }
    if (this.#accepts && !this.#accepts(nodeId)) {
      this.#metrics.dropped.inc({ reason: "not_held" });
      return "not_held";
    }
    const pool = this.#pools.get(nodeId);
    if (noAckRequired(msg)) {
      pool.noAck.push(msg);
      return "noack";
    }
    if (this.#running >= this.#maxEnqueues) return this.#enqueueWhenFree(pool, msg);
    this.#enqueue(pool, msg);
    return "ack";
  }

  /** Waits for a slot among the enqueues that wait for an ObjectSync lookup. */
  async #enqueueWhenFree(pool: NodePool, msg: Message): Promise<DownstreamAction> {
    while (this.#running >= this.#maxEnqueues) {
      await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
    }
    this.#enqueue(pool, msg);
    return "ack";
  }

  /** Most enqueues are decided at once; only those waiting on a lookup take a slot. */
  #enqueue(pool: NodePool, msg: Message): void {
    const result = pool.ack.enqueue(msg);
    if (!(result instanceof Promise)) return;
    this.#running++;
    result.catch((err) => {
      log.error("ack enqueue failed", { node: pool.nodeId, error: err });
    }).finally(() => {
      this.#running--;
      this.#slotWaiters.shift()?.();
      if (this.#running === 0) {
        const idle = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const w of idle) w();
      }
    });
  }

  /** Waits until every started ack enqueue has finished. */
  async flush(): Promise<void> {
    while (this.#running > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Runs the downstream loop on the bus module `cloudhub` until its inbox closes. */
  run(module: string = ModuleName.CloudHub): Promise<void> {
    return receiveLoop(this.#bus, module, (msg) => {
      const action = this.downstream(msg);
      if (action instanceof Promise) return action.then(() => {});
    });
  }
}
