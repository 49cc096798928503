/**
 * The KubeEdge PKI: the CA, the cloudcore server certificate and CSR signing for edge nodes,
 * with the exact fields cloudcore uses (docs/protocol.md §3.2, §5.2, §5.4).
 *
 * @example
 * ```ts
 * const ca = await createCA();
 * const server = await signServerCert(ca, { ips: ["127.0.0.1"], dnsNames: ["localhost"] });
 * const edgeCertDer = await signCSR(ca, csrDer, { extKeyUsages: [2], validityDays: 365 });
 * ```
 */
import { x509 } from "./x509.ts";
import { ECDSA_SHA256, generateEcKeyPair, importEcPrivateKey, privateKeyToSec1 } from "./keys.ts";
import {
  findPem,
  PEM_CERTIFICATE,
  PEM_EC_PRIVATE_KEY,
  PEM_PRIVATE_KEY,
  toArrayBuffer,
  toPem,
} from "./pem.ts";

/** Thrown when a CSR cannot be parsed or its signature does not verify (HTTP 400). */
export class CsrError extends Error {
  override name = "CsrError";
}

/** Thrown when a certificate is malformed, not issued by the CA, expired or of the wrong use. */
export class CertError extends Error {
  override name = "CertError";
}

/** A certificate with its private key, in the forms TLS stacks and Secrets want. */
export interface KeyPairPem {
  /** Certificate DER. */
  certDer: Uint8Array;
  /** Certificate PEM (`CERTIFICATE`). */
  certPem: string;
  /** Private key as SEC1 `ECPrivateKey` DER (what the KubeEdge Secrets hold). */
  keyDer: Uint8Array;
  /** Private key PEM: PKCS#8 `PRIVATE KEY` (accepted by node:tls / rustls and Go alike). */
  keyPem: string;
  /** The signing key. */
  key: CryptoKey;
  /** Parsed certificate. */
  cert: x509.X509Certificate;
}

/**
 * The KubeEdge certificate authority. For node:https / node:tls pass `ca: certPem`,
 * and for a server use the server certificate from {@link signServerCert}.
 */
export interface CA extends KeyPairPem {
  /** SEC1 DER of the CA key: also the HMAC key of the join token (§5.3). */
  keyDer: Uint8Array;
}

/** Go's `x509.ExtKeyUsage` values as sent in the `ExtKeyUsages` header. */
export const GO_EXT_KEY_USAGE: Record<number, string> = {
  0: "2.5.29.37.0", // Any
  1: x509.ExtendedKeyUsage.serverAuth,
  2: x509.ExtendedKeyUsage.clientAuth,
  3: x509.ExtendedKeyUsage.codeSigning,
  4: x509.ExtendedKeyUsage.emailProtection,
  8: x509.ExtendedKeyUsage.timeStamping,
  9: x509.ExtendedKeyUsage.ocspSigning,
};

/** Go `x509.ExtKeyUsageServerAuth`. */
export const EXT_KEY_USAGE_SERVER_AUTH = 1;
/** Go `x509.ExtKeyUsageClientAuth`. */
export const EXT_KEY_USAGE_CLIENT_AUTH = 2;

/** OID of the subjectAltName extension. */
const SAN_OID = "2.5.29.17";
const DAY_MS = 24 * 60 * 60 * 1000;
/** "About 100 years", as cloudcore: 365 × 100 days. */
const HUNDRED_YEARS_MS = 365 * 100 * DAY_MS;

/**
 * How {@link createCA} makes a CA; every field defaults to cloudcore's (§5.4). The embedded API
 * server uses its own profile (its CA is not the KubeEdge one).
 */
export interface CaProfile {
  /** Subject CommonName (default `KubeEdge`). */
  commonName?: string;
  /** Serial number as hex (default `0400`, i.e. 1024). */
  serialNumber?: string;
  /** NotBefore (default: now). */
  notBefore?: Date;
  /** Validity from `now` (default: 365 × 100 days). */
  validityMs?: number;
  /** Key usage flags, critical (default CertSign|DigitalSignature|KeyEncipherment). */
  keyUsages?: number;
  /** EKU OIDs (default ClientAuth+ServerAuth); an empty list leaves the extension out. */
  extKeyUsages?: string[];
}

