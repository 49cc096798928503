/**
 * Minimal Kubernetes object shapes as they appear on the wire (raw JSON, RFC 3339 strings).
 *
 * Deliberately not client-node's generated models: those turn timestamps into `Date` and drop
 * unknown fields, while edgecloud forwards objects to edges byte-for-byte as the API served them.
 */

/** `metav1.ObjectMeta`, the fields edgecloud reads; everything else passes through. */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  creationTimestamp?: string;
  managedFields?: unknown[];
  [key: string]: unknown;
}

/** Any Kubernetes object as raw JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [key: string]: unknown;
}

/** A list response (`metadata.resourceVersion` is the list's RV). */
export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** `metav1.Status`. */
export interface KubeStatus {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, unknown>;
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: unknown[] };
  code: number;
}

/** One watch event line. */
export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

/** The key an informer stores an object under: `<namespace>/<name>` or `<name>`. */
export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? "";
  return ns ? `${ns}/${name}` : name;
}
