/**
 * The StatefulSet controller (kubernetes pkg/controller/statefulset, 1.32): pods with stable
 * names `<set>-<ordinal>` (from `spec.ordinals.start`), `hostname` = pod name and `subdomain` =
 * `serviceName`, and one PVC `<claim>-<pod>` per `volumeClaimTemplates` entry, created before
 * the pod and mounted in place of the template's volume of that name.
 *
 * - OrderedReady: pods are created lowest ordinal first, each only once the ones before are
 *   Running and Ready; scale-down deletes the highest ordinal first, one at a time. Parallel:
 *   all missing pods are created and all condemned ones deleted at once.
 * - Failed pods are deleted and recreated with the same name.
 * - RollingUpdate: once every pod is Running and Ready, the highest-ordinal pod not at the
 *   update revision is deleted (and recreated at it), one at a time, down to `partition`; pods
 *   below the partition keep (and are recreated at) the current revision. OnDelete: pods get the
 *   new template only when recreated.
 * - Revisions are ControllerRevisions (`controller-revision-hash` on pods = the revision name);
 *   status has replicas, readyReplicas, availableReplicas, currentReplicas, updatedReplicas,
 *   currentRevision, updateRevision, observedGeneration, as `kubectl rollout status` reads.
 * - `persistentVolumeClaimRetentionPolicy.whenDeleted: Delete` makes the set own its PVCs, so
 *   they go with it; Retain (default) keeps them.
 *
 * Pods are left to a scheduler (no `nodeName`), as upstream. Not done: `maxUnavailable` for
 * rolling updates (alpha upstream), `whenScaled: Delete`.
 */
import { isAlreadyExists, isNotFound, type KubeClient, type KubeObject } from "../../kube/mod.ts";
import type { Informer } from "../../kube/mod.ts";
import { formatLabelSelector, jsonEqual, type LabelSelector } from "../../lib/mod.ts";
import type { ClusterContext, ClusterController } from "./types.ts";
import { EventRecorder } from "./events.ts";
import { WorkQueue } from "./workqueue.ts";
import {
  controllerRef,
  isControlledBy,
  isPodReady,
  keyOf,
  type Meta,
  ownerRefTo,
  type Pod,
  podAvailability,
  type PodTemplate,
  splitKey,
} from "./pods.ts";
import {
  ensureRevision,
  HashCollisionError,
  listRevisions,
  pruneRevisions,
  type Revision,
  revisionTemplate,
} from "./revisions.ts";
import { podInformer } from "./core_informers.ts";

/** Pod label with the name of the revision a pod was made from. */
export const POD_REVISION_LABEL = "controller-revision-hash";
/** Label with the hash on StatefulSet revisions. */
export const REVISION_HASH_LABEL = "controller.kubernetes.io/hash";
/** Pod label with the pod's own name. */
export const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
/** Pod label with the ordinal. */
export const POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";

/** A StatefulSet. */
export interface StatefulSet extends KubeObject {
  metadata: Meta;
  spec: {
    replicas?: number;
    selector?: LabelSelector;
    template: PodTemplate;
    volumeClaimTemplates?: { metadata?: Meta; spec?: Record<string, unknown> }[];
    serviceName?: string;
    podManagementPolicy?: "OrderedReady" | "Parallel";
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
    persistentVolumeClaimRetentionPolicy?: { whenDeleted?: string; whenScaled?: string };
    ordinals?: { start?: number };
  };
  status?: {
    observedGeneration?: number;
    replicas: number;
    readyReplicas?: number;
    currentReplicas?: number;
    updatedReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
    collisionCount?: number;
    availableReplicas: number;
    [k: string]: unknown;
  };
}

function stsPath(ns: string, name?: string): string {
  return `/apis/apps/v1/namespaces/${ns}/statefulsets${name ? `/${name}` : ""}`;
}

function podsPath(ns: string, name?: string): string {
  return `/api/v1/namespaces/${ns}/pods${name ? `/${name}` : ""}`;
}

