/**
 * Node identity for upstream requests (beyond KubeEdge; like Kubernetes' Node authorizer and
 * NodeRestriction admission): an edge may only read or write its own Node and Lease
 * (`kube-node-lease/<node>`), pods bound to it, the configmaps, secrets, PVCs and service
 * accounts its pods reference, PVs bound to those PVCs, and volumeattachments for itself.
 *
 * Events go further than Kubernetes, on purpose: the `system:node` role lets a kubelet create,
 * update and patch events in any namespace, with the TODO "restrict to the bound node as creator
 * in NodeRestriction". This authorizer implements that TODO: an edge may write an Event only
 * about its own Node (in namespace "default", involvedObject.namespace "", as kubelet records
 * node events) or about a pod bound to it (in the pod's namespace), may update or patch only such
 * an event, and a patch may not touch `involvedObject` or use `$` directives.
 *
 * The mode follows cloudcore.yaml's `modules.cloudHub.authorization`, as cloudcore's own
 * authorizer does: `enable: false` (or no node mode) checks nothing; `debug: true` logs each
 * denial and allows the request; otherwise a denial is answered Forbidden.
 *
 * Decisions come from the LocationCache (fed by the pod informer). A "no" from the cache is
 * re-checked once against a live pod list of the namespace, because an edge may ask for an
 * object right after the pod appeared, before the watch event reached us.
 */
import {
  forbiddenStatus,
  type KubeClient,
  type KubeObject,
  type KubeStatus,
} from "../../kube/mod.ts";
import type { LocationCache, RefKind } from "./location.ts";
import { podReferences } from "./location.ts";
import { paths } from "./meta.ts";
import { createLogger } from "../../lib/mod.ts";
import { podOf } from "./shapes.ts";

const log = createLogger("edgecontroller.authorize");

/** The namespace node leases live in. */
export const NodeLeaseNamespace = "kube-node-lease";

/** How denials are handled: enforced, only logged (`debug`), or not checked at all. */
export type NodeAuthorizationMode = "enforce" | "debug" | "off";

/** The mode cloudcore.yaml's `modules.cloudHub.authorization` asks for. */
export function authorizationMode(
  cfg: { enable: boolean; debug: boolean; modes: { node?: { enable: boolean } }[] },
): NodeAuthorizationMode {
  if (!cfg.enable || !cfg.modes.some((m) => m.node?.enable)) return "off";
  return cfg.debug ? "debug" : "enforce";
}

/** Answers "may node N touch object X?"; `null` means yes, a Status means Forbidden. */
export class NodeAuthorizer {
  /** False when nothing is checked (mode "off"). */
  readonly enabled: boolean;

  constructor(
    readonly location: LocationCache,
    readonly kube: KubeClient,
    readonly mode: NodeAuthorizationMode = "enforce",
  ) {
    this.enabled = mode !== "off";
  }

