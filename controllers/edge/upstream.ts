/**
 * EdgeController upstream (edge → cloud), docs/protocol.md §7.1: messages from the `edgecontroller`
 * inbox are routed by resource type (and operation) to bounded worker pools sized like
 * KubeEdge's `buffer.*` channels and `load.*` workers; each pool's handler talks to the API and
 * replies through cloudhub. Unknown types and operations are counted, logged and dropped.
 */
import { type Message, parseResource } from "../../modules/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import type { EdgeControllerBuffer, EdgeControllerLoad } from "../../config/mod.ts";
import { defaultEdgeControllerBuffer, defaultEdgeControllerLoad } from "../../config/mod.ts";
import { WorkerPool } from "./pool.ts";
import type { UpstreamContext, UpstreamRequest } from "./upstream_context.ts";
import {
  nodeInsert,
  nodePatch,
  nodeQuery,
  nodeStatusInsert,
  nodeStatusUpdate,
  nodeUpdate,
} from "./upstream_node.ts";
import { podDelete, podInsert, podPatch, podStatusUpdate } from "./upstream_pod.ts";
import {
  configMapOrSecretQuery,
  pvcQuery,
  pvQuery,
  serviceAccountTokenQuery,
  serviceOrEndpointsQuery,
  volumeAttachmentQuery,
} from "./upstream_query.ts";
import { csrInsert, csrQuery, eventWrite, leaseQuery, leaseWrite } from "./upstream_misc.ts";

const log = createLogger("edgecontroller");

type Handler = (ctx: UpstreamContext, req: UpstreamRequest) => Promise<void>;

interface Route {
  pool: string;
  handler: Handler;
}

/** Pools: name → [buffer key, load key]. */
const POOLS: Record<string, [keyof EdgeControllerBuffer, keyof EdgeControllerLoad]> = {
  nodeStatus: ["updateNodeStatus", "updateNodeStatusWorkers"],
  podStatus: ["updatePodStatus", "updatePodStatusWorkers"],
  configMap: ["queryConfigMap", "queryConfigMapWorkers"],
  secret: ["querySecret", "querySecretWorkers"],
  service: ["queryConfigMap", "queryConfigMapWorkers"],
  pv: ["queryPersistentVolume", "queryPersistentVolumeWorkers"],
  pvc: ["queryPersistentVolumeClaim", "queryPersistentVolumeClaimWorkers"],
  va: ["queryVolumeAttachment", "queryVolumeAttachmentWorkers"],
  createNode: ["createNode", "createNodeWorkers"],
  queryNode: ["queryNode", "queryNodeWorkers"],
  updateNode: ["updateNode", "updateNodeWorkers"],
  patchNode: ["patchNode", "patchNodeWorkers"],
  patchPod: ["patchPod", "patchPodWorkers"],
  deletePod: ["deletePod", "deletePodWorkers"],
  createPod: ["createPod", "CreatePodWorks"],
  createLease: ["createLease", "createLeaseWorkers"],
  queryLease: ["queryLease", "queryLeaseWorkers"],
  saToken: ["serviceAccountToken", "ServiceAccountTokenWorkers"],
  csr: ["certificateSigningRequest", "certificateSigningRequestWorkers"],
  event: ["processEvent", "processEventWorkers"],
};

