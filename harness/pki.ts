/**
 * Certificates for benches and failure tests: a CA, a server certificate for 127.0.0.1 and node
 * client certificates signed directly with the CA (the same `signCSR` the cert server runs, minus
 * the HTTPS round trip, so 10k nodes take seconds instead of minutes). One EC key is shared by
 * all node certificates of a bench: key generation is the expensive part and the hub only checks
 * the chain and the CN.
 */
import {
  type CA,
  createCA,
  generateEcKeyPair,
  type KeyPairPem,
  PEM_EC_PRIVATE_KEY,
  privateKeyToSec1,
  signCSR,
  signServerCert,
  toPem,
  x509,
} from "../pki/mod.ts";
import { edgeSubject } from "../edge/pki.ts";
import type { NodeCredentials } from "../edge/sim/mod.ts";

/** A CA with a server certificate for 127.0.0.1/localhost. */
export interface BenchPki {
  ca: CA;
  server: KeyPairPem;
}

/** Creates a CA and a server cert for loopback. */
export async function createBenchPki(): Promise<BenchPki> {
  const ca = await createCA();
  const server = await signServerCert(ca, { ips: ["127.0.0.1"], dnsNames: ["localhost"] });
  return { ca, server };
}

/** Issues node certificates (CN `system:node:<name>`) with one shared key; caches per name. */
export class NodeCertIssuer {
  readonly #cache = new Map<string, Promise<NodeCredentials>>();
  #base: Promise<{ keys: CryptoKeyPair; keyPem: string }> | undefined;

  constructor(readonly pki: BenchPki) {}

  /** Credentials of `nodeName`. */
  credentials(nodeName: string): Promise<NodeCredentials> {
    let p = this.#cache.get(nodeName);
    if (!p) {
      p = this.#issue(nodeName);
      this.#cache.set(nodeName, p);
    }
    return p;
  }

  async #issue(nodeName: string): Promise<NodeCredentials> {
    this.#base ??= (async () => {
      const keys = await generateEcKeyPair();
      const keyPem = toPem(await privateKeyToSec1(keys.privateKey), PEM_EC_PRIVATE_KEY);
      return { keys, keyPem };
    })();
    const base = await this.#base;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: edgeSubject(nodeName),
      keys: base.keys,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    });
    const der = await signCSR(this.pki.ca, new Uint8Array(csr.rawData), {
      extKeyUsages: [],
      validityDays: 2,
    });
    return { caPem: this.pki.ca.certPem, certPem: toPem(der, "CERTIFICATE"), keyPem: base.keyPem };
  }
}
