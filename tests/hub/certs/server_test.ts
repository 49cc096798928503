import { assertEquals, assertMatch, assertStringIncludes } from "../../assert.ts";
import { MAX_CSR_BODY } from "../../../hub/certs/mod.ts";
import {
  type CA,
  createCA,
  createToken,
  ECDSA_SHA256,
  generateEcKeyPair,
  PEM_CERTIFICATE,
  PEM_EC_PRIVATE_KEY,
  privateKeyToSec1,
  signCSR,
  splitToken,
  toArrayBuffer,
  toPem,
  x509,
} from "../../../pki/mod.ts";
import { createEdgeCsr, type EdgeCsr } from "../../../edge/pki.ts";
import { httpsRequest } from "./https_client.ts";
import { type CertServerFixture, withCertServer } from "./cert_server_fixture.ts";
import { openssl, opensslOk, withTempDir } from "./openssl.ts";

type Fixture = CertServerFixture;
const withServer = withCertServer;

function edgeCrt(
  f: Fixture,
  csr: Uint8Array,
  headers: Record<string, string>,
  tls: { cert?: string; key?: string } = {},
) {
  return httpsRequest({
    port: f.port,
    path: "/edge.crt",
    ca: f.ca.certPem,
    body: csr,
    headers,
    ...tls,
  });
}

