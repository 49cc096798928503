/**
 * Endpoints and EndpointSlices of Services with a selector (kube-controller-manager's endpoint
 * and endpointslice controllers): every pod the selector matches that has an IP and is not
 * finished is an address — ready ones in `addresses`, the others in `notReadyAddresses` (or ready
 * anyway with `publishNotReadyAddresses`) — with its node and a `targetRef`; ports follow the
 * Service's, named `targetPort`s resolved against each pod's container ports. One EndpointSlice
 * per Service (`kubernetes.io/service-name`, managed-by `endpointslice-controller.k8s.io`, owned
 * by the Service) carries the same endpoints with `ready`/`serving`/`terminating` conditions.
 * Endpoints of a deleted Service go with it; its slices go with the garbage collector.
 */
import type { Informer, KubeClient, KubeObject } from "../../kube/mod.ts";
import { createLogger, selectorMatches } from "../../lib/mod.ts";
import {
  isPodReady,
  isPodTerminal,
  keyOf,
  type Meta,
  ownerRefTo,
  type Pod,
  splitKey,
} from "./pods.ts";
import type { ClusterContext, ClusterController } from "./types.ts";
import { WorkQueue } from "./workqueue.ts";

const log = createLogger("endpoints-controller");

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
export const MANAGED_BY = "endpointslice-controller.k8s.io";

interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
  appProtocol?: string;
}

interface Service extends KubeObject {
  metadata: Meta;
  spec?: {
    selector?: Record<string, string>;
    ports?: ServicePort[];
    publishNotReadyAddresses?: boolean;
    clusterIP?: string;
  };
}

interface Address {
  ip: string;
  nodeName?: string;
  hostname?: string;
  targetRef: { kind: string; namespace: string; name: string; uid: string };
}

function containerPort(p: Pod, name: string, protocol: string): number | undefined {
  for (
    const c of (p.spec.containers ?? []) as {
      ports?: { name?: string; containerPort: number; protocol?: string }[];
    }[]
  ) {
    for (const port of c.ports ?? []) {
      if (port.name === name && (port.protocol ?? "TCP") === protocol) return port.containerPort;
    }
  }
  return undefined;
}

/** The pod's ports for the Service's ports (a named target port the pod lacks drops the pod). */
function portsFor(
  svc: Service,
  p: Pod,
): { name?: string; port: number; protocol: string; appProtocol?: string }[] | undefined {
  const out = [];
  for (const sp of svc.spec?.ports ?? []) {
    const protocol = sp.protocol ?? "TCP";
    const t = sp.targetPort ?? sp.port;
    const port = typeof t === "number"
      ? t
      : /^\d+$/.test(t)
      ? Number(t)
      : containerPort(p, t, protocol);
    if (port === undefined) return undefined;
    out.push({
      ...(sp.name ? { name: sp.name } : {}),
      port,
      protocol,
      ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}),
    });
  }
  return out;
}

/** See module docs. */
export class EndpointsController implements ClusterController {
  readonly name = "endpoints-controller";
  readonly #kube: KubeClient;
  readonly #services: Informer<Service>;
  readonly #pods: Informer<Pod>;
  readonly #queue: WorkQueue;

