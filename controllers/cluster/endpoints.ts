/**
 * Endpoints of Services with a selector (kube-controller-manager's endpoint controller,
 * `pkg/controller/endpoint`): every selected pod that has an IP of the Service's family and is
 * not finished (nor being deleted, unless `publishNotReadyAddresses`) is an address with its
 * node, `targetRef` and (`spec.hostname` with `spec.subdomain` = the Service) hostname — ready
 * pods in `addresses`, the others in `notReadyAddresses`, all in `addresses` with
 * `publishNotReadyAddresses`. Each Service port is resolved per pod (named `targetPort`s from the
 * pod's container ports; a pod without that port is left out of that port only), and the
 * addresses are repacked into subsets of addresses sharing the same ports (`RepackSubsets`).
 * Labels are the Service's, plus `service.kubernetes.io/headless` for headless Services; above
 * 1000 addresses the list is truncated and annotated `endpoints.kubernetes.io/over-capacity`.
 * Endpoints of a deleted Service are deleted; Services without a selector keep theirs untouched.
 */
import type { Informer, KubeClient, KubeObject } from "../../kube/mod.ts";
import { createLogger, jsonEqual } from "../../lib/mod.ts";
import { isPodReady, keyOf, type Meta, type Pod, splitKey } from "./pods.ts";
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
  type ServicePort,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from "./service_backends.ts";
import type { ClusterContext, ClusterController } from "./types.ts";
import { WorkQueue } from "./workqueue.ts";
import { podInformer, serviceInformer } from "./core_informers.ts";

const log = createLogger("endpoints-controller");

/** The endpoint controller's cap on addresses per Endpoints object (`maxCapacity`). */
export const MAX_ENDPOINTS_CAPACITY = 1000;
/** `v1.EndpointsOverCapacity`. */
export const OVER_CAPACITY_ANNOTATION = "endpoints.kubernetes.io/over-capacity";

/** An `EndpointAddress`. */
export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef: { kind: string; namespace: string; name: string; uid: string };
}

/** An `EndpointPort`. */
export interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

/** An `EndpointSubset`. */
export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

/** An `Endpoints` object. */
export interface Endpoints extends KubeObject {
  metadata: Meta;
  subsets?: EndpointSubset[];
}

/** `podToEndpointAddressForService`: the pod's address in the Service's IP family, if it has one. */
function addressFor(svc: Service, p: Pod): EndpointAddress | undefined {
  const ips = podIPs(p);
  let v6: boolean;
  if (svc.spec?.ipFamilies?.length) v6 = svc.spec.ipFamilies[0] === "IPv6";
  else if (hasClusterIP(svc)) v6 = isIPv6(svc.spec!.clusterIP!);
  else v6 = isIPv6(ips[0] ?? "");
  const ip = ips.find((x) => isIPv6(x) === v6);
  if (!ip) return undefined;
  return {
    ip,
    ...(shouldSetHostname(p, svc) ? { hostname: (p.spec as { hostname: string }).hostname } : {}),
    ...(p.spec.nodeName ? { nodeName: p.spec.nodeName } : {}),
    targetRef: podRef(p),
  };
}

function endpointPort(sp: ServicePort, port: number): EndpointPort {
  return {
    ...(sp.name ? { name: sp.name } : {}),
    port,
    protocol: sp.protocol ?? "TCP",
    ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}),
  };
}

