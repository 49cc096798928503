/**
 * `discovery.k8s.io/v1` EndpointSlices of Services with a selector (kube-controller-manager's
 * endpointslice controller and its reconciler, `k8s.io/endpointslice`):
 *
 * - one set of slices per address type the Service has (`spec.ipFamilies`), each endpoint the
 *   pod's addresses of that type;
 * - every selected pod with an IP that is not finished is an endpoint — terminating ones too —
 *   with `conditions` `serving` (pod Ready), `terminating` (being deleted) and `ready` (serving
 *   and not terminating, or always with `publishNotReadyAddresses`), its `nodeName`, the node's
 *   `topology.kubernetes.io/zone`, `targetRef` and hostname (as for Endpoints); a pod on a node
 *   the API does not know is left out until the node appears, unless `publishNotReadyAddresses`;
 * - pods are grouped by the ports they offer (named target ports resolved per pod); each group
 *   fills slices of at most 100 endpoints (`--max-endpoints-per-slice`), named `<service>-<5
 *   random>` (`generateName`), labeled `kubernetes.io/service-name` and
 *   `endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io` (plus the Service's
 *   labels and `service.kubernetes.io/headless`), owned by the Service (controller reference), so
 *   the garbage collector deletes them with it;
 * - a Service with no endpoints keeps one placeholder slice without ports or endpoints.
 *
 * Upstream also minimises churn by filling partly-empty slices and tracks the slices it wrote to
 * spot a stale cache; here each sync lists the Service's slices from the API (in process, cheap)
 * and rewrites only slices whose content changed, which gives the same objects for the sizes an
 * edge cluster has.
 */
import type { Informer, KubeClient, KubeObject } from "../../kube/mod.ts";
import { createLogger, jsonEqual } from "../../lib/mod.ts";
import {
  isPodReady,
  keyOf,
  type Meta,
  type Node,
  type OwnerRef,
  ownerRefTo,
  type Pod,
  splitKey,
} from "./pods.ts";
import {
  endpointSelector,
  findPort,
  hasClusterIP,
  HEADLESS_LABEL,
  isIPv6,
  podIPs,
  podRef,
  selects,
  type Service,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from "./service_backends.ts";
import type { ClusterContext, ClusterController } from "./types.ts";
import { WorkQueue } from "./workqueue.ts";
import { nodeInformer, podInformer, serviceInformer } from "./core_informers.ts";

const log = createLogger("endpointslice-controller");

/** `discovery.LabelServiceName`. */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
/** `discovery.LabelManagedBy`. */
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
/** The controller's name in {@link MANAGED_BY_LABEL}. */
export const MANAGED_BY = "endpointslice-controller.k8s.io";
/** kube-controller-manager's default `--max-endpoints-per-slice`. */
export const MAX_ENDPOINTS_PER_SLICE = 100;
/** `v1.LabelTopologyZone`. */
const ZONE_LABEL = "topology.kubernetes.io/zone";

type AddressType = "IPv4" | "IPv6";

/** A discovery/v1 `EndpointPort`. */
export interface SlicePort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

/** A discovery/v1 `Endpoint`. */
export interface SliceEndpoint {
  addresses: string[];
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  hostname?: string;
  targetRef: { kind: string; namespace: string; name: string; uid: string };
  nodeName?: string;
  zone?: string;
}

/** An `EndpointSlice`. */
export interface EndpointSlice extends KubeObject {
  metadata: Meta;
  addressType: string;
  endpoints?: SliceEndpoint[] | null;
  ports?: SlicePort[] | null;
}

/** `getAddressTypesForService`. */
function addressTypes(svc: Service): AddressType[] {
  const fams = svc.spec?.ipFamilies ?? [];
  const out = (["IPv4", "IPv6"] as const).filter((f) => fams.includes(f));
  if (out.length) return out;
  if (hasClusterIP(svc)) return [isIPv6(svc.spec!.clusterIP!) ? "IPv6" : "IPv4"];
  return ["IPv4", "IPv6"]; // headless without families: both, as upstream assumes
}

/** `getEndpointPorts`: every Service port the pod offers (headless without ports: none). */
function portsFor(svc: Service, p: Pod): SlicePort[] {
  const out: SlicePort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = findPort(p, sp);
    if (port === undefined) continue;
    out.push({
      name: sp.name ?? "",
      port,
      protocol: sp.protocol ?? "TCP",
      ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}),
    });
  }
  return out;
}

/** `podToEndpoint`. */
function endpointOf(svc: Service, p: Pod, node: Node | undefined, t: AddressType): SliceEndpoint {
  const serving = isPodReady(p);
  const terminating = !!p.metadata.deletionTimestamp;
  const zone = node?.metadata.labels?.[ZONE_LABEL];
  return {
    addresses: podIPs(p).filter((ip) => isIPv6(ip) === (t === "IPv6")),
    conditions: {
      // Never ready while terminating, unless the Service publishes not-ready addresses.
      ready: svc.spec?.publishNotReadyAddresses === true || (serving && !terminating),
      serving,
      terminating,
    },
    ...(shouldSetHostname(p, svc) ? { hostname: (p.spec as { hostname: string }).hostname } : {}),
    targetRef: podRef(p),
    ...(p.spec.nodeName ? { nodeName: p.spec.nodeName } : {}),
    ...(zone ? { zone } : {}),
  };
}

