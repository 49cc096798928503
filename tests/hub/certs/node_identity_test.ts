/**
 * The attack on `/edge.crt` (issue 17, item 1): with the join token or with one node's own
 * certificate, a caller asked for another node's certificate, for `O=system:masters`, for a
 * legacy subject, for SANs and for ServerAuth, and got them all. Each request below must be
 * refused with a reason; only the authenticated node's own client certificate is signed (an
 * older edgecore's fixed legacy subject gets that certificate too, never the subject itself).
 */
import { assertEquals, assertStringIncludes } from "../../assert.ts";
import {
  ECDSA_SHA256,
  generateEcKeyPair,
  PEM_CERTIFICATE,
  toArrayBuffer,
  toPem,
  x509,
} from "../../../pki/mod.ts";
import { createEdgeCsr } from "../../../edge/pki.ts";
import { httpsRequest, type HttpsResponse } from "./https_client.ts";
import { type CertServerFixture, withCertServer } from "./cert_server_fixture.ts";

type Hub = CertServerFixture;
const withHub = withCertServer;

/** A CSR with any subject and optional SANs, as an attacker builds it. */
async function csrFor(name: x509.JsonName, sans?: x509.JsonGeneralNames): Promise<Uint8Array> {
  const keys = await generateEcKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name,
    keys,
    signingAlgorithm: ECDSA_SHA256,
    extensions: sans ? [new x509.SubjectAlternativeNameExtension(sans)] : [],
  });
  return new Uint8Array(csr.rawData);
}

function edgeCrt(
  h: Hub,
  csr: Uint8Array,
  headers: Record<string, string>,
  tls: { cert?: string; key?: string } = {},
): Promise<HttpsResponse> {
  return httpsRequest({
    port: h.port,
    path: "/edge.crt",
    ca: h.ca.certPem,
    body: csr,
    headers,
    ...tls,
  });
}

/** edge-a's own certificate, obtained the legitimate way (token + its own CSR). */
async function joinAsEdgeA(h: Hub): Promise<{ cert: string; key: string }> {
  const own = await createEdgeCsr("edge-a");
  const res = await edgeCrt(h, own.csrDer, {
    NodeName: "edge-a",
    Authorization: `Bearer ${h.jwt}`,
  });
  assertEquals(res.status, 200, res.text);
  return { cert: toPem(res.body, PEM_CERTIFICATE), key: own.keyPem };
}

function assertRefused(res: HttpsResponse, status: number, reason: string): void {
  assertEquals(res.status, status, res.text);
  assertStringIncludes(res.text, reason);
}

