/**
 * Certificates, join token and the :10002 cert server (PROTOCOL.md §5). What other folders may use.
 *
 * @example
 * ```ts
 * import { CertServer, KubeSecretStore, prepareCerts, TokenManager } from "./hub/certs/mod.ts";
 * const { ca, serverCert } = await prepareCerts({ store, advertiseAddress, dnsNames });
 * const tokens = new TokenManager({ ca, store, refreshHours: 12 });
 * await tokens.start();
 * const certServer = new CertServer({ port: 10002, ca, serverCert, nodeExists });
 * await certServer.start();
 * ```
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
  type ServerCertNames,
  signCSR,
  type SignCsrOptions,
  signServerCert,
  tlsOptions,
  type TlsPemOptions,
  verifyClientCert,
} from "./pki.ts";
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
export {
  CA_DATA,
  CA_KEY_DATA,
  CA_SECRET,
  type CertSource,
  CLOUDCORE_DATA,
  CLOUDCORE_KEY_DATA,
  CLOUDCORE_SECRET,
  KubeSecretStore,
  MemorySecretStore,
  prepareCerts,
  type PrepareCertsOptions,
  type PreparedCerts,
  SECRET_NAMESPACE,
  type SecretStore,
  TOKEN_DATA,
  TOKEN_SECRET,
} from "./store.ts";
export {
  intervalScheduler,
  readStoredToken,
  type Scheduler,
  TokenManager,
  type TokenManagerOptions,
} from "./token_manager.ts";
export {
  CertServer,
  type CertServerCounters,
  type CertServerOptions,
  DEFAULT_SIGNING_DAYS,
  MAX_CSR_BODY,
} from "./server.ts";