/**
 * Creates a new CA exactly as cloudcore does when none is configured (§5.4): ECDSA P-256,
 * self-signed, CN `KubeEdge`, serial 1024, ~100 years, CA:TRUE, KeyUsage
 * CertSign|DigitalSignature|KeyEncipherment, EKU ServerAuth+ClientAuth. `profile` overrides
 * those fields for a CA that is not the KubeEdge one.
 */
export async function createCA(now: Date = new Date(), profile: CaProfile = {}): Promise<CA> {
  const keys = await generateEcKeyPair();
  const ekus = profile.extKeyUsages ??
    [x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth];
  const extensions: x509.Extension[] = [
    new x509.KeyUsagesExtension(
      profile.keyUsages ??
        (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature |
          x509.KeyUsageFlags.keyEncipherment),
      true,
    ),
  ];
  if (ekus.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(ekus));
  extensions.push(
    new x509.BasicConstraintsExtension(true, undefined, true),
    // Go adds a SubjectKeyId to every CA it creates; chain builders use it.
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  );
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: profile.serialNumber ?? "0400",
    name: [{ CN: [profile.commonName ?? "KubeEdge"] }],
    notBefore: profile.notBefore ?? now,
    notAfter: new Date(now.getTime() + (profile.validityMs ?? HUNDRED_YEARS_MS)),
    keys,
    signingAlgorithm: ECDSA_SHA256,
    extensions,
  });
  return await keyPair(new Uint8Array(cert.rawData), keys.privateKey);
}

/** Subject alternative names of the cloudcore server certificate. */
export interface ServerCertNames {
  /** IP SANs: the advertise addresses edges dial (they verify the hostname). */
  ips: string[];
  /** DNS SANs (`dnsNames`); empty strings are ignored. */
  dnsNames: string[];
}

/**
 * Signs the cloudcore server certificate (§3.2): CN and O `KubeEdge`, EKU ServerAuth, IP and DNS
 * SANs, ~100 years, new ECDSA P-256 key (the TLS 1.2 suites cloudcore allows are ECDSA-only).
 */
export async function signServerCert(
  ca: CA,
  names: ServerCertNames,
  now: Date = new Date(),
): Promise<KeyPairPem> {
  const keys = await generateEcKeyPair();
  const certDer = await issueCertificate(ca, {
    subject: [{ CN: ["KubeEdge"] }, { O: ["KubeEdge"] }],
    publicKey: keys.publicKey,
    notBefore: now,
    notAfter: new Date(now.getTime() + HUNDRED_YEARS_MS),
    extKeyUsages: [x509.ExtendedKeyUsage.serverAuth],
    ips: names.ips,
    dnsNames: names.dnsNames,
    serialNumber: randomSerial(),
  });
  return await keyPair(certDer, keys.privateKey);
}

/** Options of {@link signCSR}. */
export interface SignCsrOptions {
  /** The `NodeName` header; only used in error messages (cloudcore copies the CSR subject). */
  nodeName?: string;
  /** Go `x509.ExtKeyUsage` ints (1 ServerAuth, 2 ClientAuth); empty means ClientAuth. */
  extKeyUsages: number[];
  /** Validity in days (`edgeCertSigningDuration`, default 365). */
  validityDays: number;
  /** Clock for NotBefore. */
  now?: Date;
}

/**
 * Signs a DER CSR as cloudcore's `SignCerts` (§5.2 step 4): subject CN and O and the DNS/IP SANs
 * copied from the CSR, random serial below 2^63, KeyUsage KeyEncipherment|DigitalSignature,
 * the requested EKUs. Throws `CsrError` for an unparsable CSR or one whose signature fails.
 *
 * A general signer for certificates the hub makes for itself and for tests. The cert server's
 * `/edge.crt` never uses it: edge requests go through `signNodeCSR` (node_csr.ts), which signs
 * only the requesting node's own client certificate.
 */
