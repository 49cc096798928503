/**
 * EdgeController downstream (Kubernetes → edges), docs/protocol.md §7.2, with the LocationCache of
 * §7.3 done better (see location.ts):
 *
 * - edge nodes (label `node-role.kubernetes.io/edge=`): every change → `update` on
 *   `node/<n>/null/node/<n>`; delete → `delete` (cloudhub ends the session);
 * - pods bound to edge nodes: Added → `insert` (`update` when already terminating), Modified →
 *   `update` only if metadata or spec changed, Deleted → `delete`;
 * - configmaps and secrets to exactly the nodes whose pods reference them (secret Added →
 *   `update`); when a node stops needing one, it gets a `delete`; when it starts needing one
 *   that exists, it gets it at once (before the pod);
 * - services and endpoints to every edge node (option `sendServicesToEdges`).
 *
 * Startup order without sleeps: informer events only feed the caches until every informer has
 * synced; then sending is switched on and the initial state is replayed from the caches.
 */
import {
  buildMessage,
  buildResource,
  type Bus,
  Group,
  type Message,
  ModuleName,
  NullNamespace,
  Operation,
} from "../../modules/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import type { Informer, KubeClient, KubeObject } from "../../kube/mod.ts";
import type { LocationCache, LocationChange, LocationDelta } from "./location.ts";
import { podChangedForEdge } from "./meta.ts";
import { podOf } from "./shapes.ts";

const log = createLogger("edgecontroller");

/** The label selecting edge nodes (present with an empty value). */
export const EdgeNodeLabelSelector = "node-role.kubernetes.io/edge=";

/** Settings of the downstream controller. */
export interface DownstreamOptions {
  kube: KubeClient;
  bus: Bus;
  location: LocationCache;
  /** Push services and endpoints to every edge node (default false, as cloudcore v1.23). */
  sendServicesToEdges?: boolean;
}

/** Counters for metrics and tests. */
export interface DownstreamStats {
  sent: number;
  failed: number;
}

function nodeNameOf(pod: KubeObject | undefined): string {
  return podOf(pod).spec?.nodeName ?? "";
}

/** See module docs. */
export class DownstreamController {
  readonly nodes: Informer<KubeObject>;
  readonly pods: Informer<KubeObject>;
  readonly configmaps: Informer<KubeObject>;
  readonly secrets: Informer<KubeObject>;
  readonly services?: Informer<KubeObject>;
  readonly endpoints?: Informer<KubeObject>;
  readonly stats: DownstreamStats = { sent: 0, failed: 0 };
  readonly #bus: Bus;
  readonly #loc: LocationCache;
  readonly #kube: KubeClient;
  #ready = false;
  #stopped = false;

  constructor(opts: DownstreamOptions) {
    this.#bus = opts.bus;
    this.#loc = opts.location;
    this.#kube = opts.kube;
    const k = opts.kube;
    this.nodes = k.informer("/api/v1/nodes", undefined, {
      name: "edge-nodes",
      labelSelector: EdgeNodeLabelSelector,
      kind: "Node",
      apiVersion: "v1",
    });
    this.pods = k.informer("/api/v1/pods", undefined, {
      name: "pods",
      kind: "Pod",
      apiVersion: "v1",
    });
    this.configmaps = k.informer("/api/v1/configmaps", undefined, {
      name: "configmaps",
      kind: "ConfigMap",
      apiVersion: "v1",
    });
    this.secrets = k.informer("/api/v1/secrets", undefined, {
      name: "secrets",
      kind: "Secret",
      apiVersion: "v1",
    });
    if (opts.sendServicesToEdges ?? false) {
      this.services = k.informer("/api/v1/services", undefined, {
        name: "services",
        kind: "Service",
        apiVersion: "v1",
      });
      this.endpoints = k.informer("/api/v1/endpoints", undefined, {
        name: "endpoints",
        kind: "Endpoints",
        apiVersion: "v1",
      });
    }
    this.#wire();
  }

  /** All informers of this controller. */
  get informers(): Informer<KubeObject>[] {
    return [this.nodes, this.pods, this.configmaps, this.secrets, this.services, this.endpoints]
      .filter((i): i is Informer<KubeObject> => i !== undefined);
  }

