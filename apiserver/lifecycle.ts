/**
 * What happens to objects after a delete, as kube-apiserver and the controller-manager's garbage
 * collector and namespace controller do it: dependents collected by owner reference
 * (background, foreground or orphan), a terminating namespace emptied then removed, a deleted
 * CRD's objects removed with it.
 */
import { ApiError } from "./errors.ts";
import { type KObject, type ResourceDef, type ResourceRegistry, storageKey } from "./resources.ts";
import type { OwnerIndex } from "./owners.ts";
import { cloneStored, type Store } from "./store.ts";
import type { DeleteOptions, Target } from "./rest.ts";
import { createLogger } from "../lib/mod.ts";

const log = createLogger("apiserver");

/** What the lifecycle works on; `delete` is the REST delete (graceful rules, finalizers). */
export interface LifecycleDeps {
  store: Store;
  registry: ResourceRegistry;
  owners: OwnerIndex;
  delete(t: Target, opts: DeleteOptions): Promise<unknown>;
}

/** Garbage collection, namespace termination and CRD removal (see module docs). */
export class ObjectLifecycle {
  readonly #d: LifecycleDeps;

  constructor(deps: LifecycleDeps) {
    this.#d = deps;
  }

  async removeCrd(crd: KObject): Promise<void> {
    const spec = (crd.spec ?? {}) as Record<string, unknown>;
    const plural = String((spec.names as Record<string, unknown> | undefined)?.plural ?? "");
    const storage = storageKey({ group: String(spec.group ?? ""), resource: plural });
    this.#d.registry.removeCrd(crd.metadata!.name!);
    for (const o of this.#d.store.list(storage)) {
      const m = o.obj.metadata!;
      await this.#d.store.mutate(
        storage,
        m.namespace ?? "",
        m.name!,
        (cur) => cur ? { kind: "delete" } : { kind: "noop" },
      );
    }
  }

  /** Garbage collection of objects owned by `owner` (background/foreground delete, or orphan). */
  async collectDependents(
    owner: KObject,
    policy: DeleteOptions["propagationPolicy"],
  ): Promise<void> {
    const uid = owner.metadata?.uid;
    if (!uid) return;
    for (const dep of this.#d.owners.dependents(uid)) {
      const { storage } = dep;
      const o = this.#d.store.get(storage, dep.namespace, dep.name);
      const refs = o?.obj.metadata?.ownerReferences;
      if (!o || !refs?.some((r) => r.uid === uid)) continue;
      const def = this.defForStorage(storage);
      if (!def) continue;
      const t: Target = { def, namespace: dep.namespace, name: dep.name };
      try {
        if (policy === "Orphan" || refs.length > 1) {
          await this.#d.store.mutate(storage, t.namespace, t.name!, (cur) => {
            if (!cur) return { kind: "noop" };
            const next = cloneStored(cur);
            next.metadata!.ownerReferences = next.metadata!.ownerReferences!.filter((r) =>
              r.uid !== uid
            );
            if (!next.metadata!.ownerReferences.length) delete next.metadata!.ownerReferences;
            return { kind: "put", obj: next };
          });
        } else {
          await this.#d.delete(t, {
            propagationPolicy: policy === "Foreground" ? "Foreground" : "Background",
            gracePeriodSeconds: 0,
          });
        }
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) {
          log.warn("garbage collection failed", { storage, name: t.name, error: e });
        }
      }
    }
  }

  defForStorage(storage: string): ResourceDef | undefined {
    return this.#d.registry.all().find((d) => storageKey(d) === storage);
  }

  /** Deletes everything in a terminating namespace, then the namespace once it is empty. */
  async terminateNamespace(ns: string): Promise<void> {
    for (const storage of this.#d.store.storages()) {
      const def = this.defForStorage(storage);
      if (!def?.namespaced) continue;
      for (const o of this.#d.store.list(storage, ns)) {
        try {
          await this.#d.delete({ def, namespace: ns, name: o.obj.metadata!.name }, {
            gracePeriodSeconds: 0,
          });
        } catch (e) {
          if (!(e instanceof ApiError && e.code === 404)) {
            log.warn("namespace cleanup failed", { ns, error: e });
          }
        }
      }
    }
    await this.maybeFinalizeNamespace(ns);
  }

  async maybeFinalizeNamespace(ns: string): Promise<void> {
    const nsObj = this.#d.store.get("namespaces", "", ns);
    if (!nsObj?.obj.metadata?.deletionTimestamp) return;
    for (const storage of this.#d.store.storages()) {
      if (storage === "namespaces") continue;
      if (this.#d.store.list(storage, ns).length) return;
    }
    await this.#d.store.mutate(
      "namespaces",
      "",
      ns,
      (cur) => cur ? { kind: "delete" } : { kind: "noop" },
    );
  }
}
