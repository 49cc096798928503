/**
 * The embedded API's own PKI: a CA (kept in the data dir, so kubeconfigs stay valid across
 * restarts) and a server certificate for 127.0.0.1, ::1, localhost and the bind address, issued at
 * every start. ECDSA P-256; the CA and signing are pki/'s, with this server's own profile (its CA
 * is not the KubeEdge one).
 */
import {
  type CA,
  createCA,
  generateEcKeyPair,
  issueCertificate,
  loadKeyPairPem,
  PEM_CERTIFICATE,
  PEM_PRIVATE_KEY,
  privateKeyToPkcs8,
  randomSerial,
  toPem,
  x509,
} from "../pki/mod.ts";

const HOUR_MS = 3600_000;
const DAY_MS = 86400_000;

/** A certificate and its private key, both PEM. */
export interface CertPair {
  certPem: string;
  keyPem: string;
}

/** The CA with its live key objects. */
export type Ca = CA;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Loads the CA from `dir` (apiserver-ca.crt/.key) or creates and saves a new one. */
export async function loadOrCreateCa(dir: string): Promise<Ca> {
  const certPath = `${dir}/apiserver-ca.crt`;
  const keyPath = `${dir}/apiserver-ca.key`;
  if (await exists(certPath) && await exists(keyPath)) {
    return await loadKeyPairPem(
      await Deno.readTextFile(certPath),
      await Deno.readTextFile(keyPath),
    );
  }
  const now = new Date();
  const ca = await createCA(now, {
    commonName: "edgecloud-apiserver-ca",
    serialNumber: randomSerial(),
    notBefore: new Date(now.getTime() - HOUR_MS),
    validityMs: 10 * 365 * DAY_MS,
    keyUsages: x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign |
      x509.KeyUsageFlags.digitalSignature,
    extKeyUsages: [],
  });
  await Deno.writeTextFile(keyPath, ca.keyPem, { mode: 0o600 });
  await Deno.writeTextFile(certPath, ca.certPem);
  return ca;
}

/** Issues a server certificate signed by `ca` for the given DNS names and IP addresses. */
export async function issueServerCert(ca: Ca, dns: string[], ips: string[]): Promise<CertPair> {
  const keys = await generateEcKeyPair();
  const now = new Date();
  const certDer = await issueCertificate(ca, {
    subject: [{ CN: ["edgecloud-apiserver"] }],
    publicKey: keys.publicKey,
    notBefore: new Date(now.getTime() - HOUR_MS),
    notAfter: new Date(now.getTime() + 365 * DAY_MS),
    extKeyUsages: [x509.ExtendedKeyUsage.serverAuth],
    ips,
    dnsNames: dns,
    serialNumber: randomSerial(),
  });
  return {
    certPem: toPem(certDer, PEM_CERTIFICATE),
    keyPem: toPem(await privateKeyToPkcs8(keys.privateKey), PEM_PRIVATE_KEY),
  };
}
