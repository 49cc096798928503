/**
 * KubeEdge's CRDs, preinstalled into a fresh store (PROTOCOL.md §4.5, §8.1):
 * `devices.kubeedge.io` (devices and devicemodels at v1alpha2 and v1beta1, devicestatuses at
 * v1beta1) and `reliablesyncs.kubeedge.io/v1alpha1` (objectsyncs, clusterobjectsyncs). All have a
 * status subresource. Schemas preserve unknown fields: the server does not prune.
 */
import type { KObject } from "./resources.ts";

interface CrdSpec {
  group: string;
  plural: string;
  singular: string;
  kind: string;
  scope: "Namespaced" | "Cluster";
  versions: string[];
  storage: string;
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
        subresources: { status: {} },
      })),
      conversion: { strategy: "None" },
    },
  };
}

/** The CRDs every fresh embedded API starts with. */
export const KUBEEDGE_CRDS: KObject[] = [
  crdObject({
    group: "devices.kubeedge.io",
    plural: "devices",
    singular: "device",
    kind: "Device",
    scope: "Namespaced",
    versions: ["v1alpha2", "v1beta1"],
    storage: "v1beta1",
  }),
  crdObject({
    group: "devices.kubeedge.io",
    plural: "devicemodels",
    singular: "devicemodel",
    kind: "DeviceModel",
    scope: "Namespaced",
    versions: ["v1alpha2", "v1beta1"],
    storage: "v1beta1",
  }),
  crdObject({
    group: "devices.kubeedge.io",
    plural: "devicestatuses",
    singular: "devicestatus",
    kind: "DeviceStatus",
    scope: "Namespaced",
    versions: ["v1beta1"],
    storage: "v1beta1",
  }),
  crdObject({
    group: "reliablesyncs.kubeedge.io",
    plural: "objectsyncs",
    singular: "objectsync",
    kind: "ObjectSync",
    scope: "Namespaced",
    versions: ["v1alpha1"],
    storage: "v1alpha1",
  }),
  crdObject({
    group: "reliablesyncs.kubeedge.io",
    plural: "clusterobjectsyncs",
    singular: "clusterobjectsync",
    kind: "ClusterObjectSync",
    scope: "Cluster",
    versions: ["v1alpha1"],
    storage: "v1alpha1",
  }),
];

/** Namespaces every fresh embedded API starts with. */
export const DEFAULT_NAMESPACES = [
  "default",
  "kube-system",
  "kube-public",
  "kube-node-lease",
  "kubeedge",
];
