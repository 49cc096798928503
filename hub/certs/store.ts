/**
 * Persistence of the certificate material in Kubernetes Secrets, exactly where cloudcore keeps it
 * (§5.3, §5.4), and `prepareCerts`, the equivalent of cloudcore's `PrepareAllCerts`.
 *
 * @example
 * ```ts
 * const kc = new KubeConfig();
 * kc.loadFromDefault();
 * const store = new KubeSecretStore(kc.makeApiClient(CoreV1Api));
 * const { ca, serverCert } = await prepareCerts({
 *   store, advertiseAddress: ["127.0.0.1"], dnsNames: ["localhost"],
 * });
 * ```
 */
import type { CoreV1Api, V1Secret } from "@kubernetes/client-node";
import { createLogger, decodeBase64, encodeBase64 } from "../../lib/mod.ts";
import {
  type CA,
  CertError,
  createCA,
  type KeyPairPem,
  loadKeyPairDer,
  loadKeyPairPem,
  signServerCert,
  x509,
} from "../../pki/mod.ts";

const log = createLogger("certs");

/** Namespace of the KubeEdge secrets. */
export const SECRET_NAMESPACE = "kubeedge";
/** CA secret name and keys (DER). */
export const CA_SECRET = "casecret";
/** Key of the CA certificate DER in {@link CA_SECRET}. */
export const CA_DATA = "cadata";
/** Key of the CA private key SEC1 DER in {@link CA_SECRET}. */
export const CA_KEY_DATA = "cakeydata";
/** Server certificate secret name. */
export const CLOUDCORE_SECRET = "cloudcoresecret";
/** Key of the server certificate DER in {@link CLOUDCORE_SECRET}. */
export const CLOUDCORE_DATA = "cloudcoredata";
/** Key of the server private key SEC1 DER in {@link CLOUDCORE_SECRET}. */
export const CLOUDCORE_KEY_DATA = "cloudcorekeydata";
/** Token secret name. */
export const TOKEN_SECRET = "tokensecret";
/** Key of the join token in {@link TOKEN_SECRET}. */
export const TOKEN_DATA = "tokendata";

/** Where Secrets live; an in-memory map in unit tests, the Kubernetes API in production. */
export interface SecretStore {
  /** Returns the secret's data, or null if the secret does not exist. */
  get(namespace: string, name: string): Promise<Record<string, Uint8Array> | null>;
  /** Creates the secret or replaces its data. */
  put(namespace: string, name: string, data: Record<string, Uint8Array>): Promise<void>;
}

/** A `SecretStore` in memory (tests, `--no-kube` experiments). */
export class MemorySecretStore implements SecretStore {
  /** The stored secrets by `namespace/name`. */
  readonly secrets = new Map<string, Record<string, Uint8Array>>();

  /** @inheritdoc */
  get(namespace: string, name: string): Promise<Record<string, Uint8Array> | null> {
    return Promise.resolve(this.secrets.get(`${namespace}/${name}`) ?? null);
  }

  /** @inheritdoc */
  put(namespace: string, name: string, data: Record<string, Uint8Array>): Promise<void> {
    this.secrets.set(`${namespace}/${name}`, { ...data });
    return Promise.resolve();
  }
}

/** A `SecretStore` on the Kubernetes API (`CoreV1Api` of `@kubernetes/client-node`). */
export class KubeSecretStore implements SecretStore {
  #namespacesEnsured = new Set<string>();

  /** @param api a CoreV1Api client, e.g. `kubeConfig.makeApiClient(CoreV1Api)`. */
  constructor(private readonly api: CoreV1Api) {}

  /** @inheritdoc */
  async get(namespace: string, name: string): Promise<Record<string, Uint8Array> | null> {
    let secret: V1Secret;
    try {
      secret = await this.api.readNamespacedSecret({ name, namespace });
    } catch (err) {
      if (isStatus(err, 404)) return null;
      throw err;
    }
    return decodeSecretData(secret.data);
  }

  /** @inheritdoc */
  async put(namespace: string, name: string, data: Record<string, Uint8Array>): Promise<void> {
    await this.#ensureNamespace(namespace);
    const body: V1Secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace },
      type: "Opaque",
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, encodeBase64(v)])),
    };
    try {
      await this.api.createNamespacedSecret({ namespace, body });
      return;
    } catch (err) {
      if (!isStatus(err, 409)) throw err;
    }
    // Exists: replace it (as cloudcore's CreateOrUpdate); a replace without resourceVersion is an
    // unconditional update.
    await this.api.replaceNamespacedSecret({ name, namespace, body });
  }

  async #ensureNamespace(namespace: string): Promise<void> {
    if (this.#namespacesEnsured.has(namespace)) return;
    try {
      await this.api.createNamespace({ body: { metadata: { name: namespace } } });
    } catch (err) {
      if (!isStatus(err, 409)) throw err;
    }
    this.#namespacesEnsured.add(namespace);
  }
}

/** Options of {@link prepareCerts}. */
export interface PrepareCertsOptions {
  /** Where the Secrets are read from and written to. */
  store: SecretStore;
  /** `tlsCAFile` (PEM); used with `caKeyFile` if both exist. */
  caFile?: string;
  /** `tlsCAKeyFile` (PEM, SEC1 or PKCS#8). */
  caKeyFile?: string;
  /** `tlsCertFile` (PEM); used with `keyFile` if both exist. */
  certFile?: string;
  /** `tlsPrivateKeyFile` (PEM). */
  keyFile?: string;
  /** IP SANs of a newly signed server certificate. */
  advertiseAddress: string[];
  /** DNS SANs of a newly signed server certificate. */
  dnsNames: string[];
}