/** Routes a parsed request to its pool and handler; undefined for unknown type/operation. */
export function routeFor(type: string, op: string): Route | undefined {
  switch (type) {
    case "nodestatus":
      if (op === "insert") return { pool: "nodeStatus", handler: nodeStatusInsert };
      if (op === "update") return { pool: "nodeStatus", handler: nodeStatusUpdate };
      return undefined;
    case "podstatus":
      return op === "update" ? { pool: "podStatus", handler: podStatusUpdate } : undefined;
    case "configmap":
      return op === "query" ? { pool: "configMap", handler: configMapOrSecretQuery } : undefined;
    case "secret":
      return op === "query" ? { pool: "secret", handler: configMapOrSecretQuery } : undefined;
    case "service":
    case "endpoints":
      return op === "query" ? { pool: "service", handler: serviceOrEndpointsQuery } : undefined;
    case "persistentvolume":
      return op === "query" ? { pool: "pv", handler: pvQuery } : undefined;
    case "persistentvolumeclaim":
      return op === "query" ? { pool: "pvc", handler: pvcQuery } : undefined;
    case "volumeattachment":
      return op === "query" ? { pool: "va", handler: volumeAttachmentQuery } : undefined;
    case "node":
      if (op === "insert") return { pool: "createNode", handler: nodeInsert };
      if (op === "query") return { pool: "queryNode", handler: nodeQuery };
      if (op === "update") return { pool: "updateNode", handler: nodeUpdate };
      return undefined;
    case "nodepatch":
      return { pool: "patchNode", handler: nodePatch }; // any operation (§7.1)
    case "podpatch":
      return { pool: "patchPod", handler: podPatch };
    case "pod":
      if (op === "delete") return { pool: "deletePod", handler: podDelete };
      if (op === "insert") return { pool: "createPod", handler: podInsert };
      return undefined;
    case "serviceaccounttoken":
      return op === "query" ? { pool: "saToken", handler: serviceAccountTokenQuery } : undefined;
    case "lease":
      if (op === "insert" || op === "update") return { pool: "createLease", handler: leaseWrite };
      if (op === "query") return { pool: "queryLease", handler: leaseQuery };
      return undefined;
    case "certificatesigningrequest":
      if (op === "insert") return { pool: "csr", handler: csrInsert };
      if (op === "query") return { pool: "csr", handler: csrQuery };
      return undefined;
    case "event":
      return op === "insert" || op === "update" || op === "patch"
        ? { pool: "event", handler: eventWrite }
        : undefined;
    default:
      return undefined;
  }
}

/** Counters for metrics and tests. */
export interface UpstreamStats {
  received: number;
  dispatched: number;
  /** Dropped messages by reason (`unknown:<type>/<op>`, `badresource`). */
  dropped: Record<string, number>;
}

/** Settings of the upstream controller. */
export interface UpstreamOptions {
  buffer?: Partial<EdgeControllerBuffer>;
  load?: Partial<EdgeControllerLoad>;
  /** Node limit used for the node-scaled defaults (default 500). */
  nodeLimit?: number;
}

/** See module docs. */
export class UpstreamController {
  readonly #ctx: UpstreamContext;
  readonly #pools = new Map<string, WorkerPool<UpstreamRequest>>();
  readonly stats: UpstreamStats = { received: 0, dispatched: 0, dropped: {} };

  constructor(ctx: UpstreamContext, opts: UpstreamOptions = {}) {
    this.#ctx = ctx;
    const n = opts.nodeLimit ?? 500;
    const buffer = { ...defaultEdgeControllerBuffer(n), ...opts.buffer };
    const load = { ...defaultEdgeControllerLoad(n), ...opts.load };
    for (const [name, [b, l]] of Object.entries(POOLS)) {
      this.#pools.set(
        name,
        new WorkerPool<UpstreamRequest>(name, buffer[b], load[l], (req) => this.#run(req, name)),
      );
    }
  }

  async #run(req: UpstreamRequest, pool: string): Promise<void> {
    const route = routeFor(req.type, req.operation);
    if (!route) return;
    try {
      await route.handler(this.#ctx, req);
    } catch (err) {
      log.error("upstream handler failed", {
        pool,
        node: req.node,
        resource: req.msg.route.resource ?? "",
        operation: req.operation,
        error: err,
      });
    }
  }

  #drop(reason: string, msg: Message): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
    log.warn("upstream message dropped", {
      reason,
      resource: msg.route.resource ?? "",
      operation: msg.route.operation ?? "",
    });
  }

  /** Routes one message from the `edgecontroller` inbox (waits while its pool is full). */
  async dispatch(msg: Message): Promise<void> {
    this.stats.received++;
    const op = msg.route.operation ?? "";
    if (op === "connected" || op === "disconnected") {
      // cloudhub's node connection events (`node/<id>`): nothing to do against the API.
      log.debug("edge connection event", { resource: msg.route.resource ?? "", operation: op });
      return;
    }
    let parsed;
    try {
      parsed = parseResource(msg.route.resource ?? "");
    } catch {
      return this.#drop("badresource", msg);
    }
    const operation = msg.route.operation ?? "";
    const route = routeFor(parsed.resourceType, operation);
    if (!route) return this.#drop(`unknown:${parsed.resourceType}/${operation}`, msg);
    const req: UpstreamRequest = {
      msg,
      node: parsed.nodeId,
      namespace: parsed.namespace,
      type: parsed.resourceType,
      name: parsed.name,
      operation,
    };
    const pool = this.#pools.get(route.pool) as WorkerPool<UpstreamRequest>;
    await pool.push(req);
    this.stats.dispatched++;
  }

  /** Stops all pools (queued requests are dropped; running handlers finish). */
  async stop(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.stop()));
  }
}