  /** True once every informer synced and the initial state was replayed. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Starts the informers, waits for all of them to sync, then switches sending on. */
  async start(): Promise<void> {
    for (const inf of this.informers) inf.start();
    await Promise.all(this.informers.map((i) => i.synced));
    // Switch on first, then replay: an event racing the replay is sent twice (the hub dedups by
    // RV), never lost.
    this.#ready = true;
    await this.#replay();
    log.info("downstream ready", {
      edgeNodes: this.#loc.edgeNodes().length,
      pods: this.pods.list().length,
    });
  }

  /** Stops all informers. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  async #send(
    node: string,
    obj: KubeObject | null,
    type: string,
    op: string,
    ns?: string,
    name?: string,
  ) {
    if (this.#stopped) return;
    const namespace = ns ?? (obj?.metadata?.namespace || NullNamespace);
    const objName = name ?? obj?.metadata?.name ?? "";
    const msg: Message = buildMessage(
      {
        source: ModuleName.EdgeController,
        group: Group.Resource,
        operation: op,
        resource: buildResource(node, namespace, type, objName),
      },
      obj,
      { resourceVersion: obj?.metadata?.resourceVersion },
    );
    try {
      await this.#bus.send(ModuleName.CloudHub, msg);
      this.stats.sent++;
    } catch (err) {
      this.stats.failed++;
      log.warn("downstream send failed", { node, resource: msg.route.resource, error: err });
    }
  }

  #object(kind: LocationChange["kind"], key: string): KubeObject | undefined {
    const [ns, name] = [key.slice(0, key.indexOf("/")), key.slice(key.indexOf("/") + 1)];
    if (kind === "configmap") return this.configmaps.get(name, ns);
    if (kind === "secret") return this.secrets.get(name, ns);
    return undefined;
  }

  /** Pushes objects a node started needing (configmap insert, secret update). */
  async #pushAdded(delta: LocationDelta): Promise<void> {
    for (const c of delta.added) {
      if (!this.#loc.isEdgeNode(c.node)) continue;
      const obj = this.#object(c.kind, c.key);
      if (!obj) continue;
      if (c.kind === "configmap") await this.#send(c.node, obj, "configmap", Operation.Insert);
      else if (c.kind === "secret") await this.#send(c.node, obj, "secret", Operation.Update);
    }
  }

  /** Deletes objects a node no longer needs (the shrink KubeEdge never does). */
  async #pushRemoved(delta: LocationDelta): Promise<void> {
    for (const c of delta.removed) {
      if (c.kind !== "configmap" && c.kind !== "secret") continue;
      if (!this.#loc.isEdgeNode(c.node)) continue;
      const obj = this.#object(c.kind, c.key);
      if (!obj) continue; // already deleted: the object's own delete went out
      await this.#send(c.node, obj, c.kind, Operation.Delete);
    }
  }