  constructor(readonly ctx: ClusterContext) {
    this.#kube = ctx.kube;
    this.#queue = new WorkQueue("endpoints", (key) => this.#sync(key));
    this.#services = ctx.kube.informer<Service>("/api/v1/services", undefined, {
      kind: "Service",
      apiVersion: "v1",
    });
    this.#pods = ctx.kube.informer<Pod>("/api/v1/pods", undefined, {
      kind: "Pod",
      apiVersion: "v1",
    });
    const onSvc = (s: Service) => this.#queue.add(keyOf(s));
    this.#services.on({ add: onSvc, update: onSvc, delete: onSvc });
    const onPod = (p: Pod, old?: Pod) => {
      for (const s of this.#services.list(p.metadata.namespace)) {
        const sel = s.spec?.selector;
        if (!sel || !Object.keys(sel).length) continue;
        const match = (x?: Pod) =>
          !!x && selectorMatches({ matchLabels: sel }, x.metadata.labels ?? {});
        if (match(p) || match(old)) this.#queue.add(keyOf(s));
      }
    };
    this.#pods.on({
      add: (p) => onPod(p),
      update: (p, old) => onPod(p, old),
      delete: (p) => onPod(p),
    });
  }

  async start(): Promise<void> {
    this.#services.start();
    this.#pods.start();
    await Promise.all([this.#services.synced, this.#pods.synced]);
    this.#queue.start();
  }

  async stop(): Promise<void> {
    await this.#queue.stop();
    await Promise.all([this.#services.stop(), this.#pods.stop()]);
  }

  async #sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const epPath = `/api/v1/namespaces/${encodeURIComponent(ns)}/endpoints/${
      encodeURIComponent(name)
    }`;
    const svc = this.#services.get(name, ns);
    if (!svc) {
      await this.#kube.delete(epPath).catch(() => {});
      return;
    }
    const sel = svc.spec?.selector;
    if (!sel || !Object.keys(sel).length) return; // manual endpoints: not ours
    const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
    const subsets = new Map<
      string,
      { addresses: Address[]; notReadyAddresses: Address[]; ports: unknown[] }
    >();
    const slice: Record<string, unknown>[] = [];
    let slicePorts: unknown[] = [];
    for (const p of this.#pods.list(ns)) {
      if (!selectorMatches({ matchLabels: sel }, p.metadata.labels ?? {})) continue;
      const ip = (p.status as { podIP?: string } | undefined)?.podIP;
      if (!ip || isPodTerminal(p)) continue;
      const terminating = !!p.metadata.deletionTimestamp;
      if (terminating && !publishNotReady) continue;
      const ports = portsFor(svc, p);
      if (!ports) continue;
      const addr: Address = {
        ip,
        ...(p.spec.nodeName ? { nodeName: p.spec.nodeName } : {}),
        targetRef: {
          kind: "Pod",
          namespace: ns,
          name: p.metadata.name ?? "",
          uid: p.metadata.uid ?? "",
        },
      };
      const ready = publishNotReady || isPodReady(p);
      const sig = JSON.stringify(ports);
      const subset = subsets.get(sig) ?? { addresses: [], notReadyAddresses: [], ports };
      subsets.set(sig, subset);
      (ready ? subset.addresses : subset.notReadyAddresses).push(addr);
      slicePorts = ports;
      slice.push({
        addresses: [ip],
        conditions: { ready: ready && !terminating, serving: isPodReady(p), terminating },
        ...(p.spec.nodeName ? { nodeName: p.spec.nodeName } : {}),
        targetRef: addr.targetRef,
      });
    }
    const byIp = (a: Address, b: Address) =>
      a.ip.localeCompare(b.ip) || a.targetRef.name.localeCompare(b.targetRef.name);
    const ep = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name, namespace: ns, labels: { ...(svc.metadata.labels ?? {}) } },
      subsets: [...subsets.values()].map((s) => ({
        ...(s.addresses.length ? { addresses: s.addresses.sort(byIp) } : {}),
        ...(s.notReadyAddresses.length
          ? { notReadyAddresses: s.notReadyAddresses.sort(byIp) }
          : {}),
        ports: s.ports,
      })),
    };
    await this.#write(epPath, ep);
    const slicePath = `/apis/discovery.k8s.io/v1/namespaces/${
      encodeURIComponent(ns)
    }/endpointslices`;
    await this.#write(`${slicePath}/${encodeURIComponent(name)}`, {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name,
        namespace: ns,
        labels: {
          ...(svc.metadata.labels ?? {}),
          [SERVICE_NAME_LABEL]: name,
          [MANAGED_BY_LABEL]: MANAGED_BY,
        },
        ownerReferences: [ownerRefTo(svc, "v1", "Service")],
      },
      addressType: "IPv4",
      endpoints: slice.sort((a, b) =>
        String((a.targetRef as Address["targetRef"]).name).localeCompare(
          String((b.targetRef as Address["targetRef"]).name),
        )
      ),
      ports: slicePorts,
    });
  }

  /** Creates or replaces an object, skipping writes that change nothing. */
  async #write(path: string, want: KubeObject & Record<string, unknown>): Promise<void> {
    try {
      const cur = await this.#kube.get<KubeObject & Record<string, unknown>>(path);
      const { metadata: _m, ...restWant } = want;
      const { metadata: m, ...restCur } = cur;
      const same = JSON.stringify({ ...restCur, apiVersion: want.apiVersion, kind: want.kind }) ===
          JSON.stringify({ ...restWant }) &&
        JSON.stringify(m?.labels ?? {}) === JSON.stringify(want.metadata?.labels ?? {});
      if (same) return;
      await this.#kube.update(path, {
        ...want,
        metadata: {
          ...m,
          labels: want.metadata?.labels,
          ownerReferences: want.metadata?.ownerReferences ?? m?.ownerReferences,
        },
      });
    } catch (e) {
      if ((e as { code?: number }).code !== 404) {
        log.debug("endpoints write failed", { path, error: (e as Error).message });
        throw e;
      }
      await this.#kube.create(path.slice(0, path.lastIndexOf("/")), want);
    }
  }
}

/** The factory CLUSTER_CONTROLLERS lists. */
export function endpointsController(ctx: ClusterContext): ClusterController {
  return new EndpointsController(ctx);
}
