/**
 * Certificates, join token and the :10002 cert server (docs/protocol.md §5). What other folders may use.
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
 *
 * @module
 */
export {
  CA_DATA,
  CA_KEY_DATA,
  CA_SECRET,
  type CertSource,
  CLOUDCORE_DATA,
  CLOUDCORE_KEY_DATA,
  CLOUDCORE_SECRET,
  decodeSecretData,
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