function pvcPath(ns: string, name?: string): string {
  return `/api/v1/namespaces/${ns}/persistentvolumeclaims${name ? `/${name}` : ""}`;
}

/** The ordinal of a pod of `set`, or -1. */
export function ordinalOf(set: string, pod: string): number {
  const prefix = `${set}-`;
  if (!pod.startsWith(prefix)) return -1;
  const rest = pod.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : -1;
}

function runningAndReady(p: Pod): boolean {
  return p.status?.phase === "Running" && isPodReady(p);
}

/** See module docs. */
export class StatefulSetController implements ClusterController {
  readonly name = "statefulset";
  readonly #kube: KubeClient;
  readonly #now: () => Date;
  readonly #queue: WorkQueue;
  #sets?: Informer<StatefulSet>;
  #pods?: Informer<Pod>;

  readonly #events: EventRecorder;

  constructor(ctx: ClusterContext) {
    this.#events = new EventRecorder(ctx.kube, "statefulset-controller", ctx.now);
    this.#kube = ctx.kube;
    this.#now = ctx.now;
    this.#queue = new WorkQueue("statefulset", (key) => this.#sync(key));
  }

  async start(): Promise<void> {
    this.#sets = this.#kube.informer<StatefulSet>("/apis/apps/v1/statefulsets", undefined, {
      kind: "StatefulSet",
      apiVersion: "apps/v1",
    });
    this.#pods = podInformer(this.#kube);
    const enqueue = (s: StatefulSet) => this.#queue.add(keyOf(s));
    this.#sets.on({ add: enqueue, update: enqueue });
    const podEvent = (p: Pod) => {
      const ref = controllerRef(p);
      if (ref?.kind === "StatefulSet" && ref.apiVersion.startsWith("apps/")) {
        this.#queue.add(`${p.metadata.namespace}/${ref.name}`);
      }
    };
    this.#pods.on({ add: podEvent, update: podEvent, delete: podEvent });
    this.#pods.start();
    this.#sets.start();
    await Promise.all([this.#pods.synced, this.#sets.synced]);
    this.#queue.start();
  }

  async stop(): Promise<void> {
    await this.#queue.stop();
    await Promise.all([this.#sets?.stop(), this.#pods?.stop()]);
  }

  async #setPods(set: StatefulSet): Promise<Pod[]> {
    const sel = formatLabelSelector(set.spec.selector);
    const list = await this.#kube.get<{ items: Pod[] } & KubeObject>(
      podsPath(set.metadata.namespace!),
      { query: { labelSelector: sel === "<none>" ? undefined : sel } },
    );
    return list.items.filter((p) => isControlledBy(p, set.metadata.uid));
  }

  async #sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    let set: StatefulSet;
    try {
      set = await this.#kube.get<StatefulSet>(stsPath(ns, name));
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (set.metadata.deletionTimestamp) return;
    const existing = await listRevisions(this.#kube, set, set.spec.selector);
    let update: Revision;
    let revisions: Revision[];
    try {
      const r = await ensureRevision(this.#kube, set, existing, {
        kind: "StatefulSet",
        template: set.spec.template,
        collisionCount: set.status?.collisionCount,
        hashLabel: REVISION_HASH_LABEL,
      });
      update = r.revision;
      revisions = r.all;
    } catch (e) {
      if (!(e instanceof HashCollisionError)) throw e;
      await this.#kube.update(`${stsPath(ns, name)}/status`, {
        ...set,
        status: {
          ...(set.status ?? { replicas: 0, availableReplicas: 0 }),
          collisionCount: (set.status?.collisionCount ?? 0) + 1,
        },
      });
      throw e;
    }
    const current = revisions.find((r) => r.metadata.name === set.status?.currentRevision) ??
      update;
    await this.#reconcile(set, current, update);
    const pods = await this.#setPods(set);
    await this.#updateStatus(set, pods, current, update);
    const inUse = new Set(pods.map((p) => p.metadata.labels?.[POD_REVISION_LABEL]));
    inUse.add(current.metadata.name);
    inUse.add(update.metadata.name);
    await pruneRevisions(
      this.#kube,
      revisions,
      set.spec.revisionHistoryLimit ?? 10,
      (r) => inUse.has(r.metadata.name),
    );
  }

  /** One pass of `updateStatefulSet`: create, replace, delete and roll pods. */
  async #reconcile(set: StatefulSet, current: Revision, update: Revision): Promise<void> {
    const ns = set.metadata.namespace!;
    const setName = set.metadata.name!;
    const replicas = set.spec.replicas ?? 1;
    const start = set.spec.ordinals?.start ?? 0;
    const monotonic = (set.spec.podManagementPolicy ?? "OrderedReady") === "OrderedReady";
    const rolling = (set.spec.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate";
    const partition = rolling ? set.spec.updateStrategy?.rollingUpdate?.partition ?? 0 : 0;
    const pods = await this.#setPods(set);
    const byOrdinal = new Map<number, Pod>();
    const condemned: Pod[] = [];
    for (const p of pods) {
      const ord = ordinalOf(setName, p.metadata.name!);
      if (ord >= start && ord < start + replicas) byOrdinal.set(ord, p);
      else condemned.push(p);
    }
    // Ordinals below the partition keep the current revision when (re)created.
    const revisionFor = (ord: number) => rolling && ord - start < partition ? current : update;

    for (let ord = start; ord < start + replicas; ord++) {
      const pod = byOrdinal.get(ord);
      if (pod && (pod.status?.phase === "Failed" || pod.status?.phase === "Succeeded")) {
        if (!pod.metadata.deletionTimestamp) await this.#deletePod(ns, pod);
        if (monotonic) return;
        continue;
      }
      if (!pod) {
        await this.#createPod(set, ord, revisionFor(ord));
        if (monotonic) return;
        continue;
      }
      if (monotonic && (pod.metadata.deletionTimestamp || !runningAndReady(pod))) return;
    }

    // Scale down: highest ordinal first; OrderedReady one at a time, all others healthy.
    condemned.sort((a, b) =>
      ordinalOf(setName, b.metadata.name!) - ordinalOf(setName, a.metadata.name!)
    );
    for (const p of condemned) {
      if (p.metadata.deletionTimestamp) {
        if (monotonic) return;
        continue;
      }
      await this.#deletePod(ns, p);
      if (monotonic) return;
    }
    if (!rolling) return;

    // Rolling update: every pod Running and Ready, then the highest outdated one at or above
    // the partition goes.
    for (let ord = start; ord < start + replicas; ord++) {
      const p = byOrdinal.get(ord);
      if (!p || p.metadata.deletionTimestamp || !runningAndReady(p)) return;
    }
    for (let ord = start + replicas - 1; ord >= start + partition; ord--) {
      const p = byOrdinal.get(ord)!;
      if (p.metadata.labels?.[POD_REVISION_LABEL] !== update.metadata.name) {
        await this.#deletePod(ns, p);
        return;
      }
    }
  }

  async #deletePod(ns: string, p: Pod): Promise<void> {
    try {
      await this.#kube.delete(podsPath(ns, p.metadata.name));
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async #createPod(set: StatefulSet, ord: number, revision: Revision): Promise<void> {
    const ns = set.metadata.namespace!;
    const podName = `${set.metadata.name}-${ord}`;
    const template = structuredClone(revisionTemplate(revision) ?? set.spec.template);
    const spec = template.spec;
    const volumes = [...(spec.volumes ?? [])];
    for (const claim of set.spec.volumeClaimTemplates ?? []) {
      const claimName = `${claim.metadata?.name}-${podName}`;
      await this.#ensurePvc(set, claim, claimName);
      const volume = { name: claim.metadata!.name!, persistentVolumeClaim: { claimName } };
      const i = volumes.findIndex((v) => v.name === volume.name);
      if (i >= 0) volumes[i] = volume;
      else volumes.push(volume);
    }
    if (volumes.length) spec.volumes = volumes;
    spec.hostname = podName;
    if (set.spec.serviceName) spec.subdomain = set.spec.serviceName;
    const pod: Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: podName,
        namespace: ns,
        labels: {
          ...(template.metadata?.labels ?? {}),
          [POD_REVISION_LABEL]: revision.metadata.name!,
          [POD_NAME_LABEL]: podName,
          [POD_INDEX_LABEL]: String(ord),
        },
        ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
        ownerReferences: [ownerRefTo(set, "apps/v1", "StatefulSet")],
      },
      spec,
    };
    try {
      await this.#kube.create(podsPath(ns), pod);
      await this.#events.record(
        EventRecorder.subject(set, "StatefulSet", "apps/v1"),
        "Normal",
        "SuccessfulCreate",
        `create Pod ${pod.metadata?.name} in StatefulSet ${set.metadata.name} successful`,
      );
    } catch (e) {
      // Still terminating from a delete: the pod's delete event brings the next sync.
      if (!isAlreadyExists(e)) throw e;
    }
  }

  async #ensurePvc(
    set: StatefulSet,
    claim: NonNullable<StatefulSet["spec"]["volumeClaimTemplates"]>[number],
    name: string,
  ): Promise<void> {
    const ns = set.metadata.namespace!;
    try {
      await this.#kube.get(pvcPath(ns, name));
      return;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const owned = set.spec.persistentVolumeClaimRetentionPolicy?.whenDeleted === "Delete";
    const { status: _s, ...spec } = { ...(claim.spec ?? {}), status: undefined };
    try {
      await this.#kube.create(pvcPath(ns), {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: {
          name,
          namespace: ns,
          labels: { ...(claim.metadata?.labels ?? {}), ...(set.spec.selector?.matchLabels ?? {}) },
          ...(claim.metadata?.annotations ? { annotations: claim.metadata.annotations } : {}),
          ...(owned ? { ownerReferences: [ownerRefTo(set, "apps/v1", "StatefulSet")] } : {}),
        },
        spec,
      });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }

  async #updateStatus(
    set: StatefulSet,
    pods: Pod[],
    current: Revision,
    update: Revision,
  ): Promise<void> {
    const now = this.#now();
    const minReady = set.spec.minReadySeconds ?? 0;
    const replicas = set.spec.replicas ?? 1;
    let ready = 0, available = 0, currentCount = 0, updated = 0;
    for (const p of pods) {
      if (runningAndReady(p) && !p.metadata.deletionTimestamp) {
        ready++;
        const a = podAvailability(p, minReady, now);
        if (a.available) available++;
        else if (a.inMs !== undefined) this.#queue.addAfter(keyOf(set), a.inMs);
      }
      const rev = p.metadata.labels?.[POD_REVISION_LABEL];
      if (rev === current.metadata.name) currentCount++;
      if (rev === update.metadata.name) updated++;
    }
    let currentRevision = current.metadata.name!;
    const rolling = (set.spec.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate";
    // `completeRollingUpdate`: the update revision becomes current once every pod runs it.
    if (rolling && updated === replicas && ready === replicas && pods.length === replicas) {
      currentRevision = update.metadata.name!;
      currentCount = updated;
    }
    const status: NonNullable<StatefulSet["status"]> = {
      ...(set.status ?? { replicas: 0, availableReplicas: 0 }),
      observedGeneration: set.metadata.generation,
      replicas: pods.length,
      readyReplicas: ready,
      currentReplicas: currentCount,
      updatedReplicas: updated,
      currentRevision,
      updateRevision: update.metadata.name!,
      availableReplicas: available,
      collisionCount: set.status?.collisionCount ?? 0,
    };
    if (jsonEqual(status, set.status)) return;
    await this.#kube.update(`${stsPath(set.metadata.namespace!, set.metadata.name)}/status`, {
      ...set,
      status,
    });
  }
}

/** Factory for CLUSTER_CONTROLLERS. */
export function statefulSetController(ctx: ClusterContext): ClusterController {
  return new StatefulSetController(ctx);
}
