/**
 * Which pods back a Service and how, shared by the Endpoints and EndpointSlice controllers (what
 * upstream keeps in `pkg/controller/util/endpointslice` and `pkg/api/v1/pod`): the Service shape
 * they read, whether a Service gets endpoints from its selector at all, which pods are endpoints
 * (`ShouldPodBeInEndpoints`), the hostname rule (`ShouldSetHostname`), a Service port's target
 * port on a pod (`FindPort`, named ports included), pod IPs by family, and the headless label.
 */
import type { KubeObject } from "../../kube/mod.ts";
import { selectorMatches } from "../../lib/mod.ts";
import { isPodTerminal, type Meta, type Pod } from "./pods.ts";

/** `service.kubernetes.io/headless`, on the Endpoints and slices of a Service without a ClusterIP. */
export const HEADLESS_LABEL = "service.kubernetes.io/headless";

/** One `spec.ports` entry of a Service (after the API's defaulting: protocol is set). */
export interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
  appProtocol?: string;
}

/** The Service fields the endpoint controllers read. */
export interface Service extends KubeObject {
  metadata: Meta;
  spec?: {
    type?: string;
    selector?: Record<string, string>;
    ports?: ServicePort[];
    publishNotReadyAddresses?: boolean;
    clusterIP?: string;
    ipFamilies?: string[];
  };
}

/** A pod's IP fields. */
interface PodIPs {
  podIP?: string;
  podIPs?: { ip: string }[];
}

/**
 * The selector a Service's endpoints come from, or undefined when this controller leaves its
 * endpoints alone: ExternalName Services (issues.k8s.io/105986) and Services without a selector
 * (their endpoints are written by hand). An empty selector counts as none: the API stores it as
 * absent, as kube-apiserver's protobuf storage does.
 */
export function endpointSelector(svc: Service): Record<string, string> | undefined {
  if (svc.spec?.type === "ExternalName") return undefined;
  const sel = svc.spec?.selector;
  return sel && Object.keys(sel).length ? sel : undefined;
}

/** True when `svc` selects `p` (same namespace, labels match). */
export function selects(svc: Service, p: Pod | undefined): boolean {
  const sel = endpointSelector(svc);
  return !!sel && !!p && p.metadata.namespace === svc.metadata.namespace &&
    selectorMatches({ matchLabels: sel }, p.metadata.labels ?? {});
}

/** `helper.IsServiceIPSet`: false for headless Services. */
export function hasClusterIP(svc: Service): boolean {
  const ip = svc.spec?.clusterIP ?? "";
  return ip !== "" && ip !== "None";
}

/** The pod's IPs (`status.podIPs`, else `status.podIP`, as the API's conversion fills them). */
export function podIPs(p: Pod): string[] {
  const s = (p.status ?? {}) as PodIPs;
  if (Array.isArray(s.podIPs) && s.podIPs.length) {
    return s.podIPs.map((x) => x.ip).filter((ip) => typeof ip === "string" && ip !== "");
  }
  return s.podIP ? [s.podIP] : [];
}

/** True for an IPv6 address (`utilnet.IsIPv6String`, enough for addresses the API accepted). */
export function isIPv6(ip: string): boolean {
  return ip.includes(":");
}

/**
 * `ShouldPodBeInEndpoints`: not Succeeded/Failed, has an IP, and not being deleted unless
 * `includeTerminating`.
 */
export function shouldPodBeInEndpoints(p: Pod, includeTerminating: boolean): boolean {
  if (isPodTerminal(p)) return false;
  if (!podIPs(p).length) return false;
  return includeTerminating || !p.metadata.deletionTimestamp;
}

/** `ShouldSetHostname`: the pod has a hostname and its subdomain is the Service's name. */
export function shouldSetHostname(p: Pod, svc: Service): boolean {
  const spec = p.spec as { hostname?: string; subdomain?: string };
  return !!spec.hostname && spec.subdomain === svc.metadata.name &&
    p.metadata.namespace === svc.metadata.namespace;
}

interface ContainerPorts {
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  restartPolicy?: string;
}

/**
 * `podutil.FindPort`: a numeric target port as is; a named one from the pod's containers (and
 * sidecars: init containers with `restartPolicy: Always`) with the same name and protocol; else
 * undefined. A missing target port is the Service port (the API defaults it so).
 */
export function findPort(p: Pod, sp: ServicePort): number | undefined {
  const t = sp.targetPort ?? sp.port;
  if (typeof t === "number") return t;
  const protocol = sp.protocol ?? "TCP";
  const spec = p.spec as { containers?: ContainerPorts[]; initContainers?: ContainerPorts[] };
  const sidecars = (spec.initContainers ?? []).filter((c) => c.restartPolicy === "Always");
  for (const c of [...(spec.containers ?? []), ...sidecars]) {
    for (const port of c.ports ?? []) {
      if (port.name === t && (port.protocol ?? "TCP") === protocol) return port.containerPort;
    }
  }
  return undefined;
}

/** An ObjectReference to the pod, as endpoints carry it. */
export function podRef(p: Pod): { kind: string; namespace: string; name: string; uid: string } {
  return {
    kind: "Pod",
    namespace: p.metadata.namespace ?? "",
    name: p.metadata.name ?? "",
    uid: p.metadata.uid ?? "",
  };
}
