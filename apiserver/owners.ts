/**
 * Index from an owner's uid to the objects that list it in `ownerReferences`, kept current from
 * the store's change stream, so garbage collection on delete does not scan every object.
 */
import type { KObject } from "./resources.ts";
import type { ChangeEvent, Store } from "./store.ts";

/** Where a dependent lives. */
export interface DependentRef {
  storage: string;
  namespace: string;
  name: string;
}

const SEP = "\u0000";

function ownerUids(o: KObject | undefined): string[] {
  const refs: unknown = o?.metadata?.ownerReferences;
  if (!Array.isArray(refs)) return [];
  return refs.map((r) => r?.uid).filter((u): u is string => typeof u === "string" && u !== "");
}

/** The owner → dependents index of one store. */
export class OwnerIndex {
  readonly #byOwner = new Map<string, Set<string>>();

  constructor(store: Store) {
    for (const storage of store.storages()) {
      for (const o of store.list(storage)) {
        const m = o.obj.metadata!;
        this.#add(ownerUids(o.obj), [storage, m.namespace ?? "", m.name!].join(SEP));
      }
    }
    store.subscribe(store.resourceVersion, (ev) => this.#apply(ev));
  }

  #add(uids: string[], key: string): void {
    for (const uid of uids) {
      let set = this.#byOwner.get(uid);
      if (!set) this.#byOwner.set(uid, set = new Set());
      set.add(key);
    }
  }

  #remove(uids: string[], key: string): void {
    for (const uid of uids) {
      const set = this.#byOwner.get(uid);
      if (!set) continue;
      set.delete(key);
      if (!set.size) this.#byOwner.delete(uid);
    }
  }

  #apply(ev: ChangeEvent): void {
    const key = [ev.storage, ev.namespace, ev.name].join(SEP);
    this.#remove(ownerUids(ev.prev), key);
    if (ev.type !== "DELETED") this.#add(ownerUids(ev.obj), key);
    else this.#remove(ownerUids(ev.obj), key);
  }

  /** Objects that reference `uid` as an owner. */
  dependents(uid: string): DependentRef[] {
    return [...this.#byOwner.get(uid) ?? []].map((k) => {
      const [storage, namespace, name] = k.split(SEP);
      return { storage, namespace, name };
    });
  }
}