/** `setEndpointSliceLabels`: the Service's labels (reserved keys aside) and the slice's own. */
function sliceLabels(svc: Service): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata.labels ?? {})) {
    if (k !== SERVICE_NAME_LABEL && k !== MANAGED_BY_LABEL) out[k] = v;
  }
  if (!hasClusterIP(svc)) out[HEADLESS_LABEL] = "";
  else delete out[HEADLESS_LABEL];
  out[SERVICE_NAME_LABEL] = svc.metadata.name ?? "";
  out[MANAGED_BY_LABEL] = MANAGED_BY;
  return out;
}

function ownedBy(s: EndpointSlice, svc: Service): boolean {
  return (s.metadata.ownerReferences ?? []).some((r) =>
    r.controller === true && r.kind === "Service" && r.uid === svc.metadata.uid
  );
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The slices a Service should have: one entry per slice, without names. */
export interface DesiredSlice {
  addressType: AddressType;
  ports: SlicePort[];
  endpoints: SliceEndpoint[];
}

/**
 * The slices of `svc` for `pods` (the reconciler's desired state): per address type and port
 * set, endpoints in chunks of {@link MAX_ENDPOINTS_PER_SLICE}, or one placeholder when an address
 * type has none. `missingNodes` lists pods left out because their node is unknown.
 */
export function desiredSlices(
  svc: Service,
  pods: Pod[],
  nodeOf: (name: string) => Node | undefined,
): { slices: DesiredSlice[]; missingNodes: string[] } {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const slices: DesiredSlice[] = [];
  const missingNodes = new Set<string>();
  for (const t of addressTypes(svc)) {
    const byPorts = new Map<string, { ports: SlicePort[]; endpoints: SliceEndpoint[] }>();
    for (const p of pods) {
      if (!selects(svc, p) || !shouldPodBeInEndpoints(p, true)) continue;
      const ports = portsFor(svc, p);
      const pk = JSON.stringify(ports);
      let group = byPorts.get(pk);
      if (!group) byPorts.set(pk, group = { ports, endpoints: [] });
      const node = nodeOf(p.spec.nodeName ?? "");
      if (!node && !publishNotReady) {
        missingNodes.add(p.metadata.name ?? "");
        continue;
      }
      const ep = endpointOf(svc, p, node, t);
      if (ep.addresses.length) group.endpoints.push(ep);
    }
    const before = slices.length;
    for (const pk of [...byPorts.keys()].sort(compareText)) {
      const { ports, endpoints } = byPorts.get(pk)!;
      endpoints.sort((a, b) =>
        compareText(a.addresses[0], b.addresses[0]) ||
        compareText(a.targetRef.name, b.targetRef.name)
      );
      for (let i = 0; i < endpoints.length; i += MAX_ENDPOINTS_PER_SLICE) {
        slices.push({
          addressType: t,
          ports,
          endpoints: endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE),
        });
      }
    }
    if (slices.length === before) slices.push({ addressType: t, ports: [], endpoints: [] });
  }
  return { slices, missingNodes: [...missingNodes] };
}

/** The slice's content as compared: empty lists and null are the same (the API drops neither). */
function contentOf(s: { addressType: string; ports?: unknown; endpoints?: unknown }): unknown {
  const list = (v: unknown) => Array.isArray(v) && v.length ? v : [];
  return { addressType: s.addressType, ports: list(s.ports), endpoints: list(s.endpoints) };
}

/** See module docs. */
export class EndpointSliceController implements ClusterController {
  readonly name = "endpointslice-controller";
  readonly #kube: KubeClient;
  readonly #services: Informer<Service>;
  readonly #pods: Informer<Pod>;
  readonly #nodes: Informer<Node>;
  readonly #slices: Informer<EndpointSlice>;
  readonly #queue: WorkQueue;