/** `LessEndpointAddress`: by IP (bytewise), then target uid. */
function byAddress(a: EndpointAddress, b: EndpointAddress): number {
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  const ua = a.targetRef.uid, ub = b.targetRef.uid;
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One address offering one port (or no port: headless Services without ports). */
interface AddressPort {
  addr: EndpointAddress;
  port: EndpointPort | undefined;
  ready: boolean;
}

/**
 * `RepackSubsets`: addresses grouped by the set of ports they offer, an address not ready on a
 * port is not ready there. Upstream orders ports and subsets by a hash of Go's printout of them;
 * here they are ordered by their JSON, which is as stable.
 */
export function repackSubsets(items: AddressPort[]): EndpointSubset[] {
  const byPort = new Map<
    string,
    { port?: EndpointPort; addrs: Map<string, { addr: EndpointAddress; ready: boolean }> }
  >();
  for (const { addr, port, ready } of items) {
    const pk = port ? JSON.stringify(port) : "";
    let e = byPort.get(pk);
    if (!e) byPort.set(pk, e = { port, addrs: new Map() });
    const ak = JSON.stringify([addr.ip, addr.targetRef.uid]);
    const prev = e.addrs.get(ak);
    // Not ready trumps ready.
    e.addrs.set(ak, { addr: prev?.addr ?? addr, ready: (prev?.ready ?? true) && ready });
  }
  const bySet = new Map<
    string,
    { addrs: { addr: EndpointAddress; ready: boolean }[]; ports: EndpointPort[] }
  >();
  for (const { port, addrs } of byPort.values()) {
    const list = [...addrs.values()].sort((a, b) => byAddress(a.addr, b.addr));
    const sk = JSON.stringify(list.map((x) => [x.addr.ip, x.addr.targetRef.uid, x.ready]));
    let e = bySet.get(sk);
    if (!e) bySet.set(sk, e = { addrs: list, ports: [] });
    if (port) e.ports.push(port);
  }
  const subsets: EndpointSubset[] = [];
  for (const { addrs, ports } of bySet.values()) {
    const ready = addrs.filter((x) => x.ready).map((x) => x.addr);
    const notReady = addrs.filter((x) => !x.ready).map((x) => x.addr);
    ports.sort((a, b) => compareText(JSON.stringify(a), JSON.stringify(b)));
    subsets.push({
      ...(ready.length ? { addresses: ready } : {}),
      ...(notReady.length ? { notReadyAddresses: notReady } : {}),
      ...(ports.length ? { ports } : {}),
    });
  }
  return subsets.sort((a, b) => compareText(JSON.stringify(a), JSON.stringify(b)));
}

/**
 * `truncateEndpoints`: above {@link MAX_ENDPOINTS_CAPACITY} addresses, not-ready ones are cut
 * first, each subset keeping its share (rounded up) of what fits. True when it cut.
 */
export function truncateSubsets(subsets: EndpointSubset[]): boolean {
  let totalReady = 0, totalNotReady = 0;
  for (const s of subsets) {
    totalReady += s.addresses?.length ?? 0;
    totalNotReady += s.notReadyAddresses?.length ?? 0;
  }
  if (totalReady + totalNotReady <= MAX_ENDPOINTS_CAPACITY) return false;
  const truncateReady = totalReady > MAX_ENDPOINTS_CAPACITY;
  const max = truncateReady ? MAX_ENDPOINTS_CAPACITY : MAX_ENDPOINTS_CAPACITY - totalReady;
  const total = truncateReady ? totalReady : totalNotReady;
  let canBeAdded = max;
  for (const s of subsets) {
    const n = (truncateReady ? s.addresses : s.notReadyAddresses)?.length ?? 0;
    const toBeAdded = Math.min(Math.ceil((n / total) * max), canBeAdded);
    if (truncateReady) {
      s.addresses = s.addresses?.slice(0, toBeAdded);
      delete s.notReadyAddresses;
      canBeAdded -= s.addresses?.length ?? 0;
    } else {
      s.notReadyAddresses = s.notReadyAddresses?.slice(0, toBeAdded);
      canBeAdded -= s.notReadyAddresses?.length ?? 0;
    }
    if (!s.addresses?.length) delete s.addresses;
    if (!s.notReadyAddresses?.length) delete s.notReadyAddresses;
  }
  return true;
}

/** The subsets of `svc` from `pods` (the controller's `syncService` without the write). */
export function subsetsFor(svc: Service, pods: Pod[]): EndpointSubset[] {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const ports = svc.spec?.ports ?? [];
  const items: AddressPort[] = [];
  for (const p of pods) {
    if (!selects(svc, p) || !shouldPodBeInEndpoints(p, publishNotReady)) continue;
    const addr = addressFor(svc, p);
    if (!addr) continue;
    const ready = publishNotReady || isPodReady(p);
    if (!ports.length) {
      // Headless Services may have no ports; other Services without ports get no endpoints.
      if (svc.spec?.clusterIP === "None") items.push({ addr, port: undefined, ready });
      continue;
    }
    for (const sp of ports) {
      const n = findPort(p, sp);
      if (n !== undefined) items.push({ addr, port: endpointPort(sp, n), ready });
    }
  }
  return repackSubsets(items);
}

/** See module docs. */
export class EndpointsController implements ClusterController {
  readonly name = "endpoints-controller";
  readonly #kube: KubeClient;
  readonly #services: Informer<Service>;
  readonly #pods: Informer<Pod>;
  readonly #endpoints: Informer<Endpoints>;
  readonly #queue: WorkQueue;

  constructor(readonly ctx: ClusterContext) {
    this.#kube = ctx.kube;
    this.#queue = new WorkQueue("endpoints", (key) => this.#sync(key));
    this.#services = serviceInformer(ctx.kube);
    this.#pods = podInformer(ctx.kube);
    this.#endpoints = ctx.kube.informer<Endpoints>("/api/v1/endpoints", undefined, {
      kind: "Endpoints",
      apiVersion: "v1",
    });
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
    // Endpoints deleted behind the controller's back come back (upstream's onEndpointsDelete).
    this.#endpoints.on({ delete: (e) => this.#queue.add(keyOf(e)) });
  }

  async start(): Promise<void> {
    this.#services.start();
    this.#pods.start();
    this.#endpoints.start();
    await Promise.all([this.#services.synced, this.#pods.synced, this.#endpoints.synced]);
    this.#queue.start();
  }

  async stop(): Promise<void> {
    await this.#queue.stop();
    await Promise.all([this.#services.stop(), this.#pods.stop(), this.#endpoints.stop()]);
  }

  async #sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const base = `/api/v1/namespaces/${encodeURIComponent(ns)}/endpoints`;
    const path = `${base}/${encodeURIComponent(name)}`;
    const svc = this.#services.get(name, ns);
    if (!svc) {
      await this.#kube.delete(path).catch((e) => {
        if ((e as { code?: number }).code !== 404) throw e;
      });
      return;
    }
    if (!endpointSelector(svc)) return;
    const subsets = subsetsFor(svc, this.#pods.list(ns));
    const truncated = truncateSubsets(subsets);
    const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
    // Read from the API, not a cache: a stale cache would make this write conflict or repeat.
    const cur = await this.#kube.get<Endpoints>(path).catch((e) => {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    });
    if (cur) {
      const { [HEADLESS_LABEL]: _h, ...curLabels } = cur.metadata.labels ?? {};
      const capacityOk = !truncated &&
        !Object.hasOwn(cur.metadata.annotations ?? {}, OVER_CAPACITY_ANNOTATION);
      if (
        // Structural equality, not JSON text: the stored key order is the API's.
        jsonEqual(cur.subsets ?? [], subsets) && jsonEqual(curLabels, labels) &&
        capacityOk &&
        Object.hasOwn(cur.metadata.labels ?? {}, HEADLESS_LABEL) === !hasClusterIP(svc)
      ) return;
    }
    if (!hasClusterIP(svc)) labels[HEADLESS_LABEL] = "";
    const annotations: Record<string, string> = { ...(cur?.metadata.annotations ?? {}) };
    if (truncated) annotations[OVER_CAPACITY_ANNOTATION] = "truncated";
    else delete annotations[OVER_CAPACITY_ANNOTATION];
    const metadata: Meta = {
      ...(cur?.metadata ?? { name, namespace: ns }),
      labels,
      ...(Object.keys(annotations).length ? { annotations } : {}),
    };
    if (!Object.keys(annotations).length) delete metadata.annotations;
    const want: Endpoints = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata,
      ...(subsets.length ? { subsets } : {}),
    };
    log.debug("writing endpoints", { service: key, subsets: subsets.length });
    if (cur) await this.#kube.update(path, want);
    else await this.#kube.create(base, want);
  }
}

/** The factory CLUSTER_CONTROLLERS lists. */
export function endpointsController(ctx: ClusterContext): ClusterController {
  return new EndpointsController(ctx);
}
