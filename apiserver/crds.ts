/**
 * KubeEdge's CRDs, preinstalled into a fresh store: what a cluster has after `keadm init` or
 * KubeEdge's Helm chart for release v1.23.1 (docs/compatibility.md, "KubeEdge CRDs"), so cloudcore
 * itself can run on the embedded API (it starts an informer on each of them).
 *
 * Stated here as facts, not copied: each CRD's group, names, scope, versions (served, storage) and
 * whether it has a `status` subresource. No `devices.kubeedge.io` CRD has one, in any version: a
 * Device's twins are written on the main resource (`kubectl edit device`, and the device
 * controller). The reliablesyncs, apps, operations and policy CRDs do; the rules CRDs do not.
 * KubeEdge's manifests declare no printer columns. Schemas are open (unknown fields preserved):
 * the embedded API does not prune, so the detailed OpenAPI schemas are left out.
 */
import type { KObject } from "./resources.ts";

/** One CRD, as the facts above. */
export interface CrdSpec {
  group: string;
  plural: string;
  singular: string;
  kind: string;
  scope: "Namespaced" | "Cluster";
  /** Served versions, in manifest order. */
  versions: string[];
  storage: string;
  /** A `status` subresource on every version. */
  status: boolean;
  shortNames?: string[];
}

const OPEN_SCHEMA = {
  openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
};

/** Builds an apiextensions.k8s.io/v1 CRD object. */
export function crdObject(s: CrdSpec): KObject {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${s.plural}.${s.group}` },
    spec: {
      group: s.group,
      names: {
        plural: s.plural,
        singular: s.singular,
        kind: s.kind,
        listKind: `${s.kind}List`,
        ...(s.shortNames ? { shortNames: s.shortNames } : {}),
      },
      scope: s.scope,
      versions: s.versions.map((v) => ({
        name: v,
        served: true,
        storage: v === s.storage,
        schema: OPEN_SCHEMA,
        ...(s.status ? { subresources: { status: {} } } : {}),
      })),
      conversion: { strategy: "None" },
    },
  };
}

/**
 * True when `crd` is one edgecloud preinstalled (every version has the open schema): such a CRD
 * is brought up to date at startup; one a user replaced (KubeEdge's own manifest) is left alone.
 */
export function isPreinstalledCrd(crd: KObject): boolean {
  const versions = (crd.spec as { versions?: { schema?: unknown }[] } | undefined)?.versions;
  return Array.isArray(versions) && versions.length > 0 &&
    versions.every((v) => JSON.stringify(v.schema) === JSON.stringify(OPEN_SCHEMA));
}

const DEVICES = "devices.kubeedge.io";
const SYNCS = "reliablesyncs.kubeedge.io";
const OPERATIONS = "operations.kubeedge.io";
const APPS = "apps.kubeedge.io";
const RULES = "rules.kubeedge.io";
const POLICY = "policy.kubeedge.io";

/** The CRD facts of KubeEdge v1.23.1 (devices also serve v1alpha2, as KubeEdge v1.15 did). */
export const KUBEEDGE_CRD_SPECS: readonly CrdSpec[] = [
  {
    group: DEVICES,
    plural: "devices",
    singular: "device",
    kind: "Device",
    scope: "Namespaced",
    versions: ["v1alpha2", "v1beta1"],
    storage: "v1beta1",
    status: false,
  },
  {
    group: DEVICES,
    plural: "devicemodels",
    singular: "devicemodel",
    kind: "DeviceModel",
    scope: "Namespaced",
    versions: ["v1alpha2", "v1beta1"],
    storage: "v1beta1",
    status: false,
  },
  {
    group: DEVICES,
    plural: "devicestatuses",
    singular: "devicestatus",
    kind: "DeviceStatus",
    scope: "Namespaced",
    versions: ["v1alpha2", "v1beta1"],
    storage: "v1beta1",
    status: false,
  },
  {
    group: SYNCS,
    plural: "objectsyncs",
    singular: "objectsync",
    kind: "ObjectSync",
    scope: "Namespaced",
    versions: ["v1alpha1"],
    storage: "v1alpha1",
    status: true,
  },
  {
    group: SYNCS,
    plural: "clusterobjectsyncs",
    singular: "clusterobjectsync",
    kind: "ClusterObjectSync",
    scope: "Cluster",
    versions: ["v1alpha1"],
    storage: "v1alpha1",
    status: true,
  },
  {
    group: OPERATIONS,
    plural: "nodeupgradejobs",
    singular: "nodeupgradejob",
    kind: "NodeUpgradeJob",
    scope: "Cluster",
    versions: ["v1alpha1", "v1alpha2"],
    storage: "v1alpha2",
    status: true,
  },
  {
    group: OPERATIONS,
    plural: "imageprepulljobs",
    singular: "imageprepulljob",
    kind: "ImagePrePullJob",
    scope: "Cluster",
    versions: ["v1alpha1", "v1alpha2"],
    storage: "v1alpha2",
    status: true,
  },
  {
    group: OPERATIONS,
    plural: "configupdatejobs",
    singular: "configupdatejob",
    kind: "ConfigUpdateJob",
    scope: "Cluster",
    versions: ["v1alpha2"],
    storage: "v1alpha2",
    status: true,
  },
  {
    group: APPS,
    plural: "nodegroups",
    singular: "nodegroup",
    kind: "NodeGroup",
    scope: "Cluster",
    versions: ["v1alpha1"],
    storage: "v1alpha1",
    status: true,
    shortNames: ["ng"],
  },
  {
    group: APPS,
    plural: "edgeapplications",
    singular: "edgeapplication",
    kind: "EdgeApplication",
    scope: "Namespaced",
    versions: ["v1alpha1"],
    storage: "v1alpha1",
    status: true,
    shortNames: ["eapp"],
  },
  {
    group: RULES,
    plural: "rules",
    singular: "rule",
    kind: "Rule",
    scope: "Namespaced",
    versions: ["v1"],
    storage: "v1",
    status: false,
  },
  {
    group: RULES,
    plural: "ruleendpoints",
    singular: "ruleendpoint",
    kind: "RuleEndpoint",
    scope: "Namespaced",
    versions: ["v1"],
    storage: "v1",
    status: false,
    shortNames: ["re"],
  },
  {
    group: POLICY,
    plural: "serviceaccountaccesses",
    singular: "serviceaccountaccess",
    kind: "ServiceAccountAccess",
    scope: "Namespaced",
    versions: ["v1alpha1"],
    storage: "v1alpha1",
    status: true,
    shortNames: ["saaccess"],
  },
];

/** The CRDs every fresh embedded API starts with. */
export const KUBEEDGE_CRDS: KObject[] = KUBEEDGE_CRD_SPECS.map(crdObject);

/** Namespaces every fresh embedded API starts with. */
export const DEFAULT_NAMESPACES = [
  "default",
  "kube-system",
  "kube-public",
  "kube-node-lease",
  "kubeedge",
];
