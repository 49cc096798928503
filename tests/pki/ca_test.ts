import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../assert.ts";
import {
  CertError,
  createCA,
  CsrError,
  ecPrivateKeyPem,
  findPem,
  importEcPrivateKeyPem,
  loadKeyPairPem,
  PEM_CERTIFICATE,
  PEM_PRIVATE_KEY,
  signCSR,
  signServerCert,
  toArrayBuffer,
  toPem,
  verifyClientCert,
  x509,
} from "../../pki/mod.ts";
import { createEdgeCsr } from "../../edge/pki.ts";
import { openssl, opensslOk, withTempDir } from "../hub/certs/openssl.ts";

Deno.test("createCA has the §5.4 fields, as openssl reads them", async () => {
  const ca = await createCA();
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/ca.pem`, ca.certPem);
    const text = await opensslOk(["x509", "-in", `${dir}/ca.pem`, "-noout", "-text"]);
    assertMatch(text, /Serial Number: 1024 \(0x400\)/);
    assertMatch(text, /Issuer: CN ?= ?KubeEdge\n/);
    assertMatch(text, /Subject: CN ?= ?KubeEdge\n/);
    assertStringIncludes(text, "ecdsa-with-SHA256");
    assertStringIncludes(text, "NIST CURVE: P-256");
    assertMatch(text, /Basic Constraints: critical\s+CA:TRUE/);
    assertMatch(
      text,
      /Key Usage: critical\s+Digital Signature, Key Encipherment, Certificate Sign/,
    );
    assertMatch(
      text,
      /Extended Key Usage:\s+TLS Web Client Authentication, TLS Web Server Authentication/,
    );
    // openssl treats a self-signed CA as its own trust anchor.
    await opensslOk(["verify", "-CAfile", `${dir}/ca.pem`, `${dir}/ca.pem`]);
  });
  const years = (ca.cert.notAfter.getTime() - ca.cert.notBefore.getTime()) / (365 * 86400e3);
  assert(years > 99.9 && years < 100.1, `validity ${years} years`);
});

Deno.test("signServerCert has CN/O KubeEdge, ServerAuth, SANs and verifies with openssl", async () => {
  const ca = await createCA();
  const server = await signServerCert(ca, {
    ips: ["127.0.0.1", "10.1.2.3"],
    dnsNames: ["localhost", "cloudcore.example", ""],
  });
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/ca.pem`, ca.certPem);
    await Deno.writeTextFile(`${dir}/server.pem`, server.certPem);
    const text = await opensslOk(["x509", "-in", `${dir}/server.pem`, "-noout", "-text"]);
    assertMatch(text, /Subject: CN ?= ?KubeEdge, O ?= ?KubeEdge/);
    assertMatch(text, /Extended Key Usage:\s+TLS Web Server Authentication\n/);
    assertMatch(text, /Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
    assertStringIncludes(text, "DNS:localhost");
    assertStringIncludes(text, "DNS:cloudcore.example");
    assertStringIncludes(text, "IP Address:127.0.0.1");
    assertStringIncludes(text, "IP Address:10.1.2.3");
    assertStringIncludes(text, "CA:FALSE");
    const verify = await opensslOk(["verify", "-CAfile", `${dir}/ca.pem`, `${dir}/server.pem`]);
    assertStringIncludes(verify, "OK");
    await opensslOk([
      "verify",
      "-CAfile",
      `${dir}/ca.pem`,
      "-purpose",
      "sslserver",
      "-verify_ip",
      "10.1.2.3",
      `${dir}/server.pem`,
    ]);
    // The key PEMs are usable by openssl: the SEC1 form matches the certificate's public key.
    await Deno.writeTextFile(`${dir}/server.key`, ecPrivateKeyPem(server));
    const fromKey = await opensslOk(["ec", "-in", `${dir}/server.key`, "-pubout"]);
    const fromCert = await opensslOk(["x509", "-in", `${dir}/server.pem`, "-noout", "-pubkey"]);
    assertEquals(fromKey, fromCert);
  });
});

Deno.test("signCSR signs an openssl-made CSR: subject CN/O, SANs, EKU; openssl verifies it", async () => {
  const ca = await createCA();
  await withTempDir(async (dir) => {
    await opensslOk([
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      `${dir}/edge.key`,
      "-subj",
      "/C=CN/O=system:nodes/L=Hangzhou/ST=Zhejiang/CN=system:node:edge-1",
      "-addext",
      "subjectAltName=DNS:edge-1.local,IP:192.168.7.8",
      "-outform",
      "DER",
      "-out",
      `${dir}/edge.csr`,
    ]);
    const csrDer = await Deno.readFile(`${dir}/edge.csr`);
    const der = await signCSR(ca, csrDer, { extKeyUsages: [1, 2], validityDays: 365 });
    await Deno.writeTextFile(`${dir}/ca.pem`, ca.certPem);
    await Deno.writeTextFile(`${dir}/edge.pem`, toPem(der, PEM_CERTIFICATE));
    await opensslOk(["verify", "-CAfile", `${dir}/ca.pem`, `${dir}/edge.pem`]);
    const text = await opensslOk(["x509", "-in", `${dir}/edge.pem`, "-noout", "-text"]);
    // C, L and ST are not copied (cloudcore copies only CN and O).
    assertMatch(text, /Subject: CN ?= ?system:node:edge-1, O ?= ?system:nodes\n/);
    assertMatch(
      text,
      /Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication/,
    );
    assertStringIncludes(text, "DNS:edge-1.local");
    assertStringIncludes(text, "IP Address:192.168.7.8");
  });
  const signed = await signCSR(ca, (await createEdgeCsr("n2")).csrDer, {
    extKeyUsages: [],
    validityDays: 10,
  });
  const cert = new x509.X509Certificate(toArrayBuffer(signed));
  assert(BigInt(`0x${cert.serialNumber}`) < 2n ** 63n);
  assertEquals(cert.notAfter.getTime() - cert.notBefore.getTime(), 10 * 86400e3);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  assertEquals([...eku?.usages ?? []].map(String), [x509.ExtendedKeyUsage.clientAuth]); // default
});

