/**
 * Object helpers shared by upstream and downstream: TypeMeta (`SetMetaType`), deep equality,
 * API paths, RFC 3339 seconds, and Go-style case-insensitive field lookup for tag-less structs.
 */
import type { KubeObject } from "../../kube/mod.ts";
import { jsonEqual } from "../../lib/mod.ts";

/** TypeMeta per edge resource type (`pkg/metaserver/util.SetMetaType`). */
export const TYPE_META: Record<string, { kind: string; apiVersion: string }> = {
  pod: { kind: "Pod", apiVersion: "v1" },
  node: { kind: "Node", apiVersion: "v1" },
  configmap: { kind: "ConfigMap", apiVersion: "v1" },
  secret: { kind: "Secret", apiVersion: "v1" },
  service: { kind: "Service", apiVersion: "v1" },
  endpoints: { kind: "Endpoints", apiVersion: "v1" },
  persistentvolume: { kind: "PersistentVolume", apiVersion: "v1" },
  persistentvolumeclaim: { kind: "PersistentVolumeClaim", apiVersion: "v1" },
  volumeattachment: { kind: "VolumeAttachment", apiVersion: "storage.k8s.io/v1" },
  lease: { kind: "Lease", apiVersion: "coordination.k8s.io/v1" },
  certificatesigningrequest: {
    kind: "CertificateSigningRequest",
    apiVersion: "certificates.k8s.io/v1",
  },
  serviceaccounttoken: { kind: "TokenRequest", apiVersion: "authentication.k8s.io/v1" },
  event: { kind: "Event", apiVersion: "v1" },
};

/** Returns `obj` with `kind`/`apiVersion` filled in for an edge resource type. */
export function withTypeMeta<T extends KubeObject>(obj: T, resourceType: string): T {
  const tm = TYPE_META[resourceType];
  if (tm) {
    if (!obj.kind) obj.kind = tm.kind;
    if (!obj.apiVersion) obj.apiVersion = tm.apiVersion;
  }
  return obj;
}

/**
 * Go's zero value of a typed object as `encoding/json` writes it (`&v1.Node{}` ...). client-go's
 * typed Create/Update/Patch return this empty object, never nil, next to an error, and cloudcore
 * puts it into `ObjectResp.Object` as is. A fresh copy per call (callers may add to it).
 */
export function zeroObject(
  resourceType: "node" | "pod" | "lease" | "certificatesigningrequest",
): { metadata: Record<string, unknown>; spec: unknown; status?: unknown } {
  const metadata: Record<string, unknown> = { creationTimestamp: null };
  switch (resourceType) {
    case "node":
      return {
        metadata,
        spec: {},
        status: {
          daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
          nodeInfo: {
            machineID: "",
            systemUUID: "",
            bootID: "",
            kernelVersion: "",
            osImage: "",
            containerRuntimeVersion: "",
            kubeletVersion: "",
            kubeProxyVersion: "",
            operatingSystem: "",
            architecture: "",
          },
        },
      };
    case "pod":
      return { metadata, spec: { containers: null }, status: {} };
    case "lease":
      return { metadata, spec: {} };
    case "certificatesigningrequest":
      return { metadata, spec: { request: null, signerName: "" }, status: {} };
  }
}

/**
 * `manager/pod.go` update filter: a pod change is sent only if its ObjectMeta (ignoring
 * resourceVersion, generation and managedFields) or its Spec changed — status-only changes are not.
 */
export function podChangedForEdge(old: KubeObject, cur: KubeObject): boolean {
  const strip = (m: KubeObject["metadata"]) => {
    const { resourceVersion: _rv, generation: _g, managedFields: _mf, ...rest } = m ?? {};
    return rest;
  };
  if (!jsonEqual(strip(old.metadata), strip(cur.metadata))) return true;
  return !jsonEqual(old.spec, cur.spec);
}

/** `metav1.Now()` as JSON: RFC 3339 with seconds precision. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Normalises an RFC 3339 timestamp to seconds precision (how metav1.Time marshals). */
export function toSeconds(ts: string): string {
  const t = Date.parse(ts);
  return Number.isNaN(t) ? ts : rfc3339(Math.floor(t / 1000) * 1000);
}

/** Go `encoding/json` field lookup: exact key first, then case-insensitive (own keys only). */
export function goField(obj: unknown, name: string): unknown {
  if (!obj || typeof obj !== "object" || Array.isArray(obj)) return undefined;
  const o = obj as Record<string, unknown>;
  if (Object.hasOwn(o, name)) return o[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}

/** API paths of the objects EdgeController touches. */
export const paths = {
  node: (name: string) => `/api/v1/nodes/${enc(name)}`,
  nodeStatus: (name: string) => `/api/v1/nodes/${enc(name)}/status`,
  nodes: () => `/api/v1/nodes`,
  pod: (ns: string, name: string) => `/api/v1/namespaces/${enc(ns)}/pods/${enc(name)}`,
  podStatus: (ns: string, name: string) => `/api/v1/namespaces/${enc(ns)}/pods/${enc(name)}/status`,
  pods: (ns: string) => `/api/v1/namespaces/${enc(ns)}/pods`,
  namespaced: (plural: string, ns: string, name = "") =>
    `/api/v1/namespaces/${enc(ns)}/${plural}${name ? `/${enc(name)}` : ""}`,
  pv: (name: string) => `/api/v1/persistentvolumes/${enc(name)}`,
  va: (name: string) => `/apis/storage.k8s.io/v1/volumeattachments/${enc(name)}`,
  saToken: (ns: string, sa: string) =>
    `/api/v1/namespaces/${enc(ns)}/serviceaccounts/${enc(sa)}/token`,
  lease: (ns: string, name = "") =>
    `/apis/coordination.k8s.io/v1/namespaces/${enc(ns)}/leases${name ? `/${enc(name)}` : ""}`,
  csr: (name = "") =>
    `/apis/certificates.k8s.io/v1/certificatesigningrequests${name ? `/${enc(name)}` : ""}`,
  events: (ns: string, name = "") =>
    `/api/v1/namespaces/${enc(ns)}/events${name ? `/${enc(name)}` : ""}`,
};

function enc(s: string): string {
  return encodeURIComponent(s);
}

/**
 * The body of a `nodepatch` / `podpatch` message. edged marshals the patch as a Go `[]byte`, so on
 * the wire it is a base64 string, which cloudcore decodes (`base64.URLEncoding`) before patching;
 * a JSON string or an embedded object is accepted as well.
 */
export function patchBody(content: unknown): string {
  if (content instanceof Uint8Array) return new TextDecoder().decode(content);
  if (typeof content !== "string") return JSON.stringify(content ?? {});
  const text = content.trim();
  if (text.startsWith("{") || text.startsWith("[")) return text;
  try {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const decoded = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    JSON.parse(decoded);
    return decoded;
  } catch {
    return text; // not base64 JSON: let the API reject it with a clear error
  }
}
