import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { CertServer, MemorySecretStore, prepareCerts, TokenManager } from "../../hub/certs/mod.ts";
import { createToken, splitToken, toArrayBuffer, verifyClientCert, x509 } from "../../pki/mod.ts";
import {
  bootstrap,
  BootstrapError,
  fetchCA,
  parseHostPort,
  renewWithClientCert,
} from "../../edge/bootstrap.ts";
import { opensslOk, withTempDir } from "../hub/certs/openssl.ts";

interface Hub {
  server: string;
  token: string;
  tokens: TokenManager;
  certServer: CertServer;
  prepared: Awaited<ReturnType<typeof prepareCerts>>;
}

/** The hub side as main.ts wires it: prepareCerts → TokenManager → CertServer on 127.0.0.1:0. */
async function withHub(fn: (hub: Hub) => Promise<void>): Promise<void> {
  const store = new MemorySecretStore();
  const prepared = await prepareCerts({
    store,
    advertiseAddress: ["127.0.0.1"],
    dnsNames: ["localhost"],
  });
  const tokens = new TokenManager({ ca: prepared.ca, store, refreshHours: 12 });
  const token = await tokens.start();
  const certServer = new CertServer({
    address: "127.0.0.1",
    port: 0,
    ca: prepared.ca,
    serverCert: prepared.serverCert,
  });
  const { port } = await certServer.start();
  try {
    await fn({ server: `127.0.0.1:${port}`, token, tokens, certServer, prepared });
  } finally {
    tokens.stop();
    await certServer.close();
  }
}

Deno.test("edge bootstrap end to end: token → /ca.crt hash check → CSR → /edge.crt", async () => {
  await withHub(async (hub) => {
    const creds = await bootstrap({ server: hub.server, token: hub.token, nodeName: "edge-7" });
    assertEquals(creds.caDer, hub.prepared.ca.certDer);
    assertStringIncludes(creds.keyPem, "-----BEGIN EC PRIVATE KEY-----");
    const cert = new x509.X509Certificate(toArrayBuffer(creds.certDer));
    assertEquals(cert.subject, "CN=system:node:edge-7, O=system:nodes");
    assertEquals(await verifyClientCert(hub.prepared.ca, creds.certDer), {
      commonName: "system:node:edge-7",
      organizations: ["system:nodes"],
    });
    await withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/rootCA.crt`, creds.caPem);
      await Deno.writeTextFile(`${dir}/server.crt`, creds.certPem);
      await Deno.writeTextFile(`${dir}/server.key`, creds.keyPem);
      await opensslOk([
        "verify",
        "-CAfile",
        `${dir}/rootCA.crt`,
        "-purpose",
        "sslclient",
        `${dir}/server.crt`,
      ]);
      // The key edgecore would store belongs to the certificate.
      assertEquals(
        await opensslOk(["ec", "-in", `${dir}/server.key`, "-pubout"]),
        await opensslOk(["x509", "-in", `${dir}/server.crt`, "-noout", "-pubkey"]),
      );
    });

    // Rotation: the current client certificate authenticates instead of a token.
    const renewed = await renewWithClientCert({
      server: hub.server,
      nodeName: "edge-7",
      caPem: creds.caPem,
      certPem: creds.certPem,
      keyPem: creds.keyPem,
    });
    assert(renewed.keyPem !== creds.keyPem, "rotation uses a new key");
    assertEquals(
      new x509.X509Certificate(toArrayBuffer(renewed.certDer)).subject,
      "CN=system:node:edge-7, O=system:nodes",
    );
    assertEquals(hub.certServer.counters["/edge.crt"], { "200": 2 });
  });
});

Deno.test("edge bootstrap: a token whose CA hash does not match the served CA is refused before any CSR", async () => {
  await withHub(async (hub) => {
    const { jwt } = splitToken(hub.token);
    const wrong = `${"0".repeat(64)}.${jwt}`;
    await assertRejects(
      () => bootstrap({ server: hub.server, token: wrong, nodeName: "edge-1" }),
      BootstrapError,
      "failed to verify CA certificate",
    );
    assertEquals(hub.certServer.counters["/edge.crt"], undefined);
  });
});

Deno.test("edge bootstrap: an expired or forged token surfaces the server's 401 reason", async () => {
  await withHub(async (hub) => {
    const { caHash } = splitToken(hub.token);
    const forged = `${caHash}.eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjQxMDI0NDQ4MDB9.AAAA`;
    const err = await assertRejects(
      () => bootstrap({ server: hub.server, token: forged, nodeName: "edge-1" }),
      BootstrapError,
    );
    assertEquals(err.status, 401);
    assertStringIncludes(err.message, "token validation failure");
    const expired = await createToken(hub.prepared.ca, 1, new Date(Date.now() - 3 * 3600e3));
    const e2 = await assertRejects(
      () => bootstrap({ server: hub.server, token: expired, nodeName: "edge-1" }),
      BootstrapError,
    );
    assertEquals(e2.status, 401);
    assertStringIncludes(e2.message, "token is expired");
    await assertRejects(
      () => bootstrap({ server: hub.server, token: "abc", nodeName: "edge-1" }),
      Error,
      "malformed",
    );
  });
});

Deno.test("edge bootstrap: wrong TLS name and unreachable server are clear errors", async () => {
  await withHub(async (hub) => {
    const e = await assertRejects(
      () =>
        bootstrap({
          server: hub.server,
          token: hub.token,
          nodeName: "e",
          serverName: "not-in-san",
        }),
      BootstrapError,
    );
    assertStringIncludes(e.message, "altnames");
    assertEquals((await fetchCA(hub.server)).length, hub.prepared.ca.certDer.length);
  });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await assertRejects(() => fetchCA(`127.0.0.1:${port}`), BootstrapError, "/ca.crt");
  assertEquals(parseHostPort("[::1]:10002"), { host: "::1", port: 10002 });
  assertEquals(parseHostPort("https://h:1/x"), { host: "h", port: 1 });
});
