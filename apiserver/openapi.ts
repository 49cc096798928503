/**
 * Minimal OpenAPI v3 documents: one per group/version with a PATCH operation per resource that
 * carries `x-kubernetes-group-version-kind` and the `fieldValidation` query parameter. That is
 * what kubectl (create/apply/edit) looks for to hand validation to the server instead of
 * downloading full schemas; without schemas it computes patches from its compiled-in types.
 */
import { apiVersionOf, type ResourceRegistry } from "./resources.ts";

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

/** `/openapi/v3`: the index of group/version documents. */
export function openApiV3Root(reg: ResourceRegistry): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const [g, versions] of reg.groups()) {
    for (const v of versions) {
      const p = gvPath(g, v);
      paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash(reg, g, v)}` };
    }
  }
  return { paths };
}

const DOC_VERSION = 2;

function hash(reg: ResourceRegistry, g: string, v: string): string {
  const names = reg.inGroupVersion(g, v).map((d) => `${d.resource}:${d.kind}:${d.namespaced}`)
    .sort().join(",");
  // Bump DOC_VERSION when the document shape changes: kubectl caches documents by this hash.
  let h = 2166136261 ^ DOC_VERSION;
  for (let i = 0; i < names.length; i++) h = Math.imul(h ^ names.charCodeAt(i), 16777619) >>> 0;
  return h.toString(16).toUpperCase().padStart(8, "0");
}

const FIELD_VALIDATION = {
  name: "fieldValidation",
  in: "query",
  description: "Accepted and ignored: the embedded API does not prune or validate unknown fields.",
  schema: { type: "string", uniqueItems: true },
};

/** `/openapi/v3/<api/v1|apis/g/v>`, or undefined when the group/version is not served. */
export function openApiV3Doc(
  reg: ResourceRegistry,
  path: string,
): Record<string, unknown> | undefined {
  const seg = path.split("/").filter(Boolean);
  const [g, v] = seg[0] === "api" && seg.length === 2
    ? ["", seg[1]]
    : seg[0] === "apis" && seg.length === 3
    ? [seg[1], seg[2]]
    : [undefined, undefined];
  if (v === undefined || g === undefined) return undefined;
  const defs = reg.inGroupVersion(g, v);
  if (!defs.length) return undefined;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const d of defs) {
    // A skeleton schema per kind so `kubectl explain` finds the type; fields are open.
    schemas[`${g ? g.split(".").reverse().join(".") : "io.k8s.api.core"}.${v}.${d.kind}`] = {
      type: "object",
      description: `${d.kind} (${
        apiVersionOf({ group: g, version: v })
      }), served by the edgecloud embedded API.`,
      "x-kubernetes-group-version-kind": [{ group: g, version: v, kind: d.kind }],
      properties: {
        apiVersion: { type: "string", description: "APIVersion of this representation." },
        kind: { type: "string", description: "Kind of this object." },
        metadata: {
          type: "object",
          description: "Standard object metadata.",
          "x-kubernetes-preserve-unknown-fields": true,
        },
        spec: {
          type: "object",
          description: "Desired state.",
          "x-kubernetes-preserve-unknown-fields": true,
        },
        status: {
          type: "object",
          description: "Observed state.",
          "x-kubernetes-preserve-unknown-fields": true,
        },
      },
    };
    const base = `/${gvPath(g, v)}${
      d.namespaced ? "/namespaces/{namespace}" : ""
    }/${d.resource}/{name}`;
    const gvk = { group: g, version: v, kind: d.kind };
    paths[base] = {
      patch: {
        operationId: `patch${d.kind}`,
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": gvk,
        parameters: [FIELD_VALIDATION],
        responses: { "200": { description: "OK" } },
      },
    };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: `${apiVersionOf({ group: g, version: v })}` },
    paths,
    components: { schemas },
  };
}