  /** The Forbidden status; in debug mode the denial is logged and the request allowed. */
  #deny(node: string, resource: string, name: string, why: string): KubeStatus | null {
    const status = forbiddenStatus(
      resource,
      name,
      `User "system:node:${node}" cannot access it: ${why}`,
    );
    if (this.mode !== "debug") return status;
    log.warn("node authorization would deny (debug: allowed)", {
      node,
      resource,
      name,
      reason: why,
    });
    return null;
  }

  /** The node itself (node, nodestatus, nodepatch). */
  ownNode(node: string, name: string): KubeStatus | null {
    if (!this.enabled || name === node) return null;
    return this.#deny(node, "nodes", name, "a node may only access its own Node object");
  }

  /** Its own lease. */
  ownLease(node: string, namespace: string, name: string): KubeStatus | null {
    if (!this.enabled || (namespace === NodeLeaseNamespace && name === node)) return null;
    return this.#deny(
      node,
      "leases.coordination.k8s.io",
      `${namespace}/${name}`,
      `a node may only access its own lease ${NodeLeaseNamespace}/${node}`,
    );
  }

  /** A pod object (already fetched) must be bound to the node. */
  podBound(node: string, pod: KubeObject): KubeStatus | null {
    const bound = podOf(pod).spec?.nodeName;
    if (!this.enabled || bound === node) return null;
    return this.#deny(
      node,
      "pods",
      `${pod.metadata?.namespace}/${pod.metadata?.name}`,
      "the pod is not bound to this node",
    );
  }

  /**
   * An Event the node writes (or the stored event it updates or patches): see the module docs.
   * The pod check uses the LocationCache, then once a live read of the pod.
   */
  async event(node: string, event: KubeObject): Promise<KubeStatus | null> {
    if (!this.enabled) return null;
    const ns = typeof event.metadata?.namespace === "string" ? event.metadata.namespace : "";
    const deny = (why: string) =>
      this.#deny(node, "events", `${ns}/${event.metadata?.name ?? ""}`, why);
    const raw = event.involvedObject;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      return deny("the event has no involvedObject");
    }
    const io = raw as { kind?: unknown; name?: unknown; namespace?: unknown };
    const name = typeof io.name === "string" ? io.name : "";
    const ioNs = io.namespace ?? "";
    if (io.kind === "Node") {
      if (name !== node) return deny(`the event is about Node "${name}", not this node`);
      if (ioNs !== "") return deny("an event about the node must have no involvedObject.namespace");
      if (ns !== "default") return deny('an event about the node must be in namespace "default"');
      return null;
    }
    if (io.kind === "Pod") {
      if (ioNs !== ns) return deny("an event about a pod must be in the pod's namespace");
      if (this.location.podNode(ns, name) === node || await this.#livePodOn(node, ns, name)) {
        return null;
      }
      return deny(`the event's pod ${ns}/${name} is not bound to this node`);
    }
    return deny(
      `a node may only record events about its own Node and its pods, not ${
        JSON.stringify(String(io.kind ?? ""))
      }`,
    );
  }

  /**
   * A strategic merge patch the node sends for an event: it may not change `involvedObject`
   * (compared case-insensitively, as Go decoders may) nor use `$` directives (`$patch: replace`
   * would rewrite the whole event). kubelet's patches carry count, message and timestamps.
   */
  eventPatch(node: string, namespace: string, name: string, patch: unknown): KubeStatus | null {
    if (!this.enabled) return null;
    const keys = patch !== null && typeof patch === "object" && !Array.isArray(patch)
      ? Object.keys(patch)
      : [];
    if (keys.some((k) => k.startsWith("$") || k.toLowerCase() === "involvedobject")) {
      return this.#deny(
        node,
        "events",
        `${namespace}/${name}`,
        "a node's patch may not change an event's involvedObject or use $ directives",
      );
    }
    return null;
  }

  async #livePodOn(node: string, namespace: string, name: string): Promise<boolean> {
    if (!namespace || !name) return false;
    try {
      const pod = await this.kube.get<KubeObject>(paths.pod(namespace, name), { node });
      return podOf(pod).spec?.nodeName === node;
    } catch {
      return false;
    }
  }

  /** A configmap / secret / PVC / service account referenced by a pod on the node. */
  async referenced(
    node: string,
    kind: RefKind,
    namespace: string,
    name: string,
  ): Promise<KubeStatus | null> {
    if (!this.enabled || this.location.nodeReferences(node, kind, namespace, name)) return null;
    if (await this.#liveReferences(node, kind, namespace, name)) return null;
    const resource = kind === "persistentvolumeclaim"
      ? "persistentvolumeclaims"
      : kind === "serviceaccount"
      ? "serviceaccounts"
      : `${kind}s`;
    return this.#deny(
      node,
      resource,
      `${namespace}/${name}`,
      "no pod bound to this node references it",
    );
  }

  async #liveReferences(
    node: string,
    kind: RefKind,
    namespace: string,
    name: string,
  ): Promise<boolean> {
    try {
      const list = await this.kube.get<{ items?: KubeObject[] } & KubeObject>(
        paths.pods(namespace),
        { node },
      );
      return (list.items ?? []).some((p) =>
        podOf(p).spec?.nodeName === node &&
        podReferences({ ...p, metadata: { ...p.metadata, namespace } })[kind].has(
          `${namespace}/${name}`,
        )
      );
    } catch {
      return false;
    }
  }

  /** A PV must be bound (claimRef) to a PVC referenced by the node's pods. */
  async persistentVolume(node: string, pv: KubeObject): Promise<KubeStatus | null> {
    if (!this.enabled) return null;
    const ref = (pv.spec as { claimRef?: { namespace?: string; name?: string } } | undefined)
      ?.claimRef;
    if (ref?.namespace && ref?.name) {
      const denied = await this.referenced(node, "persistentvolumeclaim", ref.namespace, ref.name);
      if (!denied) return null;
    }
    return this.#deny(
      node,
      "persistentvolumes",
      pv.metadata?.name ?? "",
      "it is not bound to a claim used by this node",
    );
  }

  /** A VolumeAttachment must be for the node. */
  volumeAttachment(node: string, va: KubeObject): KubeStatus | null {
    const vaNode = (va.spec as { nodeName?: string } | undefined)?.nodeName;
    if (!this.enabled || vaNode === node) return null;
    return this.#deny(
      node,
      "volumeattachments.storage.k8s.io",
      va.metadata?.name ?? "",
      "it is not for this node",
    );
  }
}
