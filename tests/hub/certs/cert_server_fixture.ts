/** A cert server on 127.0.0.1:0 with a fresh CA and join token, for the cert server tests. */
import { CertServer } from "../../../hub/certs/mod.ts";
import {
  type CA,
  createCA,
  createToken,
  type KeyPairPem,
  signServerCert,
  splitToken,
} from "../../../pki/mod.ts";

/** What a test gets: the CA, the server and its port, and a valid join token's JWT. */
export interface CertServerFixture {
  ca: CA;
  serverCert: KeyPairPem;
  server: CertServer;
  port: number;
  jwt: string;
}

/** Starts a cert server (node `edge-1` exists), runs `fn`, and always closes it. */
export async function withCertServer(fn: (f: CertServerFixture) => Promise<void>): Promise<void> {
  const ca = await createCA();
  const serverCert = await signServerCert(ca, { ips: ["127.0.0.1"], dnsNames: ["localhost"] });
  const server = new CertServer({
    address: "127.0.0.1",
    port: 0,
    ca,
    serverCert,
    nodeExists: (name) => Promise.resolve(name === "edge-1"),
  });
  const { port } = await server.start();
  try {
    const { jwt } = splitToken(await createToken(ca, 12));
    await fn({ ca, serverCert, server, port, jwt });
  } finally {
    await server.close();
  }
}
