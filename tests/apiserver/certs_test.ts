import { assert, assertEquals } from "../assert.ts";
import { issueServerCert, loadOrCreateCa } from "../../apiserver/certs.ts";
import { x509 } from "../../pki/mod.ts";

Deno.test("apiserver certs: its own CA profile (not KubeEdge's), kept across restarts; server cert chains to it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ca = await loadOrCreateCa(dir);
    assertEquals(ca.cert.subject, "CN=edgecloud-apiserver-ca");
    assertEquals(ca.cert.getExtension(x509.ExtendedKeyUsageExtension), null);
    const ku = ca.cert.getExtension(x509.KeyUsagesExtension)!;
    assertEquals(
      ku.usages,
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign |
        x509.KeyUsageFlags.digitalSignature,
    );
    assert(ca.cert.getExtension(x509.BasicConstraintsExtension)!.ca);
    const years = (ca.cert.notAfter.getTime() - ca.cert.notBefore.getTime()) / (365 * 86400_000);
    assert(years > 9.9 && years < 10.1, `CA validity ${years} years`);
    assertEquals((await Deno.stat(`${dir}/apiserver-ca.key`)).mode! & 0o777, 0o600);

    const again = await loadOrCreateCa(dir);
    assertEquals(again.certPem, ca.certPem);

    const server = await issueServerCert(again, ["localhost"], ["127.0.0.1", "::1"]);
    const cert = new x509.X509Certificate(server.certPem);
    assertEquals(cert.subject, "CN=edgecloud-apiserver");
    assertEquals(cert.issuer, ca.cert.subject);
    assert(await cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true }));
    const names = cert.getExtension(x509.SubjectAlternativeNameExtension)!.names.items
      .map((n) => `${n.type}:${n.value}`).sort();
    assertEquals(names, ["dns:localhost", "ip:127.0.0.1", "ip:::1"]);
    assertEquals(
      [...cert.getExtension(x509.ExtendedKeyUsageExtension)!.usages.map(String)],
      [x509.ExtendedKeyUsage.serverAuth],
    );
    assert(server.keyPem.includes("BEGIN PRIVATE KEY"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
