/**
 * What cloudcore's DynamicController changes in objects before an edge sees them (its
 * `filter/` package), applied to get, list and watch answers:
 *
 * - NodeGroup service topology: for a Service annotated `apps.kubeedge.io/service-topology:
 *   range-nodegroup`, its Endpoints and EndpointSlices keep only the endpoints on nodes in the
 *   edge's node group (label `apps.kubeedge.io/belonging-to`), so traffic stays in the group;
 * - the `default/kubernetes` EndpointSlice points at the edge's own MetaServer
 *   (`127.0.0.1:10550`, one address, the `https` port), so in-cluster clients on the edge reach it.
 */
import type { KubeClient, KubeObject } from "../../kube/mod.ts";

/** The node-group label and the Service annotation (KubeEdge's nodegroup controller). */
export const BELONGING_TO = "apps.kubeedge.io/belonging-to";
export const SERVICE_TOPOLOGY = "apps.kubeedge.io/service-topology";
export const RANGE_NODEGROUP = "range-nodegroup";
/** Where edgecore's MetaServer listens. */
export const METASERVER = { ip: "127.0.0.1", port: 10550 };

const TTL_MS = 5_000;

interface Endpoint {
  nodeName?: string;
  addresses?: string[];
}
interface Address {
  nodeName?: string;
}

/** See module docs. */
export class EndpointFilters {
  readonly #cache = new Map<string, { at: number; value: Promise<KubeObject | undefined> }>();

  constructor(readonly kube: KubeClient) {}

  #get(path: string): Promise<KubeObject | undefined> {
    const hit = this.#cache.get(path);
    if (hit && Date.now() - hit.at < TTL_MS) return hit.value;
    const value = this.kube.get<KubeObject>(path).catch(() => undefined);
    this.#cache.set(path, { at: Date.now(), value });
    if (this.#cache.size > 10_000) this.#cache.clear();
    return value;
  }

  async #sameGroup(node: string, other: string | undefined): Promise<boolean> {
    if (!other) return false;
    if (other === node) return true;
    const [a, b] = await Promise.all([
      this.#get(`/api/v1/nodes/${encodeURIComponent(node)}`),
      this.#get(`/api/v1/nodes/${encodeURIComponent(other)}`),
    ]);
    if (!a || !b) return false;
    return (a.metadata?.labels?.[BELONGING_TO] ?? "") ===
      (b.metadata?.labels?.[BELONGING_TO] ?? "");
  }

  async #topologyOn(ns: string, service: string | undefined): Promise<boolean> {
    if (!service) return false;
    const svc = await this.#get(
      `/api/v1/namespaces/${encodeURIComponent(ns)}/services/${encodeURIComponent(service)}`,
    );
    return svc?.metadata?.annotations?.[SERVICE_TOPOLOGY] === RANGE_NODEGROUP;
  }

  /** Returns the object as `node` should see it (a copy when changed). */
  async apply(node: string, o: KubeObject): Promise<KubeObject> {
    const ns = o.metadata?.namespace ?? "";
    if (o.kind === "EndpointSlice") {
      if (ns === "default" && o.metadata?.name === "kubernetes") return defaultMaster(o);
      const svc = o.metadata?.labels?.["kubernetes.io/service-name"];
      if (!(await this.#topologyOn(ns, svc))) return o;
      const eps = (o as { endpoints?: Endpoint[] }).endpoints ?? [];
      const kept: Endpoint[] = [];
      for (const ep of eps) if (await this.#sameGroup(node, ep.nodeName)) kept.push(ep);
      return { ...o, endpoints: kept };
    }
    if (o.kind === "Endpoints") {
      if (!(await this.#topologyOn(ns, o.metadata?.name))) return o;
      const subsets =
        (o as { subsets?: { addresses?: Address[]; notReadyAddresses?: Address[] }[] })
          .subsets ?? [];
      const keep = async (list: Address[] | undefined) => {
        const out: Address[] = [];
        for (const a of list ?? []) if (await this.#sameGroup(node, a.nodeName)) out.push(a);
        return out;
      };
      const next = [];
      for (const s of subsets) {
        next.push({
          ...s,
          addresses: await keep(s.addresses),
          notReadyAddresses: await keep(s.notReadyAddresses),
        });
      }
      return { ...o, subsets: next };
    }
    return o;
  }

  /** `apply` on every item of a list. */
  async applyList(node: string, list: KubeObject & { items?: KubeObject[] }): Promise<KubeObject> {
    if (!Array.isArray(list.items)) return list;
    const kind = list.kind?.replace(/List$/, "");
    const items = [];
    for (const i of list.items) items.push(await this.apply(node, { kind, ...i }));
    return {
      ...list,
      items: items.map(({ kind: _k, ...rest }, n) =>
        list.items![n].kind ? { kind: _k, ...rest } : rest
      ),
    };
  }
}

function defaultMaster(o: KubeObject): KubeObject {
  const s = o as KubeObject & {
    endpoints?: Endpoint[];
    ports?: { name?: string; port?: number }[];
  };
  if (!s.endpoints?.length) return o;
  const first = { ...s.endpoints[0] };
  if (first.addresses?.length) first.addresses = [METASERVER.ip];
  return {
    ...s,
    endpoints: [first],
    ports: (s.ports ?? []).map((p) => p.name === "https" ? { ...p, port: METASERVER.port } : p),
  };
}
