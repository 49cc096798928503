/**
 * What an edge may do through its MetaServer (docs/compatibility.md, "MetaServer requests"): the
 * Kubernetes 1.32 Node authorizer's rules, as cloudcore gets them from kube-apiserver when it
 * impersonates the node (`system:node:<name>`, group `system:nodes`). Reads: services,
 * endpoints, endpointslices, runtimeclasses, CSI objects freely; its own Node and the pods bound
 * to it (lists and watches selecting them by `metadata.name` / `spec.nodeName`); configmaps, secrets,
 * PVCs and service accounts only by name when a pod bound to the node references them (a list or
 * watch must select that one name with `metadata.name=`); PVs bound to such claims; its own
 * Lease and VolumeAttachments. Writes: its own Node and Lease, status and deletion of its pods,
 * Events about itself or its pods. The mode follows `cloudHub.authorization` like EdgeController.
 */
import {
  forbiddenStatus,
  type KubeClient,
  type KubeObject,
  type KubeStatus,
} from "../../kube/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import { type NodeAuthorizer, NodeLeaseNamespace } from "../edge/mod.ts";
import { apiPath, type AppTarget, Verb } from "./application.ts";

const log = createLogger("dynamiccontroller");

/** Read freely by any node (RBAC `system:node`). */
const FREE_READS = new Set([
  "/services",
  "/endpoints",
  "discovery.k8s.io/endpointslices",
  "node.k8s.io/runtimeclasses",
  "storage.k8s.io/csidrivers",
  "storage.k8s.io/csinodes",
  "storage.k8s.io/storageclasses",
]);

/** Read by name when referenced by a pod on the node. */
const REFERENCED: Record<
  string,
  "configmap" | "secret" | "persistentvolumeclaim" | "serviceaccount"
> = {
  "/configmaps": "configmap",
  "/secrets": "secret",
  "/persistentvolumeclaims": "persistentvolumeclaim",
  "/serviceaccounts": "serviceaccount",
};

const READS: string[] = [Verb.Get, Verb.List, Verb.Watch];

/** Decides one Application; `null` allows it, a Status forbids it. */
export class NodeAccess {
  constructor(readonly auth: NodeAuthorizer, readonly kube: KubeClient) {}

  #deny(node: string, verb: string, t: AppTarget, why: string): KubeStatus | null {
    const res = t.group ? `${t.resource}.${t.group}` : t.resource;
    const where = t.namespace ? ` in the namespace "${t.namespace}"` : "";
    const status = forbiddenStatus(
      res,
      t.name,
      `User "system:node:${node}" cannot ${verb} resource "${t.resource}" in API group "${t.group}"${where}: ${why}`,
    );
    if (this.auth.mode === "debug") {
      log.warn("metaserver request would be denied (authorization debug)", {
        node,
        verb,
        resource: res,
        message: status.message,
      });
      return null;
    }
    return status;
  }

  /** Checks `verb` on `t` for `node`; `fieldSelector` of a list or watch, `body` of a write. */
  async check(
    node: string,
    verb: string,
    t: AppTarget,
    fieldSelector: string,
    body?: KubeObject,
    subresource = "",
  ): Promise<KubeStatus | null> {
    if (!this.auth.enabled) return null;
    const gr = `${t.group}/${t.resource}`;
    if (READS.includes(verb)) {
      if (FREE_READS.has(gr)) return null;
      // Kubernetes 1.32 (AuthorizeNodeWithSelectors): a node reads only its own Node, and only
      // pods bound to it (a list or watch must select them by spec.nodeName).
      if (gr === "/nodes") {
        const name = t.name || /(?:^|,)metadata\.name==?([^,]+)/.exec(fieldSelector)?.[1];
        return name === node
          ? null
          : this.#deny(node, verb, t, "a node may only read its own Node");
      }
      if (gr === "/pods") {
        if (!t.name) {
          const bound = /(?:^|,)spec\.nodeName==?([^,]+)/.exec(fieldSelector)?.[1];
          return bound === node ? null : this.#deny(
            node,
            verb,
            t,
            `a node may only list pods with fieldSelector spec.nodeName=${node}`,
          );
        }
        const pod = await this.kube.get<KubeObject>(apiPath(t)).catch(() => undefined);
        if (pod && !this.auth.podBound(node, pod)) return null;
        return this.#deny(node, verb, t, "the pod is not bound to this node");
      }
      const kind = REFERENCED[gr];
      if (kind) {
        const name = t.name || /(?:^|,)metadata\.name==?([^,]+)/.exec(fieldSelector)?.[1] || "";
        if (!name) {
          return this.#deny(
            node,
            verb,
            t,
            "a node may only read objects its pods reference, by name",
          );
        }
        const denied = await this.auth.referenced(node, kind, t.namespace, name);
        return denied ? this.#deny(node, verb, t, "no pod bound to this node references it") : null;
      }
      if (gr === "/persistentvolumes" && t.name) {
        const pv = await this.kube.get<KubeObject>(apiPath(t)).catch(() => undefined);
        if (pv && !(await this.auth.persistentVolume(node, pv))) return null;
        return this.#deny(node, verb, t, "it is not bound to a claim used by this node");
      }
      if (gr === "coordination.k8s.io/leases") {
        if (t.namespace === NodeLeaseNamespace && t.name === node) return null;
        return this.#deny(node, verb, t, "a node may only read its own lease");
      }
      if (gr === "storage.k8s.io/volumeattachments" && t.name) {
        const va = await this.kube.get<KubeObject>(apiPath(t)).catch(() => undefined);
        if (va && !this.auth.volumeAttachment(node, va)) return null;
        return this.#deny(node, verb, t, "it is not for this node");
      }
      return this.#deny(node, verb, t, "nodes may not read it");
    }
    // Writes.
    if (gr === "/nodes") {
      return t.name === node || body?.metadata?.name === node
        ? null
        : this.#deny(node, verb, t, "a node may only change its own Node");
    }
    if (gr === "coordination.k8s.io/leases") {
      const name = t.name || body?.metadata?.name;
      return t.namespace === NodeLeaseNamespace && name === node
        ? null
        : this.#deny(node, verb, t, "a node may only change its own lease");
    }
    if (
      gr === "/pods" && t.name &&
      (subresource === "status" || verb === Verb.Delete || verb === Verb.UpdateStatus ||
        verb === Verb.Patch)
    ) {
      const pod = await this.kube.get<KubeObject>(apiPath(t)).catch(() => undefined);
      if (pod && !this.auth.podBound(node, pod)) return null;
      return this.#deny(node, verb, t, "a node may only change pods bound to it");
    }
    if (gr === "/events" || gr === "events.k8s.io/events") {
      // A patch is judged by the event it changes.
      const ev = verb === Verb.Patch || verb === Verb.Delete
        ? await this.kube.get<KubeObject>(apiPath(t)).catch(() => undefined)
        : body;
      if (ev && !(await this.auth.event(node, ev))) return null;
      return this.#deny(node, verb, t, "a node may only record events about itself and its pods");
    }
    return this.#deny(node, verb, t, "nodes may not change it");
  }
}
