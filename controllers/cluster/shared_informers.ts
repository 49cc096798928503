/**
 * One informer per resource for all cluster controllers (client-go's SharedInformerFactory):
 * the scheduler, node lifecycle, workload and endpoints controllers all watch pods and nodes, and
 * separate informers would hold a copy of every pod and node each. {@link sharedKube} hands the
 * controllers a client whose `informer(path)` returns a handle on the one informer for that
 * path: handlers add up, `start` starts it once, `stop` stops it when the last user stops.
 */
import type {
  Informer,
  InformerHandlers,
  InformerOptions,
  KubeClient,
  KubeObject,
  ListFn,
} from "../../kube/mod.ts";

class Shared {
  users = 0;
  started = false;
  constructor(readonly inf: Informer<KubeObject>) {}
}

/** A user's view of a shared informer (the Informer API the controllers use). */
class Handle<T extends KubeObject> {
  #started = false;
  constructor(readonly shared: Shared) {}

  get synced(): Promise<void> {
    return this.shared.inf.synced;
  }
  get name(): string {
    return this.shared.inf.name;
  }
  get path(): string {
    return this.shared.inf.path;
  }
  get resourceVersion(): string {
    return this.shared.inf.resourceVersion;
  }
  get stopped(): boolean {
    return this.shared.inf.stopped;
  }
  hasSynced(): boolean {
    return this.shared.inf.hasSynced();
  }
  on(handlers: InformerHandlers<T>): this {
    const h = handlers as unknown as InformerHandlers<KubeObject>;
    this.shared.inf.on(h);
    // Registered after the first list: replay the cache as adds, as client-go does.
    if (this.shared.inf.hasSynced() && h.add) {
      for (const o of this.shared.inf.list()) void h.add(o);
    }
    return this;
  }
  start(): this {
    if (this.#started) return this;
    this.#started = true;
    this.shared.users++;
    if (!this.shared.started) {
      this.shared.started = true;
      this.shared.inf.start();
    }
    return this;
  }
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    if (--this.shared.users === 0) await this.shared.inf.stop();
  }
  get(name: string, namespace?: string): T | undefined {
    return this.shared.inf.get(name, namespace) as T | undefined;
  }
  list(namespace?: string): T[] {
    return this.shared.inf.list(namespace) as T[];
  }
}

/** A client whose informers are shared by everyone holding it. */
export function sharedKube(kube: KubeClient): KubeClient {
  const byPath = new Map<string, Shared>();
  const informer = <T extends KubeObject>(
    path: string,
    listFn?: ListFn<T>,
    opts?: InformerOptions,
  ) => {
    let s = byPath.get(path);
    if (!s) {
      s = new Shared(
        kube.informer<KubeObject>(path, listFn as ListFn<KubeObject> | undefined, opts),
      );
      byPath.set(path, s);
    }
    return new Handle<T>(s) as unknown as Informer<T>;
  };
  return new Proxy(kube, {
    get(target, prop) {
      if (prop === "informer") return informer;
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
