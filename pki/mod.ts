/**
 * The KubeEdge PKI, one implementation for the hub, the embedded API server and the edge: PEM,
 * EC keys (SEC1 and PKCS#8 as Go writes them), `@peculiar/x509` bound to WebCrypto, the CA and
 * certificate signing with cloudcore's exact fields (docs/protocol.md §3.2, §5.2, §5.4), the node CSR
 * policy, and the join token (§5.3). Imports only lib/.
 *
 * @example
 * ```ts
 * import { createCA, signServerCert, createToken } from "./pki/mod.ts";
 * const ca = await createCA();
 * const server = await signServerCert(ca, { ips: ["127.0.0.1"], dnsNames: ["localhost"] });
 * ```
 *
 * @module
 */
export { x509 } from "./x509.ts";
export {
  decodePem,
  findPem,
  PEM_CERTIFICATE,
  PEM_CERTIFICATE_REQUEST,
  PEM_EC_PRIVATE_KEY,
  PEM_PRIVATE_KEY,
  type PemBlock,
  PemError,
  sha256Hex,
  toArrayBuffer,
  toPem,
} from "./pem.ts";
export {
  ECDSA_SHA256,
  generateEcKeyPair,
  importEcPrivateKey,
  importEcPrivateKeyPem,
  type ImportedKey,
  KeyError,
  pkcs8ToSec1,
  privateKeyToPkcs8,
  privateKeyToSec1,
  sec1ToPkcs8,
} from "./keys.ts";
export {
  type CA,
  type CaProfile,
  CertError,
  type ClientIdentity,
  createCA,
  CsrError,
  ecPrivateKeyPem,
  EXT_KEY_USAGE_CLIENT_AUTH,
  EXT_KEY_USAGE_SERVER_AUTH,
  GO_EXT_KEY_USAGE,
  issueCertificate,
  type IssueParams,
  type KeyPairPem,
  loadKeyPairDer,
  loadKeyPairPem,
  parseCSR,
  randomSerial,
  type ServerCertNames,
  signCSR,
  type SignCsrOptions,
  signServerCert,
  tlsOptions,
  type TlsPemOptions,
  verifyClientCert,
} from "./ca.ts";
export {
  checkExtKeyUsages,
  checkNodeCsr,
  checkNodeName,
  CsrPolicyError,
  NODE_CN_PREFIX,
  NODE_ORGANIZATION,
  nodeCommonName,
  signNodeCSR,
  type SignNodeCsrOptions,
} from "./node_csr.ts";
export {
  createToken,
  parseBearerHeader,
  splitToken,
  TokenError,
  type TokenKey,
  type TokenParts,
  verifyBearer,
} from "./token.ts";
