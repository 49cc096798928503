/**
 * Edge-side key and CSR, as edgecore's certmanager makes them (docs/protocol.md §5.2 step 5): a new
 * ECDSA P-256 key and a CSR with C=CN, O=system:nodes, L=Hangzhou, ST=Zhejiang,
 * CN=system:node:<nodeName>; the key is kept as SEC1 `EC PRIVATE KEY`.
 *
 * @example
 * ```ts
 * const { csrDer, keyPem } = await createEdgeCsr("edge-1");
 * ```
 */
import {
  ECDSA_SHA256,
  generateEcKeyPair,
  PEM_EC_PRIVATE_KEY,
  privateKeyToSec1,
  toPem,
  x509,
} from "../pki/mod.ts";

/** A new edge key with its CSR. */
export interface EdgeCsr {
  /** PKCS#10 CSR DER (the `/edge.crt` request body). */
  csrDer: Uint8Array;
  /** The private key. */
  key: CryptoKey;
  /** SEC1 DER of the key. */
  keyDer: Uint8Array;
  /** SEC1 PEM (`EC PRIVATE KEY`), what edgecore writes to server.key. */
  keyPem: string;
}

/** The subject edgecore puts in its CSR, in Go's RDN order (C, O, L, ST, CN). */
export function edgeSubject(nodeName: string): x509.JsonName {
  return [
    { C: ["CN"] },
    { O: ["system:nodes"] },
    { L: ["Hangzhou"] },
    { ST: ["Zhejiang"] },
    { CN: [`system:node:${nodeName}`] },
  ];
}

/** Creates a new ECDSA P-256 key and the CSR edgecore sends for `nodeName`. */
export async function createEdgeCsr(nodeName: string): Promise<EdgeCsr> {
  const keys = await generateEcKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: edgeSubject(nodeName),
    keys,
    signingAlgorithm: ECDSA_SHA256,
  });
  const keyDer = await privateKeyToSec1(keys.privateKey);
  return {
    csrDer: new Uint8Array(csr.rawData),
    key: keys.privateKey,
    keyDer,
    keyPem: toPem(keyDer, PEM_EC_PRIVATE_KEY),
  };
}
