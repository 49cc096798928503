/**
 * Every active namespace gets what kube-controller-manager gives it: the `default`
 * ServiceAccount (serviceaccount controller) and the `kube-root-ca.crt` ConfigMap with the API's
 * CA (root-ca-cert-publisher), which pods' projected service-account volumes read. Tokens come
 * from the API's TokenRequest (`serviceaccounts/<name>/token`).
 */
import {
  type Informer,
  isAlreadyExists,
  type KubeClient,
  type KubeObject,
} from "../../kube/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import type { ClusterContext, ClusterController } from "./types.ts";
import { WorkQueue } from "./workqueue.ts";

const log = createLogger("serviceaccounts-controller");

export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";

/** See module docs. */
export class ServiceAccountsController implements ClusterController {
  readonly name = "serviceaccounts-controller";
  readonly #kube: KubeClient;
  readonly #namespaces: Informer<KubeObject>;
  readonly #queue: WorkQueue;

  constructor(readonly ctx: ClusterContext) {
    this.#kube = ctx.kube;
    this.#queue = new WorkQueue("serviceaccounts", (ns) => this.#sync(ns));
    this.#namespaces = ctx.kube.informer("/api/v1/namespaces", undefined, {
      kind: "Namespace",
      apiVersion: "v1",
    });
    const enqueue = (n: KubeObject) => this.#queue.add(n.metadata?.name ?? "");
    this.#namespaces.on({ add: enqueue, update: enqueue });
  }

  async start(): Promise<void> {
    this.#namespaces.start();
    await this.#namespaces.synced;
    this.#queue.start();
  }

  async stop(): Promise<void> {
    await this.#queue.stop();
    await this.#namespaces.stop();
  }

  async #ensure(path: string, obj: KubeObject): Promise<void> {
    try {
      await this.#kube.create(path, obj);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }

  async #sync(ns: string): Promise<void> {
    const n = this.#namespaces.get(ns);
    if (
      !n || n.metadata?.deletionTimestamp ||
      (n.status as { phase?: string } | undefined)?.phase === "Terminating"
    ) return;
    const base = `/api/v1/namespaces/${encodeURIComponent(ns)}`;
    const sa = await this.#kube.get(`${base}/serviceaccounts/default`).catch(() => undefined);
    if (!sa) {
      await this.#ensure(`${base}/serviceaccounts`, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "default", namespace: ns },
      });
    }
    if (!this.ctx.caPem) return;
    const cm = await this.#kube.get<KubeObject & { data?: Record<string, string> }>(
      `${base}/configmaps/${ROOT_CA_CONFIGMAP}`,
    ).catch(() => undefined);
    const want = { "ca.crt": this.ctx.caPem };
    if (!cm) {
      await this.#ensure(`${base}/configmaps`, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: ROOT_CA_CONFIGMAP,
          namespace: ns,
          annotations: {
            "kubernetes.io/description":
              "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.",
          },
        },
        data: want,
      });
    } else if (cm.data?.["ca.crt"] !== want["ca.crt"]) {
      await this.#kube.patch(
        `${base}/configmaps/${ROOT_CA_CONFIGMAP}`,
        { data: want },
        "application/merge-patch+json",
      )
        .catch((e) => log.debug("root CA not updated", { ns, error: (e as Error).message }));
    }
  }
}

/** The factory CLUSTER_CONTROLLERS lists. */
export function serviceAccountsController(ctx: ClusterContext): ClusterController {
  return new ServiceAccountsController(ctx);
}
