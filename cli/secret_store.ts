/**
 * The hub's certificate and token Secrets through its own {@link KubeClient}: the same reads and
 * writes as hub/certs' `KubeSecretStore` (get → null on 404; put → the namespace once, then
 * create, or replace on 409 as cloudcore's CreateOrUpdate), but as raw JSON, so with the
 * embedded API they stay in this process (no TLS session, no client-node) and get the client's
 * rate limit and retries. `edgecloud serve` needs them before it is ready (issue 23).
 */
import { decodeSecretData, type SecretStore } from "../hub/certs/mod.ts";
import { KubeApiError, type KubeClient } from "../kube/mod.ts";
import { encodeBase64 } from "../lib/mod.ts";

const is = (err: unknown, code: number) => err instanceof KubeApiError && err.code === code;

/** A {@link SecretStore} on a {@link KubeClient}. */
export class KubeClientSecretStore implements SecretStore {
  readonly #namespacesEnsured = new Set<string>();

  constructor(private readonly kube: KubeClient) {}

  /** @inheritdoc */
  async get(namespace: string, name: string): Promise<Record<string, Uint8Array> | null> {
    let secret: { data?: Record<string, string> };
    try {
      secret = await this.kube.get(`/api/v1/namespaces/${namespace}/secrets/${name}`);
    } catch (err) {
      if (is(err, 404)) return null;
      throw err;
    }
    return decodeSecretData(secret.data);
  }

  /** @inheritdoc */
  async put(namespace: string, name: string, data: Record<string, Uint8Array>): Promise<void> {
    await this.#ensureNamespace(namespace);
    const body = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace },
      type: "Opaque",
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, encodeBase64(v)])),
    };
    const secrets = `/api/v1/namespaces/${namespace}/secrets`;
    try {
      await this.kube.create(secrets, body);
      return;
    } catch (err) {
      if (!is(err, 409)) throw err;
    }
    // Exists: replace it; a replace without resourceVersion is an unconditional update.
    await this.kube.update(`${secrets}/${name}`, body);
  }

  async #ensureNamespace(namespace: string): Promise<void> {
    if (this.#namespacesEnsured.has(namespace)) return;
    try {
      await this.kube.create("/api/v1/namespaces", {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: namespace },
      });
    } catch (err) {
      if (!is(err, 409)) throw err;
    }
    this.#namespacesEnsured.add(namespace);
  }
}