Deno.test("signCSR rejects garbage and a CSR whose signature does not verify", async () => {
  const ca = await createCA();
  await assertRejects(
    () => signCSR(ca, new Uint8Array([1, 2, 3]), { extKeyUsages: [], validityDays: 1 }),
    CsrError,
  );
  const { csrDer } = await createEdgeCsr("n1");
  const tampered = csrDer.slice();
  tampered[tampered.length - 5] ^= 0xff; // inside the signature value
  await assertRejects(
    () => signCSR(ca, tampered, { extKeyUsages: [], validityDays: 1, nodeName: "n1" }),
    CsrError,
  );
  await assertRejects(
    () => signCSR(ca, csrDer, { extKeyUsages: [42], validityDays: 1 }),
    CsrError,
    "unknown ExtKeyUsage 42",
  );
});

Deno.test("verifyClientCert: CA chain, validity window and ClientAuth", async () => {
  const ca = await createCA();
  const other = await createCA();
  const csr = (await createEdgeCsr("n1")).csrDer;
  const good = await signCSR(ca, csr, { extKeyUsages: [2], validityDays: 1 });
  const id = await verifyClientCert(ca, good);
  assertEquals(id, { commonName: "system:node:n1", organizations: ["system:nodes"] });

  const foreign = await signCSR(other, csr, { extKeyUsages: [2], validityDays: 1 });
  await assertRejects(() => verifyClientCert(ca, foreign), CertError, "unknown authority");

  const later = new Date(Date.now() + 2 * 86400e3);
  await assertRejects(() => verifyClientCert(ca, good, later), CertError, "expired");

  const serverOnly = await signCSR(ca, csr, { extKeyUsages: [1], validityDays: 1 });
  await assertRejects(() => verifyClientCert(ca, serverOnly), CertError, "ClientAuth");
  await assertRejects(() => verifyClientCert(ca, new Uint8Array([0x30, 0])), CertError);
});

Deno.test("CA material loads from openssl-made PEM: SEC1, PKCS#8, and SEC1 labelled PRIVATE KEY", async () => {
  await withTempDir(async (dir) => {
    await opensslOk([
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      `${dir}/pkcs8.key`,
      "-subj",
      "/CN=KubeEdge",
      "-days",
      "3650",
      "-out",
      `${dir}/ca.crt`,
    ]);
    const certPem = await Deno.readTextFile(`${dir}/ca.crt`);
    const pkcs8Pem = await Deno.readTextFile(`${dir}/pkcs8.key`);
    assertStringIncludes(pkcs8Pem, "BEGIN PRIVATE KEY");
    const sec1Pem = await opensslOk(["ec", "-in", `${dir}/pkcs8.key`]);
    assertStringIncludes(sec1Pem, "BEGIN EC PRIVATE KEY");
    // Go's tls.X509KeyPair accepts SEC1 DER under the "PRIVATE KEY" label; so do we.
    const sec1Der = findPem(sec1Pem, ["EC PRIVATE KEY"], "key").der;
    const mislabelled = toPem(sec1Der, PEM_PRIVATE_KEY);

    const a = await loadKeyPairPem(certPem, pkcs8Pem);
    const b = await loadKeyPairPem(certPem, sec1Pem);
    const c = await loadKeyPairPem(certPem, mislabelled);
    assertEquals(b.keyDer, sec1Der); // SEC1 bytes kept verbatim: token HMAC keys stay identical
    assertEquals(a.keyDer, sec1Der);
    assertEquals(c.keyDer, sec1Der);
    assertEquals((await importEcPrivateKeyPem(sec1Pem)).sec1, sec1Der);

    // The loaded CA signs certificates openssl accepts.
    const ca = { ...b };
    const server = await signServerCert(ca, { ips: ["127.0.0.1"], dnsNames: [] });
    await Deno.writeTextFile(`${dir}/server.pem`, server.certPem);
    const r = await openssl(["verify", "-CAfile", `${dir}/ca.crt`, `${dir}/server.pem`]);
    assertEquals(r.code, 0, r.stderr);
  });
});