  /** Everything a node needs: its pods and their configmaps/secrets. */
  async #sendNodeWorkload(node: string): Promise<void> {
    for (const kind of ["configmap", "secret"] as const) {
      for (const key of this.#loc.referencedBy(node, kind)) {
        await this.#pushAdded({ added: [{ kind, key, node }], removed: [] });
      }
    }
    for (const key of this.#loc.podsOnNode(node)) {
      const i = key.indexOf("/");
      const pod = this.pods.get(key.slice(i + 1), key.slice(0, i));
      if (!pod) continue;
      const op = pod.metadata?.deletionTimestamp ? Operation.Update : Operation.Insert;
      await this.#send(node, pod, "pod", op);
    }
  }

  async #sendServices(node: string): Promise<void> {
    for (const svc of this.services?.list() ?? []) {
      await this.#send(node, svc, "service", Operation.Insert);
    }
    for (const ep of this.endpoints?.list() ?? []) {
      await this.#send(node, ep, "endpoints", Operation.Insert);
    }
  }

  async #replay(): Promise<void> {
    for (const node of this.#loc.edgeNodes()) await this.replayNode(node);
  }

  /**
   * Sends one node its current state from the caches (node, pods, their configmaps and secrets,
   * services): what start() replays for every node. The hub's ack queue drops what the node
   * already acknowledged (ObjectSync), so this is how a hub that takes over a node's session
   * from another replica brings the node up to date (ha/). No-op until ready.
   */
  async replayNode(node: string): Promise<void> {
    if (!this.#ready || !this.#loc.isEdgeNode(node)) return;
    const obj = this.nodes.get(node);
    if (obj) await this.#send(node, obj, "node", Operation.Update, NullNamespace);
    await this.#sendNodeWorkload(node);
    await this.#sendServices(node);
  }

  #wire(): void {
    this.nodes.on({
      add: async (node) => {
        const name = node.metadata?.name ?? "";
        const isNew = this.#loc.addNode(name);
        if (!this.#ready) return;
        await this.#send(name, node, "node", Operation.Update, NullNamespace);
        if (isNew) {
          await this.#sendNodeWorkload(name);
          await this.#sendServices(name);
        }
      },
      update: async (node) => {
        const name = node.metadata?.name ?? "";
        this.#loc.addNode(name);
        if (this.#ready) await this.#send(name, node, "node", Operation.Update, NullNamespace);
      },
      delete: async (node) => {
        const name = node.metadata?.name ?? "";
        this.#loc.removeNode(name);
        this.#kube.limiter.forget(name);
        if (this.#ready) {
          await this.#send(name, null, "node", Operation.Delete, NullNamespace, name);
        }
      },
    });

    this.pods.on({
      add: async (pod) => {
        const delta = this.#loc.addOrUpdatePod(pod);
        const node = nodeNameOf(pod);
        if (!this.#ready || !this.#loc.isEdgeNode(node)) return;
        await this.#pushAdded(delta);
        const op = pod.metadata?.deletionTimestamp ? Operation.Update : Operation.Insert;
        await this.#send(node, pod, "pod", op);
        await this.#pushRemoved(delta);
      },
      update: async (pod, old) => {
        const delta = this.#loc.addOrUpdatePod(pod);
        if (!this.#ready) return;
        const node = nodeNameOf(pod);
        const oldNode = nodeNameOf(old);
        await this.#pushAdded(delta);
        if (oldNode !== node && this.#loc.isEdgeNode(oldNode)) {
          await this.#send(oldNode, old, "pod", Operation.Delete);
        }
        if (this.#loc.isEdgeNode(node)) {
          if (oldNode !== node) await this.#send(node, pod, "pod", Operation.Insert);
          else if (podChangedForEdge(old, pod)) {
            await this.#send(node, pod, "pod", Operation.Update);
          }
        }
        await this.#pushRemoved(delta);
      },
      delete: async (pod) => {
        const delta = this.#loc.deletePod(pod);
        if (!this.#ready) return;
        const node = nodeNameOf(pod);
        if (this.#loc.isEdgeNode(node)) await this.#send(node, pod, "pod", Operation.Delete);
        await this.#pushRemoved(delta);
      },
    });

    const refHandlers = (kind: "configmap" | "secret", addOp: string) => ({
      add: async (obj: KubeObject) => {
        if (!this.#ready) return;
        for (const node of this.#nodesNeeding(kind, obj)) await this.#send(node, obj, kind, addOp);
      },
      update: async (obj: KubeObject) => {
        if (!this.#ready) return;
        for (const node of this.#nodesNeeding(kind, obj)) {
          await this.#send(node, obj, kind, Operation.Update);
        }
      },
      delete: async (obj: KubeObject) => {
        if (!this.#ready) return;
        for (const node of this.#nodesNeeding(kind, obj)) {
          await this.#send(node, obj, kind, Operation.Delete);
        }
      },
    });
    this.configmaps.on(refHandlers("configmap", Operation.Insert));
    this.secrets.on(refHandlers("secret", Operation.Update));

    const everyNode = (type: string) => ({
      add: async (obj: KubeObject) => {
        if (!this.#ready) return;
        for (const n of this.#loc.edgeNodes()) await this.#send(n, obj, type, Operation.Insert);
      },
      update: async (obj: KubeObject) => {
        if (!this.#ready) return;
        for (const n of this.#loc.edgeNodes()) await this.#send(n, obj, type, Operation.Update);
      },
      delete: async (obj: KubeObject) => {
        if (!this.#ready) return;
        for (const n of this.#loc.edgeNodes()) await this.#send(n, obj, type, Operation.Delete);
      },
    });
    this.services?.on(everyNode("service"));
    this.endpoints?.on(everyNode("endpoints"));
  }

  #nodesNeeding(kind: "configmap" | "secret", obj: KubeObject): string[] {
    const ns = obj.metadata?.namespace ?? "";
    const name = obj.metadata?.name ?? "";
    return kind === "configmap"
      ? this.#loc.configMapNodes(ns, name)
      : this.#loc.secretNodes(ns, name);
  }
}
