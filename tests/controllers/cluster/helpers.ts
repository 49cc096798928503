/**
 * A small cluster for the workload controller tests: the embedded API (driven with real
 * kubectl), a KubeClient on it, the controllers under test, Node objects made Ready, and a fake
 * kubelet that runs bound pods (Running + Ready) and confirms graceful deletions as an edge would.
 */
import { KubeClient, type KubeObject } from "../../../kube/mod.ts";
import type { ClusterContext, ClusterController } from "../../../controllers/cluster/mod.ts";
import { kubectlOk, startTestApi, type TestApi } from "../../apiserver/helpers.ts";
import { waitUntil } from "../../wait.ts";
import type { Pod } from "../../../controllers/cluster/pods.ts";

export { kubectl, kubectlOk } from "../../apiserver/helpers.ts";

/** A running test cluster. */
export interface TestCluster {
  api: TestApi;
  kube: KubeClient;
  ctx: ClusterContext;
  controllers: ClusterController[];
  kubelet: FakeKubelet;
  close(): Promise<void>;
}

/** Starts API, client, fake kubelet and the controllers `make` builds. */
export async function startCluster(
  make: (ctx: ClusterContext) => ClusterController[],
  opts: { now?: () => Date; kubelet?: boolean } = {},
): Promise<TestCluster> {
  const api = await startTestApi();
  const kube = KubeClient.fromYaml(api.kubeconfigYaml, { backoffMs: 20, maxBackoffMs: 200 });
  const ctx: ClusterContext = {
    kube,
    now: opts.now ?? (() => new Date()),
    nodeMonitorGracePeriodMs: 40_000,
  };
  const kubelet = new FakeKubelet(kube, opts.kubelet ?? true);
  const controllers = make(ctx);
  try {
    await kubelet.start();
    for (const c of controllers) await c.start();
  } catch (e) {
    await kube.close();
    await api.dispose();
    throw e;
  }
  return {
    api,
    kube,
    ctx,
    controllers,
    kubelet,
    async close() {
      for (const c of [...controllers].reverse()) await c.stop();
      await kubelet.stop();
      await kube.close();
      await api.dispose();
    },
  };
}

/** Creates a Ready node with labels and taints. */
export async function createNode(
  c: TestCluster,
  name: string,
  labels: Record<string, string> = {},
  taints: { key: string; value?: string; effect: string }[] = [],
): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  await c.kube.create("/api/v1/nodes", {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...labels } },
    spec: taints.length ? { taints } : {},
  });
  await c.kube.patch(
    `/api/v1/nodes/${name}/status`,
    JSON.stringify({
      status: {
        conditions: [{
          type: "Ready",
          status: "True",
          reason: "KubeletReady",
          lastHeartbeatTime: now,
          lastTransitionTime: now,
        }],
      },
    }),
    "application/merge-patch+json",
  );
}

/** Lists pods of a namespace (default) as objects. */
export async function listPods(c: TestCluster, selector?: string, ns = "default"): Promise<Pod[]> {
  const list = await c.kube.get<{ items: Pod[] } & KubeObject>(
    `/api/v1/namespaces/${ns}/pods`,
    { query: { labelSelector: selector } },
  );
  return list.items;
}

/** Sets a pod's phase (and Ready condition) as a kubelet reports it. */
export async function setPodPhase(
  c: TestCluster,
  pod: Pod,
  phase: "Running" | "Succeeded" | "Failed",
  ready = phase === "Running",
): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  await c.kube.patch(
    `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`,
    JSON.stringify({
      status: {
        phase,
        conditions: [{ type: "Ready", status: ready ? "True" : "False", lastTransitionTime: now }],
      },
    }),
    "application/merge-patch+json",
  );
}

/**
 * The kubelets of every node at once: bound Pending pods become Running and Ready (unless
 * `autoRun` is off), and a pod marked for graceful deletion is removed (grace 0).
 */
export class FakeKubelet {
  readonly #kube: KubeClient;
  readonly #autoRun: boolean;
  #stop = false;

  constructor(kube: KubeClient, autoRun: boolean) {
    this.#kube = kube;
    this.#autoRun = autoRun;
  }

  start(): Promise<void> {
    const inf = this.#kube.informer<Pod>("/api/v1/pods", undefined, {
      kind: "Pod",
      apiVersion: "v1",
    });
    const handle = async (p: Pod) => {
      if (this.#stop || !p.spec.nodeName) return;
      const path = `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}`;
      try {
        if (p.metadata.deletionTimestamp) {
          await this.#kube.delete(path, { gracePeriodSeconds: 0 });
        } else if (this.#autoRun && p.status?.phase === "Pending") {
          const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
          await this.#kube.patch(
            `${path}/status`,
            JSON.stringify({
              status: {
                phase: "Running",
                conditions: [{ type: "Ready", status: "True", lastTransitionTime: now }],
              },
            }),
            // Strategic: conditions merge by type, so PodScheduled stays (as a kubelet's).
            "application/strategic-merge-patch+json",
          );
        }
      } catch {
        // Gone meanwhile: nothing to do.
      }
    };
    inf.on({ add: handle, update: handle }).start();
    return inf.synced;
  }

  /** Stops reacting (the informer ends with the client). */
  stop(): Promise<void> {
    this.#stop = true;
    return Promise.resolve();
  }
}

/** Polls until `probe` is truthy (15 s). */
export function eventually<T>(probe: () => T | Promise<T>, what: string) {
  return waitUntil(probe, what, { timeoutMs: 15_000, intervalMs: 30 });
}

/** `kubectl apply -f -` of `yaml`. */
export function apply(c: TestCluster, yaml: string): Promise<string> {
  return kubectlOk(c.api, ["apply", "-f", "-"], yaml);
}
