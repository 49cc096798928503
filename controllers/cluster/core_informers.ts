/**
 * The core/v1 informers several cluster controllers watch (through the shared client, so each is
 * one informer however many controllers ask), with the kind and apiVersion a list's items lack.
 */
import type { Informer, KubeClient } from "../../kube/mod.ts";
import type { Node, Pod } from "./pods.ts";
import type { Service } from "./service_backends.ts";

/** Every pod. */
export function podInformer(kube: KubeClient): Informer<Pod> {
  return kube.informer<Pod>("/api/v1/pods", undefined, { kind: "Pod", apiVersion: "v1" });
}

/** Every node. */
export function nodeInformer(kube: KubeClient): Informer<Node> {
  return kube.informer<Node>("/api/v1/nodes", undefined, { kind: "Node", apiVersion: "v1" });
}

/** Every service. */
export function serviceInformer(kube: KubeClient): Informer<Service> {
  return kube.informer<Service>("/api/v1/services", undefined, {
    kind: "Service",
    apiVersion: "v1",
  });
}