  constructor(readonly ctx: ClusterContext) {
    this.#kube = ctx.kube;
    this.#queue = new WorkQueue("endpointslices", (key) => this.#sync(key));
    this.#services = serviceInformer(ctx.kube);
    this.#pods = podInformer(ctx.kube);
    this.#nodes = nodeInformer(ctx.kube);
    this.#slices = ctx.kube.informer<EndpointSlice>(
      "/apis/discovery.k8s.io/v1/endpointslices",
      undefined,
      { kind: "EndpointSlice", apiVersion: "discovery.k8s.io/v1" },
    );
    const onSvc = (s: Service) => this.#queue.add(keyOf(s));
    this.#services.on({ add: onSvc, update: onSvc, delete: onSvc });
    const onPod = (p: Pod, old?: Pod) => {
      for (const s of this.#services.list(p.metadata.namespace)) {
        if (selects(s, p) || selects(s, old)) this.#queue.add(keyOf(s));
      }
    };
    this.#pods.on({
      add: (p) => onPod(p),
      update: (p, old) => onPod(p, old),
      delete: (p) => onPod(p),
    });
    // A node that appears may let pods on it in.
    this.#nodes.on({
      add: (n) => {
        for (const p of this.#pods.list()) if (p.spec.nodeName === n.metadata.name) onPod(p);
      },
    });
    // Slices changed or deleted by someone else are put back (upstream's onEndpointSlice*).
    const onSlice = (s: EndpointSlice) => {
      const labels = s.metadata.labels ?? {};
      const svc = labels[SERVICE_NAME_LABEL];
      if (svc && labels[MANAGED_BY_LABEL] === MANAGED_BY) {
        this.#queue.add(`${s.metadata.namespace ?? ""}/${svc}`);
      }
    };
    this.#slices.on({ update: onSlice, delete: onSlice });
  }

  async start(): Promise<void> {
    for (const i of [this.#services, this.#pods, this.#nodes, this.#slices]) i.start();
    await Promise.all(
      [this.#services, this.#pods, this.#nodes, this.#slices].map((i) => i.synced),
    );
    this.#queue.start();
  }

  async stop(): Promise<void> {
    await this.#queue.stop();
    await Promise.all(
      [this.#services, this.#pods, this.#nodes, this.#slices].map((i) => i.stop()),
    );
  }

  async #sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const svc = this.#services.get(name, ns);
    // A deleted Service's slices go with the garbage collector (owner references).
    if (!svc || !endpointSelector(svc)) return;
    const base = `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/endpointslices`;
    // From the API, not the informer: a slice this controller just created must be seen.
    const existing = (await this.#kube.get<KubeObject & { items?: EndpointSlice[] }>(base, {
      query: { labelSelector: `${SERVICE_NAME_LABEL}=${name},${MANAGED_BY_LABEL}=${MANAGED_BY}` },
    })).items?.filter((s) => !s.metadata.deletionTimestamp) ?? [];
    const { slices: want, missingNodes } = desiredSlices(
      svc,
      this.#pods.list(ns),
      (n) => this.#nodes.get(n),
    );
    const labels = sliceLabels(svc);
    const owner: OwnerRef = ownerRefTo(svc, "v1", "Service");
    const reusable = existing.filter((s) => ownedBy(s, svc));
    const toDelete = existing.filter((s) => !ownedBy(s, svc));
    const toCreate: DesiredSlice[] = [];
    const toUpdate: EndpointSlice[] = [];
    // Keep an existing slice of identical content first, then reuse others of the same type.
    const pending = [...want];
    for (let i = pending.length - 1; i >= 0; i--) {
      const j = reusable.findIndex((s) => jsonEqual(contentOf(s), contentOf(pending[i])));
      if (j < 0) continue;
      const [s] = reusable.splice(j, 1);
      if (!jsonEqual(s.metadata.labels ?? {}, labels)) {
        toUpdate.push({ ...s, metadata: { ...s.metadata, labels } });
      }
      pending.splice(i, 1);
    }
    for (const d of pending) {
      const j = reusable.findIndex((s) => s.addressType === d.addressType);
      if (j < 0) {
        toCreate.push(d);
        continue;
      }
      const [s] = reusable.splice(j, 1);
      toUpdate.push({
        ...s,
        metadata: { ...s.metadata, labels },
        ports: d.ports,
        endpoints: d.endpoints,
      });
    }
    toDelete.push(...reusable);
    for (const d of toCreate) {
      await this.#kube.create(base, {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { generateName: `${name}-`, namespace: ns, labels, ownerReferences: [owner] },
        addressType: d.addressType,
        endpoints: d.endpoints,
        ports: d.ports,
      });
    }
    for (const s of toUpdate) {
      await this.#kube.update(`${base}/${encodeURIComponent(s.metadata.name ?? "")}`, s);
    }
    for (const s of toDelete) {
      await this.#kube.delete(`${base}/${encodeURIComponent(s.metadata.name ?? "")}`).catch(
        (e) => {
          if ((e as { code?: number }).code !== 404) throw e;
        },
      );
    }
    if (toCreate.length || toUpdate.length || toDelete.length) {
      log.debug("endpoint slices written", {
        service: key,
        created: toCreate.length,
        updated: toUpdate.length,
        deleted: toDelete.length,
      });
    }
    if (missingNodes.length) {
      // Upstream retries the Service a few times; here the node's arrival requeues it.
      log.debug("pods on unknown nodes left out", { service: key, pods: missingNodes });
    }
  }
}

/** The factory CLUSTER_CONTROLLERS lists. */
export function endpointSliceController(ctx: ClusterContext): ClusterController {
  return new EndpointSliceController(ctx);
}
