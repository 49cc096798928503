/**
 * What `/edge.crt` may sign: a client certificate for the one node the request is authenticated
 * as, and nothing else.
 *
 * cloudcore v1.23.1 copies the CSR's CN, O, DNS and IP SANs into the certificate and honours any
 * `ExtKeyUsages` header, so any holder of the join token or of one node's certificate can mint a
 * certificate for another node, for `O=system:masters`, or a server certificate for the hub's own
 * address (docs/security.md, "Certificate server"). edgecloud signs only what edgecore itself asks
 * for (edge/pkg/edgehub/certificate/certmanager.go: `CN=system:node:<node>, O=system:nodes`, no
 * SANs, no `ExtKeyUsages` header) and refuses every other request with 403 and the reason:
 *
 * - the node name (the `NodeName` header) must be a valid Kubernetes node name;
 * - the CSR's subject must have exactly one CN, `system:node:<node>`, and exactly one O,
 *   `system:nodes`; other attributes edgecore adds (C, ST, L) are accepted and not copied. The
 *   one exception is the fixed subject edgecore before v1.18 asks for whatever its node
 *   (`CN=kubeedge.io, O=kubeEdge`, KubeEdge v1.15's certmanager; `O=KubeEdge` in cloudcore's
 *   check): it is read as a request for the authenticated node's own certificate, so an older
 *   edge joins, and what it gets still names only its node (cloudcore copies that subject, and
 *   accepts a certificate carrying it as any node, which is the hole this module closes);
 * - the CSR must request no extension (no SANs, no key usages, no basic constraints);
 * - `ExtKeyUsages`, when sent, must be `[2]` (ClientAuth) or empty.
 *
 * The certificate is then built from the node name, not copied from the CSR: subject
 * `CN=system:node:<node>, O=system:nodes`, ClientAuth only, no SANs.
 */
import { x509 } from "./x509.ts";
import {
  type CA,
  CsrError,
  EXT_KEY_USAGE_CLIENT_AUTH,
  issueCertificate,
  parseCSR,
  randomSerial,
} from "./ca.ts";

/** A CSR or request that is well-formed but not something this node may have signed (HTTP 403). */
export class CsrPolicyError extends Error {
  override name = "CsrPolicyError";
}

/** Options of {@link signNodeCSR}. */
export interface SignNodeCsrOptions {
  /** The node the request is authenticated as (the `NodeName` header, checked by the caller). */
  nodeName: string;
  /** The raw `ExtKeyUsages` header, if sent. */
  extKeyUsages?: string;
  /** Validity in days (`edgeCertSigningDuration`). */
  validityDays: number;
  /** Clock for NotBefore. */
  now?: Date;
}

/** The `Organization` every node certificate carries (Kubernetes' node group). */
export const NODE_ORGANIZATION = "system:nodes";
/** The CN prefix of a node certificate. */
export const NODE_CN_PREFIX = "system:node:";
/** The CN edgecore before v1.18 puts in every CSR, whatever its node. */
export const LEGACY_EDGE_CN = "kubeedge.io";
/** The O beside it: `kubeEdge` as edgecore v1.15 writes it, `KubeEdge` as cloudcore checks it. */
const LEGACY_EDGE_ORGS: ReadonlySet<string> = new Set(["kubeEdge", "KubeEdge"]);
/** Names of extensions people ask for, for the refusal message. */
const EXTENSION_NAMES: Record<string, string> = {
  "2.5.29.17": "subjectAltName",
  "2.5.29.15": "keyUsage",
  "2.5.29.37": "extendedKeyUsage",
  "2.5.29.19": "basicConstraints",
};
/** A Kubernetes node name: a DNS-1123 subdomain (lower case, at most 253 characters). */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The CN a certificate for `node` carries. */
export function nodeCommonName(node: string): string {
  return `${NODE_CN_PREFIX}${node}`;
}

/**
 * Throws {@link CsrPolicyError} unless `name` is a valid Kubernetes node name (what the API
 * server would accept for a Node), so a header cannot smuggle `/`, `:` or a second identity.
 */
