/**
 * Legacy (unaggregated) discovery documents: `/api`, `/apis`, `/api/v1`, `/apis/<g>`,
 * `/apis/<g>/<v>`, and `/version`. kubectl asks for aggregated discovery first and falls back to
 * these when the response is a plain APIGroupList.
 */
import { apiVersionOf, type ResourceDef, type ResourceRegistry } from "./resources.ts";

const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

/** The version the server reports (what kubectl compares against its own). */
export const SERVER_VERSION = {
  major: "1",
  minor: "32",
  gitVersion: "v1.32.0-edgecloud",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2026-01-01T00:00:00Z",
  goVersion: "deno",
  compiler: "deno",
  platform: `${Deno.build.os}/${Deno.build.arch === "x86_64" ? "amd64" : Deno.build.arch}`,
};

/** `/api`. */
export function apiVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function group(name: string, versions: string[]): Record<string, unknown> {
  const vs = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

/** `/apis`. */
export function apiGroupList(reg: ResourceRegistry): Record<string, unknown> {
  const groups = [...reg.groups()].filter(([g]) => g !== "").sort(([a], [b]) => a.localeCompare(b));
  return { kind: "APIGroupList", apiVersion: "v1", groups: groups.map(([g, v]) => group(g, v)) };
}

/** `/apis/<group>`, or undefined when not served. */
export function apiGroup(reg: ResourceRegistry, name: string): Record<string, unknown> | undefined {
  const versions = reg.groups().get(name);
  if (!versions || name === "") return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...group(name, versions) };
}

function entries(d: ResourceDef): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [{
    name: d.resource,
    singularName: d.singular,
    namespaced: d.namespaced,
    kind: d.kind,
    verbs: d.verbs ?? VERBS,
    ...(d.shortNames.length ? { shortNames: d.shortNames } : {}),
    ...(d.categories.length ? { categories: d.categories } : {}),
  }];
  for (const sub of d.subresources) {
    if (sub === "binding" || sub === "eviction") {
      out.push({
        name: `${d.resource}/${sub}`,
        singularName: "",
        namespaced: d.namespaced,
        ...(sub === "eviction" ? { group: "policy", version: "v1" } : {}),
        kind: sub === "binding" ? "Binding" : "Eviction",
        verbs: ["create"],
      });
    } else if (sub in STREAM_SUBRESOURCES) {
      const [kind, verbs] = STREAM_SUBRESOURCES[sub];
      out.push({
        name: `${d.resource}/${sub}`,
        singularName: "",
        namespaced: d.namespaced,
        kind,
        verbs,
      });
    } else if (sub === "token") {
      out.push({
        name: `${d.resource}/token`,
        singularName: "",
        namespaced: d.namespaced,
        group: "authentication.k8s.io",
        version: "v1",
        kind: "TokenRequest",
        verbs: ["create"],
      });
    } else if (sub === "scale") {
      out.push({
        name: `${d.resource}/scale`,
        singularName: "",
        namespaced: d.namespaced,
        group: "autoscaling",
        version: "v1",
        kind: "Scale",
        verbs: ["get", "patch", "update"],
      });
    } else {
      out.push({
        name: `${d.resource}/${sub}`,
        singularName: "",
        namespaced: d.namespaced,
        kind: d.kind,
        verbs: sub === "finalize" ? ["update"] : ["get", "patch", "update"],
      });
    }
  }
  return out;
}

/** Subresources proxied to the kubelet: their kind and verbs as kube-apiserver lists them. */
const STREAM_SUBRESOURCES: Record<string, [string, string[]]> = {
  log: ["Pod", ["get"]],
  exec: ["PodExecOptions", ["create", "get"]],
  attach: ["PodAttachOptions", ["create", "get"]],
  portforward: ["PodPortForwardOptions", ["create", "get"]],
  proxy: ["NodeProxyOptions", ["create", "delete", "get", "patch", "update"]],
};

/** `/api/v1` or `/apis/<g>/<v>`, or undefined when not served. */
export function apiResourceList(
  reg: ResourceRegistry,
  groupName: string,
  version: string,
): Record<string, unknown> | undefined {
  const defs = reg.inGroupVersion(groupName, version);
  if (!defs.length) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: apiVersionOf({ group: groupName, version }),
    resources: defs.sort((a, b) => a.resource.localeCompare(b.resource)).flatMap(entries),
  };
}
