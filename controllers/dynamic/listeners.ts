/**
 * The edges' MetaServer watches (cloudcore's HandlerCenter and SelectorListeners): one shared
 * informer per resource, started by the first watch on it, and per watch a listener (node,
 * namespace, label and field selectors). A new listener gets every matching object as an
 * `insert`; then each change goes to every matching listener as `insert`, `update` or `delete`
 * on `node/<node>/<ns|null>/<resource type>/<name>` with the object's resourceVersion, which
 * the edge's MetaManager stores and its MetaServer serves to the local watcher.
 */
import type { Bus } from "../../modules/mod.ts";
import { buildMessage, Group, ModuleName, Operation, resourceTypeOf } from "../../modules/mod.ts";
import type { Informer, KubeClient, KubeObject } from "../../kube/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import { apiPath, type AppTarget } from "./application.ts";
import { matchesSelectors } from "./selectors.ts";

const log = createLogger("dynamiccontroller");

/** One edge watch. */
export interface Listener {
  /** The Application's ID (its identity across watchapp syncs). */
  id: string;
  node: string;
  target: AppTarget;
  labelSelector: string;
  fieldSelector: string;
}

/** Edits an object for one node before it is sent (endpoint filters). */
export type ObjectFilter = (node: string, obj: KubeObject) => Promise<KubeObject>;

interface Shared {
  informer: Informer<KubeObject>;
  listeners: Map<string, Listener>;
}

/** See module docs. */
export class WatchListeners {
  readonly #byResource = new Map<string, Shared>();
  readonly #byNode = new Map<string, Map<string, Listener>>();

  constructor(
    readonly kube: KubeClient,
    readonly bus: Bus,
    readonly filter: ObjectFilter,
  ) {}

  /** The listeners of a node, by Application ID. */
  ofNode(node: string): Map<string, Listener> {
    return this.#byNode.get(node) ?? new Map();
  }

  /** Number of listeners. */
  get size(): number {
    let n = 0;
    for (const m of this.#byNode.values()) n += m.size;
    return n;
  }

  /** Adds a listener and sends it every matching object (once its informer has synced). */
  async add(l: Listener): Promise<void> {
    const key = `${l.target.group}/${l.target.version}/${l.target.resource}`;
    let shared = this.#byResource.get(key);
    if (!shared) {
      const collection = apiPath({ ...l.target, namespace: "", name: "" }, false);
      const kind = await this.#kindOf(collection);
      const informer = this.kube.informer<KubeObject>(collection, undefined, {
        name: `metaserver ${key}`,
        kind,
        apiVersion: l.target.group ? `${l.target.group}/${l.target.version}` : l.target.version,
      });
      const s: Shared = { informer, listeners: new Map() };
      shared = s;
      informer.on({
        add: (o) => this.#fanOut(s, Operation.Insert, o),
        update: (o) => this.#fanOut(s, Operation.Update, o),
        delete: (o) => this.#fanOut(s, Operation.Delete, o),
      });
      this.#byResource.set(key, s);
      informer.start();
    }
    const prev = this.#byNode.get(l.node)?.get(l.id);
    if (prev) return; // the same watch again
    // Before its first sync the informer adds every object, which reaches the new listener
    // too; after it, the listener gets the cached objects here.
    const synced = shared.informer.hasSynced();
    shared.listeners.set(`${l.node}\0${l.id}`, l);
    const mine = this.#byNode.get(l.node) ?? new Map<string, Listener>();
    mine.set(l.id, l);
    this.#byNode.set(l.node, mine);
    await shared.informer.synced;
    if (!synced) return;
    for (const o of shared.informer.list()) {
      if (this.#matches(l, o)) await this.#send(l, Operation.Insert, o);
    }
  }

  /** Removes a listener (an informer with no listeners left keeps running: watches come back). */
  remove(node: string, id: string): void {
    const l = this.#byNode.get(node)?.get(id);
    if (!l) return;
    this.#byNode.get(node)!.delete(id);
    const key = `${l.target.group}/${l.target.version}/${l.target.resource}`;
    this.#byResource.get(key)?.listeners.delete(`${node}\0${id}`);
  }

  /** Removes every listener of a node. */
  removeNode(node: string): void {
    for (const id of [...this.ofNode(node).keys()]) this.remove(node, id);
    this.#byNode.delete(node);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#byResource.values()].map((s) => s.informer.stop()));
    this.#byResource.clear();
    this.#byNode.clear();
  }

  async #kindOf(collection: string): Promise<string | undefined> {
    try {
      const list = await this.kube.get<KubeObject>(collection, { query: { limit: 1 } });
      return list.kind?.replace(/List$/, "");
    } catch {
      return undefined;
    }
  }

  #matches(l: Listener, o: KubeObject): boolean {
    if (l.target.namespace && o.metadata?.namespace !== l.target.namespace) return false;
    if (l.target.name && o.metadata?.name !== l.target.name) return false;
    return matchesSelectors(o, l.labelSelector, l.fieldSelector);
  }

  async #fanOut(s: Shared, op: string, o: KubeObject): Promise<void> {
    for (const l of s.listeners.values()) {
      if (this.#matches(l, o)) await this.#send(l, op, o);
    }
  }

  async #send(l: Listener, op: string, o: KubeObject): Promise<void> {
    const obj = await this.filter(l.node, o);
    const ns = obj.metadata?.namespace || "null";
    const resource = `node/${l.node}/${ns}/${resourceTypeOf(l.target.resource)}/${
      obj.metadata?.name ?? ""
    }`;
    const msg = buildMessage(
      { source: ModuleName.DynamicController, group: Group.Resource, operation: op, resource },
      obj,
      { resourceVersion: obj.metadata?.resourceVersion },
    );
    try {
      await this.bus.send(ModuleName.CloudHub, msg);
    } catch (e) {
      log.warn("watch event not sent", { node: l.node, resource, error: (e as Error).message });
    }
  }
}