export function checkNodeName(name: string): void {
  if (name === "") throw new CsrPolicyError("the NodeName header is required");
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    throw new CsrPolicyError(
      `NodeName ${JSON.stringify(name)} is not a valid node name (a DNS-1123 subdomain)`,
    );
  }
}

/**
 * Parses the `ExtKeyUsages` header (a JSON array of Go `x509.ExtKeyUsage` ints) and refuses any
 * usage but ClientAuth. A header that is not a JSON integer array is a `CsrError` (HTTP 400); a
 * well-formed one asking for more is a {@link CsrPolicyError} (HTTP 403).
 */
export function checkExtKeyUsages(value: string | undefined): void {
  if (value === undefined || value.trim() === "") return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new CsrError(`ExtKeyUsages header is not JSON: ${value}`);
  }
  if (!Array.isArray(parsed) || !parsed.every((u) => Number.isInteger(u))) {
    throw new CsrError(`ExtKeyUsages header must be a JSON array of integers: ${value}`);
  }
  const other = parsed.filter((u) => u !== EXT_KEY_USAGE_CLIENT_AUTH);
  if (other.length > 0) {
    throw new CsrPolicyError(
      `ExtKeyUsages ${value} refused: a node certificate is for client authentication only ([2])`,
    );
  }
}

/**
 * Throws {@link CsrPolicyError} unless the CSR asks for exactly the certificate of `node`
 * (see the module doc for the rules).
 */
export function checkNodeCsr(csr: x509.Pkcs10CertificateRequest, node: string): void {
  const want = nodeCommonName(node);
  const cns = csr.subjectName.getField("CN");
  const orgs = csr.subjectName.getField("O");
  const legacy = cns.length === 1 && cns[0] === LEGACY_EDGE_CN && orgs.length === 1 &&
    LEGACY_EDGE_ORGS.has(orgs[0]);
  if (!legacy) checkNodeSubject(cns, orgs, node, want);
  // An empty extensionRequest (some tools add one) asks for nothing and is accepted.
  const asked = csr.extensions.map((e) => EXTENSION_NAMES[e.type] ?? e.type);
  if (asked.length > 0) {
    throw new CsrPolicyError(
      `CSR requests extensions (${
        asked.join(", ")
      }) refused: a node certificate has no SANs and its usages are set by the hub`,
    );
  }
}

/** The CN and O rules for a CSR that names its node (see the module doc). */
function checkNodeSubject(cns: string[], orgs: string[], node: string, want: string): void {
  if (cns.length !== 1 || cns[0] !== want) {
    throw new CsrPolicyError(
      `CSR subject CN ${JSON.stringify(cns)} refused: node ${node} may only request CN "${want}"`,
    );
  }
  if (orgs.length !== 1 || orgs[0] !== NODE_ORGANIZATION) {
    throw new CsrPolicyError(
      `CSR subject O ${
        JSON.stringify(orgs)
      } refused: a node certificate carries exactly O "${NODE_ORGANIZATION}"`,
    );
  }
}

/**
 * Verifies a DER CSR (`CsrError`, HTTP 400, when unparsable or badly signed), applies the node
 * rules ({@link CsrPolicyError}, HTTP 403) and issues `CN=system:node:<node>, O=system:nodes`
 * for ClientAuth only, with the CSR's public key.
 */
export async function signNodeCSR(
  ca: CA,
  csrDer: Uint8Array,
  opts: SignNodeCsrOptions,
): Promise<Uint8Array> {
  checkNodeName(opts.nodeName);
  checkExtKeyUsages(opts.extKeyUsages);
  const csr = await parseCSR(csrDer, opts.nodeName);
  checkNodeCsr(csr, opts.nodeName);
  const now = opts.now ?? new Date();
  return await issueCertificate(ca, {
    subject: [{ CN: [nodeCommonName(opts.nodeName)] }, { O: [NODE_ORGANIZATION] }],
    publicKey: csr.publicKey,
    notBefore: now,
    notAfter: new Date(now.getTime() + opts.validityDays * 24 * 60 * 60 * 1000),
    extKeyUsages: [x509.ExtendedKeyUsage.clientAuth],
    ips: [],
    dnsNames: [],
    serialNumber: randomSerial(),
  });
}