export async function signCSR(
  ca: CA,
  csrDer: Uint8Array,
  opts: SignCsrOptions,
): Promise<Uint8Array> {
  const csr = await parseCSR(csrDer, opts.nodeName);

  const subject: x509.JsonName = [];
  const cn = csr.subjectName.getField("CN");
  if (cn.length > 0) subject.push({ CN: [cn[0]] });
  const orgs = csr.subjectName.getField("O");
  if (orgs.length > 0) subject.push({ O: orgs });

  const ips: string[] = [];
  const dnsNames: string[] = [];
  for (const ext of csr.getExtensions(SAN_OID)) {
    for (const n of new x509.SubjectAlternativeNameExtension(ext.rawData).names.items) {
      if (n.type === "ip") ips.push(n.value);
      if (n.type === "dns") dnsNames.push(n.value);
    }
  }

  const usages = opts.extKeyUsages.length > 0 ? opts.extKeyUsages : [EXT_KEY_USAGE_CLIENT_AUTH];
  const ekus = usages.map((u) => {
    const oid = GO_EXT_KEY_USAGE[u];
    if (!oid) throw new CsrError(`unknown ExtKeyUsage ${u}${forNode(opts.nodeName)}`);
    return oid;
  });

  const now = opts.now ?? new Date();
  return await issueCertificate(ca, {
    subject,
    publicKey: csr.publicKey,
    notBefore: now,
    notAfter: new Date(now.getTime() + opts.validityDays * DAY_MS),
    extKeyUsages: ekus,
    ips,
    dnsNames,
    serialNumber: randomSerial(),
  });
}

/**
 * Parses a DER CSR and checks its self-signature; throws `CsrError` (HTTP 400) when it cannot be
 * parsed or the signature does not verify. `nodeName` only labels the error message.
 */
export async function parseCSR(
  csrDer: Uint8Array,
  nodeName?: string,
): Promise<x509.Pkcs10CertificateRequest> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(toArrayBuffer(csrDer));
  } catch (err) {
    throw new CsrError(`cannot parse CSR${forNode(nodeName)}: ${errMessage(err)}`);
  }
  let valid = false;
  try {
    valid = await csr.verify();
  } catch (err) {
    throw new CsrError(`cannot verify CSR signature${forNode(nodeName)}: ${errMessage(err)}`);
  }
  if (!valid) throw new CsrError(`CSR signature is invalid${forNode(nodeName)}`);
  return csr;
}

/** Subject of a verified client certificate. */
export interface ClientIdentity {
  /** Subject CommonName ("" if absent). */
  commonName: string;
  /** Subject Organization values. */
  organizations: string[];
}

/**
 * Verifies a client certificate as Go's `cert.Verify` with `KeyUsages: [ClientAuth]`: issued and
 * signed by the CA, inside its validity window, and (if it has an EKU) valid for ClientAuth.
 * Returns the subject; throws `CertError` with the reason otherwise.
 */
export async function verifyClientCert(
  ca: CA,
  certDer: Uint8Array,
  now: Date = new Date(),
): Promise<ClientIdentity> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(toArrayBuffer(certDer));
  } catch (err) {
    throw new CertError(`cannot parse client certificate: ${errMessage(err)}`);
  }
  if (cert.issuer !== ca.cert.subject) {
    throw new CertError(`certificate signed by unknown authority (issuer "${cert.issuer}")`);
  }
  let signed = false;
  try {
    signed = await cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true });
  } catch {
    signed = false;
  }
  if (!signed) throw new CertError("certificate signed by unknown authority (bad signature)");
  if (now < cert.notBefore || now > cert.notAfter) {
    throw new CertError(
      `certificate has expired or is not yet valid: current time ${now.toISOString()} is outside ${cert.notBefore.toISOString()}..${cert.notAfter.toISOString()}`,
    );
  }
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  if (eku) {
    const usages = eku.usages.map(String);
    if (!usages.includes(x509.ExtendedKeyUsage.clientAuth) && !usages.includes("2.5.29.37.0")) {
      throw new CertError("certificate specifies an incompatible key usage (no ClientAuth)");
    }
  }
  return {
    commonName: cert.subjectName.getField("CN")[0] ?? "",
    organizations: cert.subjectName.getField("O"),
  };
}

