/** The pods a simulated node runs: what the hub sent it (inserts, updates, deletes). */

/** The parts of a pod the simulated kubelet uses. */
export interface SimPod {
  namespace: string;
  name: string;
  uid: string;
  containers: string[];
  /** When the node received it (container start time). */
  startedAt: Date;
}

/** A node's pods by `namespace/name`. */
export class SimPods {
  readonly #pods = new Map<string, SimPod>();

  get size(): number {
    return this.#pods.size;
  }

  /** Records a pod from a downstream pod message's content. */
  upsert(namespace: string, name: string, content: unknown): void {
    const pod = content as {
      metadata?: { uid?: string };
      spec?: { containers?: { name?: string }[] };
    } | null;
    const key = `${namespace}/${name}`;
    const prev = this.#pods.get(key);
    this.#pods.set(key, {
      namespace,
      name,
      uid: pod?.metadata?.uid ?? prev?.uid ?? "",
      containers: (pod?.spec?.containers ?? []).map((c) => c.name ?? "").filter(Boolean),
      startedAt: prev?.startedAt ?? new Date(),
    });
  }

  delete(namespace: string, name: string): void {
    this.#pods.delete(`${namespace}/${name}`);
  }

  get(namespace: string, name: string): SimPod | undefined {
    return this.#pods.get(`${namespace}/${name}`);
  }

  list(): SimPod[] {
    return [...this.#pods.values()];
  }
}
