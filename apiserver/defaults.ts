/**
 * Per-type defaulting, the part of each built-in type's registry strategy that clients notice:
 * namespaces get the `kubernetes` finalizer and phase Active, pods start Pending with the usual
 * spec defaults, services get a ClusterIP and port defaults, secrets fold `stringData` into `data`.
 */
import { setOwn } from "./own.ts";
import type { KObject, ResourceDef } from "./resources.ts";
import { encodeBase64 } from "../lib/mod.ts";
import { admitPodSpec, defaultPodSpec, podQosClass } from "./pod_defaults.ts";
import { isWorkload, prepareWorkloadCreate, prepareWorkloadUpdate } from "./workloads.ts";

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? v as Obj : {};
}

/** Context the defaulting needs from the server. */
export interface DefaultingContext {
  /** Picks an unused ClusterIP. */
  allocateClusterIP(): string;
  /** Picks an unused NodePort (30000-32767). */
  allocateNodePort(): number;
}

function foldStringData(o: KObject): void {
  if (o.stringData && typeof o.stringData === "object") {
    const data = obj(o.data);
    for (const [k, v] of Object.entries(o.stringData as Obj)) {
      setOwn(data, k, encodeBase64(new TextEncoder().encode(String(v))));
    }
    o.data = data;
    delete o.stringData;
  }
}

/** Applies create-time defaults in place. */
export function defaultOnCreate(def: ResourceDef, o: KObject, ctx: DefaultingContext): void {
  if (isWorkload(def)) return prepareWorkloadCreate(def, o);
  if (!def.builtin || def.group !== "") return;
  const meta = o.metadata!;
  switch (def.resource) {
    case "namespaces": {
      o.spec = { finalizers: ["kubernetes"], ...obj(o.spec) };
      o.status = { phase: "Active" };
      meta.labels = { ...(meta.labels ?? {}), "kubernetes.io/metadata.name": meta.name! };
      break;
    }
    case "pods": {
      const spec = obj(o.spec);
      defaultPodSpec(spec);
      admitPodSpec(spec);
      o.spec = spec;
      o.status = { phase: "Pending", qosClass: podQosClass(spec) };
      break;
    }
    case "services": {
      const spec = obj(o.spec);
      spec.type ??= "ClusterIP";
      spec.sessionAffinity ??= "None";
      if (spec.type !== "ExternalName") {
        if (spec.clusterIP === undefined || spec.clusterIP === "") {
          spec.clusterIP = ctx.allocateClusterIP();
        }
        spec.clusterIPs ??= [spec.clusterIP];
        spec.ipFamilies ??= ["IPv4"];
        spec.ipFamilyPolicy ??= "SingleStack";
        spec.internalTrafficPolicy ??= "Cluster";
      }
      if (Array.isArray(spec.ports)) {
        for (const p of spec.ports as Obj[]) {
          p.protocol ??= "TCP";
          p.targetPort ??= p.port;
          if ((spec.type === "NodePort" || spec.type === "LoadBalancer") && !p.nodePort) {
            p.nodePort = ctx.allocateNodePort();
          }
        }
      }
      o.spec = spec;
      o.status ??= { loadBalancer: {} };
      break;
    }
    case "secrets":
      o.type ??= "Opaque";
      foldStringData(o);
      break;
    case "persistentvolumeclaims":
      o.status = { phase: "Pending" };
      break;
    case "persistentvolumes":
      o.status = { phase: "Available" };
      break;
  }
}

/** Applies update-time normalization in place. */
export function defaultOnUpdate(def: ResourceDef, o: KObject): void {
  if (isWorkload(def)) return prepareWorkloadUpdate(def, o);
  if (!def.builtin || def.group !== "") return;
  if (def.resource === "secrets") foldStringData(o);
  if (def.resource === "pods" && o.spec && typeof o.spec === "object") defaultPodSpec(obj(o.spec));
}