/** Loads CA (or any cert + key) material from DER: certificate DER and SEC1 or PKCS#8 key DER. */
export async function loadKeyPairDer(certDer: Uint8Array, keyDer: Uint8Array): Promise<KeyPairPem> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(toArrayBuffer(certDer));
  } catch (err) {
    throw new CertError(`cannot parse certificate: ${errMessage(err)}`);
  }
  const imported = await importEcPrivateKey(keyDer);
  return {
    certDer: new Uint8Array(cert.rawData),
    certPem: toPem(new Uint8Array(cert.rawData), PEM_CERTIFICATE),
    keyDer: imported.sec1,
    keyPem: toPem(await pkcs8Of(imported.key), PEM_PRIVATE_KEY),
    key: imported.key,
    cert,
  };
}

/** Loads cert + key from PEM texts (`CERTIFICATE`; `EC PRIVATE KEY` or `PRIVATE KEY`). */
export async function loadKeyPairPem(certPem: string, keyPem: string): Promise<KeyPairPem> {
  const cert = findPem(certPem, [PEM_CERTIFICATE], "certificate");
  const key = findPem(keyPem, [PEM_EC_PRIVATE_KEY, PEM_PRIVATE_KEY], "private key");
  return await loadKeyPairDer(cert.der, key.der);
}

/** `node:https` / `node:tls` server options for a certificate and the CA that clients chain to. */
export interface TlsPemOptions {
  /** CA PEM (trust anchor for client certificates). */
  ca: string;
  /** Server certificate PEM. */
  cert: string;
  /** Server private key PEM (PKCS#8). */
  key: string;
}

/**
 * The PEM triple for `https.createServer` / `tls.createServer`, e.g.
 * `https.createServer({ ...tlsOptions(ca, serverCert), requestCert: true })`.
 */
export function tlsOptions(ca: CA, pair: KeyPairPem): TlsPemOptions {
  return { ca: ca.certPem, cert: pair.certPem, key: pair.keyPem };
}

/** Returns the SEC1 `EC PRIVATE KEY` PEM of a key pair (the form edgecore writes). */
export function ecPrivateKeyPem(pair: { keyDer: Uint8Array }): string {
  return toPem(pair.keyDer, PEM_EC_PRIVATE_KEY);
}

/** What {@link issueCertificate} puts into a leaf certificate. */
export interface IssueParams {
  subject: x509.JsonName;
  publicKey: CryptoKey | x509.PublicKey;
  notBefore: Date;
  notAfter: Date;
  extKeyUsages: string[];
  ips: string[];
  dnsNames: string[];
  serialNumber: string;
}

/**
 * Issues a leaf certificate signed by the CA: KeyUsage KeyEncipherment|DigitalSignature
 * (critical), the given EKU OIDs, CA:FALSE, the CA's key identifier, and SANs when given.
 */
export async function issueCertificate(ca: CA, p: IssueParams): Promise<Uint8Array> {
  const sans: x509.JsonGeneralNames = [
    ...p.dnsNames.filter((d) => d !== "").map((value) => ({ type: "dns" as const, value })),
    ...p.ips.filter((ip) => ip !== "").map((value) => ({ type: "ip" as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.digitalSignature,
      true,
    ),
    new x509.ExtendedKeyUsageExtension(p.extKeyUsages),
    new x509.BasicConstraintsExtension(false, undefined, true),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: p.serialNumber,
    subject: p.subject,
    issuer: ca.cert.subjectName,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    publicKey: p.publicKey,
    signingKey: ca.key,
    signingAlgorithm: ECDSA_SHA256,
    extensions,
  });
  return new Uint8Array(cert.rawData);
}

/** A random positive serial below 2^63 as hex, minimally encoded (first byte 0x01..0x7f). */
export function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  bytes[0] = (bytes[0] & 0x7f) || 1;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function keyPair(certDer: Uint8Array, key: CryptoKey): Promise<KeyPairPem> {
  const cert = new x509.X509Certificate(toArrayBuffer(certDer));
  return {
    certDer,
    certPem: toPem(certDer, PEM_CERTIFICATE),
    keyDer: await privateKeyToSec1(key),
    keyPem: toPem(await pkcs8Of(key), PEM_PRIVATE_KEY),
    key,
    cert,
  };
}

async function pkcs8Of(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey("pkcs8", key));
}

function forNode(nodeName?: string): string {
  return nodeName ? ` from node ${nodeName}` : "";
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