Deno.test("edge.crt with a token: only the NodeName's own subject, no SANs, ClientAuth only", async () => {
  await withHub(async (h) => {
    const auth = { NodeName: "edge-a", Authorization: `Bearer ${h.jwt}` };
    const other = await csrFor([{ CN: ["system:node:edge-b"] }, { O: ["system:nodes"] }]);
    assertRefused(await edgeCrt(h, other, auth), 403, 'may only request CN "system:node:edge-a"');

    const admin = await csrFor([{ CN: ["system:admin"] }, { O: ["system:masters"] }]);
    assertRefused(await edgeCrt(h, admin, auth), 403, "may only request CN");

    const extraGroup = await csrFor([
      { CN: ["system:node:edge-a"] },
      { O: ["system:nodes", "system:masters"] },
    ]);
    assertRefused(await edgeCrt(h, extraGroup, auth), 403, 'exactly O "system:nodes"');

    // edgecore before v1.18 asks for this fixed subject whatever its node: it is signed, but as
    // the authenticated node's own certificate, never with the subject it asked for.
    for (const org of ["kubeEdge", "KubeEdge"]) {
      const legacy = await csrFor([{ C: ["CN"] }, { O: [org] }, { CN: ["kubeedge.io"] }]);
      const res = await edgeCrt(h, legacy, auth);
      assertEquals(res.status, 200, res.text);
      const cert = new x509.X509Certificate(toArrayBuffer(res.body));
      assertEquals(cert.subject, "CN=system:node:edge-a, O=system:nodes");
    }
    const legacyAdmin = await csrFor([{ CN: ["kubeedge.io"] }, { O: ["system:masters"] }]);
    assertRefused(await edgeCrt(h, legacyAdmin, auth), 403, "may only request CN");
    const legacySans = await csrFor([{ CN: ["kubeedge.io"] }, { O: ["kubeEdge"] }], [
      { type: "ip", value: "127.0.0.1" },
    ]);
    assertRefused(await edgeCrt(h, legacySans, auth), 403, "subjectAltName");

    const twoCNs = await csrFor([
      { CN: ["system:node:edge-a"] },
      { CN: ["system:node:edge-b"] },
      { O: ["system:nodes"] },
    ]);
    assertRefused(await edgeCrt(h, twoCNs, auth), 403, "may only request CN");

    const own: x509.JsonName = [{ CN: ["system:node:edge-a"] }, { O: ["system:nodes"] }];
    const withSans = await csrFor(own, [
      { type: "ip", value: "127.0.0.1" },
      { type: "dns", value: "localhost" },
    ]);
    assertRefused(await edgeCrt(h, withSans, auth), 403, "subjectAltName");

    const ownCsr = await csrFor(own);
    for (const usages of ["[1]", "[1,2]", "[0]", "[2,3]"]) {
      const res = await edgeCrt(h, ownCsr, { ...auth, ExtKeyUsages: usages });
      assertRefused(res, 403, "client authentication only");
    }

    const noName = await edgeCrt(h, ownCsr, { Authorization: `Bearer ${h.jwt}` });
    assertRefused(noName, 400, "NodeName header is required");
    const badName = await edgeCrt(h, ownCsr, { ...auth, NodeName: "Edge_A/../b" });
    assertRefused(badName, 400, "not a valid node name");

    // What edgecore sends (C/ST/L besides CN and O, no ExtKeyUsages) is signed, and the
    // certificate is built from the node name: CN and O only, ClientAuth only, no SANs.
    const edgecore = await createEdgeCsr("edge-a");
    for (const headers of [auth, { ...auth, ExtKeyUsages: "[2]" }, { ...auth, ExtKeyUsages: "" }]) {
      const res = await edgeCrt(h, edgecore.csrDer, headers);
      assertEquals(res.status, 200, res.text);
      const cert = new x509.X509Certificate(toArrayBuffer(res.body));
      assertEquals(cert.subject, "CN=system:node:edge-a, O=system:nodes");
      const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
      assertEquals([...eku?.usages ?? []].map(String), [x509.ExtendedKeyUsage.clientAuth]);
      assertEquals(cert.getExtension(x509.SubjectAlternativeNameExtension), null);
    }
  });
});

Deno.test("edge.crt with a node's certificate: a node renews itself and mints nobody else", async () => {
  await withHub(async (h) => {
    const edgeA = await joinAsEdgeA(h);

    // The reproduced attack: node-a, holding only its own certificate, asks for node-b's.
    const forB = await createEdgeCsr("edge-b");
    const asB = await edgeCrt(h, forB.csrDer, { NodeName: "edge-b" }, edgeA);
    assertRefused(asB, 401, "not match");
    const smuggled = await edgeCrt(h, forB.csrDer, { NodeName: "edge-a" }, edgeA);
    assertRefused(smuggled, 403, 'may only request CN "system:node:edge-a"');

    const admin = await csrFor([{ CN: ["system:admin"] }, { O: ["system:masters"] }]);
    assertRefused(await edgeCrt(h, admin, { NodeName: "edge-a" }, edgeA), 403, "may only request");

    const own: x509.JsonName = [{ CN: ["system:node:edge-a"] }, { O: ["system:nodes"] }];
    const server = await csrFor(own, [{ type: "ip", value: "127.0.0.1" }]);
    const serverAuth = await edgeCrt(h, server, { NodeName: "edge-a", ExtKeyUsages: "[1]" }, edgeA);
    assertRefused(serverAuth, 403, "client authentication only");

    // A valid token does not widen what a presented certificate may ask for.
    const withToken = await edgeCrt(h, forB.csrDer, {
      NodeName: "edge-b",
      Authorization: `Bearer ${h.jwt}`,
    }, edgeA);
    assertRefused(withToken, 401, "not match");

    const renew = await createEdgeCsr("edge-a");
    const renewed = await edgeCrt(h, renew.csrDer, { NodeName: "edge-a" }, edgeA);
    assertEquals(renewed.status, 200, renewed.text);
    const cert = new x509.X509Certificate(toArrayBuffer(renewed.body));
    assertEquals(cert.subject, "CN=system:node:edge-a, O=system:nodes");
  });
});
