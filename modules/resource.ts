/**
 * Resource strings (docs/protocol.md §1.7): the cloud view `node/<nodeID>/<namespace>/<type>[/<name>]`,
 * the edge view `<namespace>/<type>[/<name>]`, and the device form `node/<nodeID>/<type>[/<id>]`.
 */
import { NullNamespace } from "./constants.ts";

/** Separator between resource segments. */
export const ResourceSep = "/";
/** How every cloud-side resource starts (`node/<id>/...`). */
const NodePrefix = `node${ResourceSep}`;

/** Thrown when a resource string lacks a required segment. */
export class ResourceError extends Error {
  override name = "ResourceError";
}

/** The parts of a cloud resource string. */
export interface ParsedResource {
  nodeId: string;
  namespace: string;
  resourceType: string;
  /** Empty for list/query-by-type resources. */
  name: string;
}

/**
 * `BuildResource(nodeID, namespace, type, name)`: `node/<id>/<ns>/<type>[/<name>]`.
 * Cluster-scoped objects pass namespace {@link NullNamespace}.
 * @throws ResourceError when nodeId, namespace or type is empty.
 */
export function buildResource(
  nodeId: string,
  namespace: string,
  resourceType: string,
  name = "",
): string {
  if (!nodeId || !namespace || !resourceType) {
    throw new ResourceError(
      `required parameter are not set (node id, namespace or resource type): node=${
        JSON.stringify(nodeId)
      } ` +
        `namespace=${JSON.stringify(namespace)} type=${JSON.stringify(resourceType)}`,
    );
  }
  const base = `node${ResourceSep}${nodeId}${ResourceSep}${namespace}${ResourceSep}${resourceType}`;
  return name ? `${base}${ResourceSep}${name}` : base;
}

/** `BuildResourceForDevice(nodeID, type, id)`: `node/<id>/<type>[/<deviceId>]`. */
export function buildResourceForDevice(nodeId: string, resourceType: string, id = ""): string {
  if (!nodeId || !resourceType) {
    throw new ResourceError(`required parameter are not set (node id or resource type)`);
  }
  const base = `node${ResourceSep}${nodeId}${ResourceSep}${resourceType}`;
  return id ? `${base}${ResourceSep}${id}` : base;
}

/**
 * Segment `index` of a `/`-separated resource (what `resource.split("/")[index]` gives), or
 * undefined when there are fewer segments. Scans instead of splitting: the hub reads a few
 * segments of every message it routes, and split() allocated an array and all its strings
 * each time.
 */
export function resourceSegment(resource: string, index: number): string | undefined {
  let start = 0;
  for (let i = 0; i < index; i++) {
    const sep = resource.indexOf(ResourceSep, start);
    if (sep < 0) return undefined;
    start = sep + 1;
  }
  const end = resource.indexOf(ResourceSep, start);
  return end < 0 ? resource.slice(start) : resource.slice(start, end);
}

function segment(resource: string, index: number, what: string): string {
  const part = resourceSegment(resource, index);
  if (part === undefined) {
    throw new ResourceError(`resource ${JSON.stringify(resource)} has no ${what}`);
  }
  return part;
}

/** `messagelayer.GetNodeID`: segment 1. */
export function getNodeIdSegment(resource: string): string {
  return segment(resource, 1, "node id");
}

/** `messagelayer.GetNamespace`: segment 2. */
export function getNamespace(resource: string): string {
  return segment(resource, 2, "namespace");
}

/** `messagelayer.GetResourceType`: segment 3. */
export function getResourceType(resource: string): string {
  return segment(resource, 3, "resource type");
}

/** `messagelayer.GetResourceName`: segment 4. */
export function getResourceName(resource: string): string {
  return segment(resource, 4, "resource name");
}

/**
 * Parses `node/<id>/<ns>/<type>[/<name>]`. Names may contain `/` (rare); everything after the
 * type is the name.
 * @throws ResourceError when the string is not in the cloud form.
 */
export function parseResource(resource: string): ParsedResource {
  const parts = resource.split(ResourceSep);
  if (parts[0] !== "node" || parts.length < 4 || !parts[1] || !parts[2] || !parts[3]) {
    throw new ResourceError(
      `resource ${JSON.stringify(resource)} is not node/<id>/<namespace>/<type>[/<name>]`,
    );
  }
  return {
    nodeId: parts[1],
    namespace: parts[2],
    resourceType: parts[3],
    name: parts.slice(4).join(ResourceSep),
  };
}

/**
 * `dispatcher.GetNodeID`: the segment after the first `node` token, or `""` when there is none.
 */
export function getNodeId(resource: string): string {
  if (resource.startsWith(NodePrefix)) return resourceSegment(resource, 1) ?? "";
  const parts = resource.split(ResourceSep);
  const i = parts.indexOf("node");
  if (i < 0 || i + 1 >= parts.length) return "";
  return parts[i + 1];
}

/**
 * `TrimMessage` on a resource: strips the first two segments when the resource starts with
 * `node` and has at least 3 segments (`node/n1/default/pod/x` → `default/pod/x`; `node/n1` stays).
 */
export function trimResource(resource: string): string {
  if (!resource.startsWith(NodePrefix)) return resource;
  const second = resource.indexOf(ResourceSep, NodePrefix.length);
  return second < 0 ? resource : resource.slice(second + 1);
}

/** Prefixes an edge resource with `node/<id>/` (upstream, §1.7). */
export function prefixResource(nodeId: string, resource: string): string {
  return `node${ResourceSep}${nodeId}${ResourceSep}${resource}`;
}

/** The namespace to use in a resource string for an object (`null` for cluster-scoped). */
export function namespaceOrNull(namespace: string | undefined): string {
  return namespace ? namespace : NullNamespace;
}

/**
 * The resource type of a resource plural in a message's resource path (KubeEdge's
 * `UnsafeResourceToKind`, lower-cased): `configmaps` → `configmap`, `endpoints` → `endpoints`,
 * `endpointslices` → `endpointslice`, `leases` → `leases`, `policies` → `policy`.
 */
export function resourceTypeOf(resource: string): string {
  const unusual: Record<string, string> = {
    endpoints: "Endpoints",
    endpointslices: "EndpointSlice",
    nodes: "Node",
    namespaces: "Namespace",
    services: "Service",
    podstatus: "PodStatus",
    nodestatus: "NodeStatus",
    customresourcedefinitions: "CustomResourceDefinition",
    leases: "Leases",
  };
  let k = unusual[resource];
  if (!k) {
    k = resource.charAt(0).toUpperCase() + resource.slice(1).toLowerCase();
    if (k.endsWith("ies")) k = k.slice(0, -3) + "y";
    else if (k.endsWith("ses")) k = k.slice(0, -2);
    else if (k.endsWith("s")) k = k.slice(0, -1);
  }
  return k.toLowerCase();
}