Deno.test("cert server: GET /ca.crt returns the CA DER; TLS 1.2 ECDHE-ECDSA and hostname verify with openssl", async () => {
  await withServer(async (f) => {
    const res = await httpsRequest({ port: f.port, path: "/ca.crt" });
    assertEquals(res.status, 200);
    assertEquals(res.body, f.ca.certDer);
    await withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/ca.pem`, f.ca.certPem);
      const r = await openssl([
        "s_client",
        "-connect",
        `127.0.0.1:${f.port}`,
        "-CAfile",
        `${dir}/ca.pem`,
        "-verify_ip",
        "127.0.0.1",
        "-verify_return_error",
        "-tls1_2",
        "-cipher",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
      ], new Uint8Array());
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, "Verify return code: 0 (ok)");
      assertStringIncludes(r.stdout, "ECDHE-ECDSA-AES128-GCM-SHA256");
    });
  });
});

Deno.test("cert server: an openssl-made CSR with a bearer token is signed; openssl verifies the result", async () => {
  await withServer(async (f) => {
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
        "-outform",
        "DER",
        "-out",
        `${dir}/edge.csr`,
      ]);
      const res = await edgeCrt(f, await Deno.readFile(`${dir}/edge.csr`), {
        Authorization: `Bearer ${f.jwt}`,
        NodeName: "edge-1",
      });
      assertEquals(res.status, 200, res.text);
      await Deno.writeTextFile(`${dir}/ca.pem`, f.ca.certPem);
      await Deno.writeTextFile(`${dir}/edge.pem`, toPem(res.body, PEM_CERTIFICATE));
      await opensslOk([
        "verify",
        "-CAfile",
        `${dir}/ca.pem`,
        "-purpose",
        "sslclient",
        `${dir}/edge.pem`,
      ]);
      const text = await opensslOk(["x509", "-in", `${dir}/edge.pem`, "-noout", "-text"]);
      assertMatch(text, /Subject: CN ?= ?system:node:edge-1, O ?= ?system:nodes/);
      assertMatch(text, /Extended Key Usage: *\n *TLS Web Client Authentication\n/);
      assertEquals(/Subject Alternative Name|Locality|Zhejiang/.test(text), false, text);
      const cert = new x509.X509Certificate(toArrayBuffer(res.body));
      assertEquals(cert.notAfter.getTime() - cert.notBefore.getTime(), 365 * 86400e3);
    });
  });
});

Deno.test("cert server: /edge.crt refuses missing, malformed, expired and forged tokens with 401 and a reason", async () => {
  await withServer(async (f) => {
    const { csrDer } = await createEdgeCsr("edge-1");
    const none = await edgeCrt(f, csrDer, { NodeName: "edge-1" });
    assertEquals(none.status, 401);
    assertStringIncludes(none.text, "no client certificate and no Authorization header");

    const basic = await edgeCrt(f, csrDer, { NodeName: "edge-1", Authorization: "Basic abc" });
    assertEquals(basic.status, 401);
    assertStringIncludes(basic.text, "Bearer");

    const past = new Date(Date.now() - 48 * 3600e3);
    const expired = splitToken(await createToken(f.ca, 12, past)).jwt;
    const exp = await edgeCrt(f, csrDer, {
      NodeName: "edge-1",
      Authorization: `Bearer ${expired}`,
    });
    assertEquals(exp.status, 401);
    assertStringIncludes(exp.text, "token is expired");

    const other = await createCA();
    const forged = splitToken(await createToken(other, 12)).jwt;
    const bad = await edgeCrt(f, csrDer, { NodeName: "edge-1", Authorization: `Bearer ${forged}` });
    assertEquals(bad.status, 401);
    assertStringIncludes(bad.text, "signature is invalid");

    const tampered = f.jwt.slice(0, -3) + (f.jwt.endsWith("AAA") ? "BBB" : "AAA");
    const t = await edgeCrt(f, csrDer, { NodeName: "edge-1", Authorization: `Bearer ${tampered}` });
    assertEquals(t.status, 401);

    assertEquals(f.server.counters["/edge.crt"]["401"], 5);
  });
});

Deno.test("cert server: bad CSR → 400, bad ExtKeyUsages → 400, body over 1 MiB → 413, server keeps serving", async () => {
  await withServer(async (f) => {
    const auth = { NodeName: "edge-1", Authorization: `Bearer ${f.jwt}` };
    const garbage = await edgeCrt(f, new TextEncoder().encode("not a csr"), auth);
    assertEquals(garbage.status, 400);
    assertStringIncludes(garbage.text, "CSR");

    const { csrDer } = await createEdgeCsr("edge-1");
    const tampered = csrDer.slice();
    tampered[tampered.length - 4] ^= 0x55;
    const badSig = await edgeCrt(f, tampered, auth);
    assertEquals(badSig.status, 400);

    const empty = await edgeCrt(f, new Uint8Array(0), auth);
    assertEquals(empty.status, 400);

    const eku = await edgeCrt(f, csrDer, { ...auth, ExtKeyUsages: "client" });
    assertEquals(eku.status, 400);
    assertStringIncludes(eku.text, "ExtKeyUsages");

    const big = await edgeCrt(f, new Uint8Array(MAX_CSR_BODY + 1), auth).catch((err) => err);
    // Either the 413 arrives, or the socket is cut while the client still uploads; never a 200.
    if (!(big instanceof Error)) {
      assertEquals(big.status, 413);
      assertStringIncludes(big.text, "exceeds");
    }

    const chunked = await httpsRequest({
      port: f.port,
      path: "/edge.crt",
      ca: f.ca.certPem,
      headers: auth,
      body: new Uint8Array(MAX_CSR_BODY + 100_000),
      chunked: true,
    }).catch((err) => err);
    if (!(chunked instanceof Error)) assertEquals(chunked.status, 413);

    const ok = await edgeCrt(f, csrDer, auth);
    assertEquals(ok.status, 200);
    assertEquals(f.server.counters["/edge.crt"]["200"], 1);
    assertEquals(f.server.counters["/edge.crt"]["413"], 2);
  });
});

async function clientCert(
  ca: CA,
  edge: EdgeCsr,
  usages = [2],
): Promise<{ cert: string; key: string }> {
  const der = await signCSR(ca, edge.csrDer, { extKeyUsages: usages, validityDays: 1 });
  return { cert: toPem(der, PEM_CERTIFICATE), key: edge.keyPem };
}

Deno.test("cert server: client-certificate authentication (rotation path) and subject rules", async () => {
  await withServer(async (f) => {
    const current = await createEdgeCsr("edge-1");
    const tls = await clientCert(f.ca, current);
    const next = await createEdgeCsr("edge-1");

    const ok = await edgeCrt(f, next.csrDer, { NodeName: "edge-1" }, tls);
    assertEquals(ok.status, 200, ok.text);
    const signed = new x509.X509Certificate(toArrayBuffer(ok.body));
    assertEquals(signed.subject, "CN=system:node:edge-1, O=system:nodes");

    const wrongNode = await edgeCrt(f, next.csrDer, { NodeName: "edge-2" }, tls);
    assertEquals(wrongNode.status, 401);
    assertStringIncludes(wrongNode.text, "not match");

    // A presented certificate decides alone: a valid token does not rescue a bad certificate.
    const other = await createCA();
    const foreign = await clientCert(other, current);
    const f1 = await edgeCrt(f, next.csrDer, {
      NodeName: "edge-1",
      Authorization: `Bearer ${f.jwt}`,
    }, foreign);
    assertEquals(f1.status, 401);
    assertStringIncludes(f1.text, "failed to verify edgecert");

    const serverOnly = await clientCert(f.ca, current, [1]);
    const s1 = await edgeCrt(f, next.csrDer, { NodeName: "edge-1" }, serverOnly);
    assertEquals(s1.status, 401);
    assertStringIncludes(s1.text, "ClientAuth");

    // The legacy subject O=KubeEdge, CN=kubeedge.io names no node: cloudcore lets it renew any
    // node's certificate; edgecloud refuses it (docs/security.md).
    const legacy = await legacyClientCert(f.ca);
    const l1 = await edgeCrt(f, next.csrDer, { NodeName: "any-node" }, legacy);
    assertEquals(l1.status, 403, l1.text);
    assertStringIncludes(l1.text, "legacy certificate");
  });
});

async function legacyClientCert(ca: CA): Promise<{ cert: string; key: string }> {
  const keys = await generateEcKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: ["kubeedge.io"] }, { O: ["KubeEdge"] }],
    keys,
    signingAlgorithm: ECDSA_SHA256,
  });
  return {
    cert: toPem(
      await signCSR(ca, new Uint8Array(csr.rawData), { extKeyUsages: [2], validityDays: 1 }),
      PEM_CERTIFICATE,
    ),
    key: toPem(await privateKeyToSec1(keys.privateKey), PEM_EC_PRIVATE_KEY),
  };
}

Deno.test("cert server: GET /node/{name}, unknown paths, methods, counters", async () => {
  await withServer(async (f) => {
    const found = await httpsRequest({ port: f.port, path: "/node/edge-1" });
    assertEquals([found.status, found.text], [200, "Node found"]);
    const missing = await httpsRequest({ port: f.port, path: "/node/edge-9" });
    assertEquals([missing.status, missing.text], [404, "Node not found"]);
    // A malformed escape is the client's error: 400, not a 500 with an ERROR log.
    const malformed = await httpsRequest({ port: f.port, path: "/node/%ZZ" });
    assertEquals(malformed.status, 400, malformed.text);
    assertStringIncludes(malformed.text, "malformed escape");
    const unknown = await httpsRequest({ port: f.port, path: "/nope" });
    assertEquals(unknown.status, 404);
    const post = await httpsRequest({ port: f.port, path: "/ca.crt", method: "POST" });
    assertEquals(post.status, 405);
    assertEquals(f.server.counters, {
      "/node": { "200": 1, "404": 1, "400": 1 },
      other: { "404": 1 },
      "/ca.crt": { "405": 1 },
    });
  });
});

Deno.test("cert server: curl as the client (GET with a DER body, bearer token, then client cert)", async () => {
  await withServer(async (f) => {
    await withTempDir(async (dir) => {
      const first = await createEdgeCsr("edge-1");
      await Deno.writeFile(`${dir}/edge.csr`, first.csrDer);
      await Deno.writeTextFile(`${dir}/ca.pem`, f.ca.certPem);
      const base = [
        "-sS",
        "--cacert",
        `${dir}/ca.pem`,
        "-X",
        "GET",
        "-H",
        "NodeName: edge-1",
        "-H",
        "Content-Type:",
        "--data-binary",
        `@${dir}/edge.csr`,
        "-o",
        `${dir}/edge.der`,
        "-w",
        "%{http_code}",
      ];
      const url = `https://127.0.0.1:${f.port}/edge.crt`;
      const status = await run("curl", [...base, "-H", `Authorization: Bearer ${f.jwt}`, url]);
      assertEquals(status, "200");
      const pem = await opensslOk(["x509", "-inform", "DER", "-in", `${dir}/edge.der`]);
      await Deno.writeTextFile(`${dir}/edge.pem`, pem);
      await opensslOk(["verify", "-CAfile", `${dir}/ca.pem`, `${dir}/edge.pem`]);

      // Rotation with curl presenting the certificate it just got.
      await Deno.writeTextFile(`${dir}/edge.key`, first.keyPem);
      const rotated = await run("curl", [
        ...base,
        "--cert",
        `${dir}/edge.pem`,
        "--key",
        `${dir}/edge.key`,
        url,
      ]);
      assertEquals(rotated, "200");
      const unauth = await run("curl", [...base, url]);
      assertEquals(unauth, "401");
    });
  });
});

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`${cmd} failed: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout).trim();
}