/** Where a piece of material came from. */
export type CertSource = "file" | "secret" | "generated";

/** Result of {@link prepareCerts}. */
export interface PreparedCerts {
  /** The CA (also the key for tokens). */
  ca: CA;
  /** The cloudcore server certificate used on :10000 and :10002. */
  serverCert: KeyPairPem;
  /** Where the CA and the server cert came from. */
  source: { ca: CertSource; serverCert: CertSource };
}

/**
 * cloudcore's `PrepareAllCerts`: the CA from the files if both exist, else from Secret
 * `kubeedge/casecret`, else a new one; the server cert likewise from the files, Secret
 * `kubeedge/cloudcoresecret`, or newly signed. Whatever is used is saved back to the Secrets.
 *
 * Beyond cloudcore: a server cert from the Secret that is not signed by the CA in use, or that
 * lacks one of the configured SANs, is re-signed (cloudcore keeps serving it and edges then fail
 * hostname verification).
 */
export async function prepareCerts(opts: PrepareCertsOptions): Promise<PreparedCerts> {
  const { store } = opts;
  let ca: CA;
  let caSource: CertSource;
  const caFiles = await readPair(opts.caFile, opts.caKeyFile, "tlsCAFile", "tlsCAKeyFile");
  if (caFiles) {
    ca = await loadKeyPairPem(caFiles.cert, caFiles.key);
    caSource = "file";
  } else {
    const secret = await store.get(SECRET_NAMESPACE, CA_SECRET);
    if (secret?.[CA_DATA] && secret[CA_KEY_DATA]) {
      ca = await loadKeyPairDer(secret[CA_DATA], secret[CA_KEY_DATA]);
      caSource = "secret";
    } else {
      ca = await createCA();
      caSource = "generated";
    }
  }
  if (caSource !== "secret") {
    await store.put(SECRET_NAMESPACE, CA_SECRET, {
      [CA_DATA]: ca.certDer,
      [CA_KEY_DATA]: ca.keyDer,
    });
  }

  let serverCert: KeyPairPem | null = null;
  let serverSource: CertSource = "generated";
  const serverFiles = await readPair(
    opts.certFile,
    opts.keyFile,
    "tlsCertFile",
    "tlsPrivateKeyFile",
  );
  if (serverFiles) {
    serverCert = await loadKeyPairPem(serverFiles.cert, serverFiles.key);
    serverSource = "file";
  } else {
    const secret = await store.get(SECRET_NAMESPACE, CLOUDCORE_SECRET);
    if (secret?.[CLOUDCORE_DATA] && secret[CLOUDCORE_KEY_DATA]) {
      const loaded = await loadKeyPairDer(secret[CLOUDCORE_DATA], secret[CLOUDCORE_KEY_DATA]);
      const problem = await serverCertProblem(ca, loaded, opts);
      if (problem) {
        log.warn("re-signing server certificate from secret", { reason: problem });
      } else {
        serverCert = loaded;
        serverSource = "secret";
      }
    }
  }
  if (!serverCert) {
    serverCert = await signServerCert(ca, { ips: opts.advertiseAddress, dnsNames: opts.dnsNames });
    serverSource = "generated";
  }
  if (serverSource !== "secret") {
    await store.put(SECRET_NAMESPACE, CLOUDCORE_SECRET, {
      [CLOUDCORE_DATA]: serverCert.certDer,
      [CLOUDCORE_KEY_DATA]: serverCert.keyDer,
    });
  }
  log.info("certificates ready", { ca: caSource, serverCert: serverSource });
  return { ca, serverCert, source: { ca: caSource, serverCert: serverSource } };
}

async function serverCertProblem(
  ca: CA,
  pair: KeyPairPem,
  opts: PrepareCertsOptions,
): Promise<string | null> {
  const signed = pair.cert.issuer === ca.cert.subject &&
    await pair.cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true }).catch(() =>
      false
    );
  if (!signed) return "not signed by the current CA";
  const ext = pair.cert.getExtension(x509.SubjectAlternativeNameExtension);
  const have = new Set((ext?.names.items ?? []).map((n) => `${n.type}:${n.value}`));
  const want = [
    ...opts.advertiseAddress.filter((a) => a !== "").map((a) => `ip:${a}`),
    ...opts.dnsNames.filter((d) => d !== "").map((d) => `dns:${d}`),
  ];
  const missing = want.filter((w) => !have.has(w));
  return missing.length > 0 ? `missing SANs ${missing.join(",")}` : null;
}

async function readPair(
  certFile: string | undefined,
  keyFile: string | undefined,
  certField: string,
  keyField: string,
): Promise<{ cert: string; key: string } | null> {
  const cert = certFile ? await readIfExists(certFile) : null;
  const key = keyFile ? await readIfExists(keyFile) : null;
  if (cert === null && key === null) return null;
  if (cert === null || key === null) {
    const missing = cert === null
      ? `${certField} ${certFile ?? "(unset)"}`
      : `${keyField} ${keyFile ?? "(unset)"}`;
    const present = cert === null ? `${keyField} ${keyFile}` : `${certField} ${certFile}`;
    throw new CertError(`${present} exists but ${missing} does not; provide both or neither`);
  }
  return { cert, key };
}

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

// client-node's ApiException, read by shape (its numeric `code`) so that loading the hub does
// not load client-node (kube/client_node.ts).
function isStatus(err: unknown, code: number): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === code;
}

/** A Secret's `data` (base64 values) as bytes per key. */
export function decodeSecretData(
  data: Record<string, string> | undefined,
): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const [key, value] of Object.entries(data ?? {})) out[key] = decodeBase64(value);
  return out;
}
