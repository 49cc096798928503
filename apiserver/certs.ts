/**
 * The embedded API's own PKI: a CA (kept in the data dir, so kubeconfigs stay valid across
 * restarts) and a server certificate for 127.0.0.1, ::1, localhost and the bind address, issued at
 * every start. ECDSA P-256 via WebCrypto.
 */
import { x509 } from "./x509.ts";

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** A certificate and its private key, both PEM. */
export interface CertPair {
  certPem: string;
  keyPem: string;
}

/** The CA with its live key objects. */
export interface Ca extends CertPair {
  cert: x509.X509Certificate;
  privateKey: CryptoKey;
}

function keyToPem(der: ArrayBuffer): string {
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

function serial(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[0] &= 0x7f;
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

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
    const certPem = await Deno.readTextFile(certPath);
    const keyPem = await Deno.readTextFile(keyPath);
    const privateKey = await crypto.subtle.importKey(
      "pkcs8",
      x509.PemConverter.decodeFirst(keyPem),
      ALG,
      true,
      ["sign"],
    );
    return { certPem, keyPem, cert: new x509.X509Certificate(certPem), privateKey };
  }
  const keys = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const now = new Date();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: "CN=edgecloud-apiserver-ca",
    notBefore: new Date(now.getTime() - 3600_000),
    notAfter: new Date(now.getTime() + 10 * 365 * 86400_000),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign |
          x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = cert.toString("pem");
  const keyPem = keyToPem(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  await Deno.writeTextFile(keyPath, keyPem, { mode: 0o600 });
  await Deno.writeTextFile(certPath, certPem);
  return { certPem, keyPem, cert, privateKey: keys.privateKey };
}

/** Issues a server certificate signed by `ca` for the given DNS names and IP addresses. */
export async function issueServerCert(ca: Ca, dns: string[], ips: string[]): Promise<CertPair> {
  const keys = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const now = new Date();
  const names = [
    ...dns.map((value) => ({ type: "dns" as const, value })),
    ...ips.map((value) => ({ type: "ip" as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: "CN=edgecloud-apiserver",
    issuer: ca.cert.subject,
    notBefore: new Date(now.getTime() - 3600_000),
    notAfter: new Date(now.getTime() + 365 * 86400_000),
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return {
    certPem: cert.toString("pem"),
    keyPem: keyToPem(await crypto.subtle.exportKey("pkcs8", keys.privateKey)),
  };
}
