/**
 * Edge bootstrap against the cert server, the way edgecore does it (docs/protocol.md §5.2–5.3):
 * token → `GET /ca.crt` without verification → check sha256(CA DER) against the token's part 0
 * → new key + CSR → `GET /edge.crt` with the CSR as the GET body, `Authorization: Bearer <jwt>`
 * and `NodeName`, over TLS that trusts the fetched CA and verifies the server name.
 *
 * `node:https` is used because `fetch` refuses a body on GET, and because the rotation path
 * ({@link renewWithClientCert}) must present a client certificate.
 *
 * @example
 * ```ts
 * const creds = await bootstrap({ server: "10.0.0.1:10002", token, nodeName: "edge-1" });
 * await Deno.writeTextFile("/etc/kubeedge/certs/server.crt", creds.certPem);
 * ```
 */
import https from "node:https";
import { findPem, PEM_CERTIFICATE, sha256Hex, splitToken, toPem } from "../pki/mod.ts";
import { createEdgeCsr } from "./pki.ts";
import { concat, isIpLiteral } from "../lib/mod.ts";

/** Thrown when bootstrap fails: CA hash mismatch, HTTP error, network error. */
export class BootstrapError extends Error {
  override name = "BootstrapError";
  /** HTTP status when the server answered with an error, else undefined. */
  readonly status?: number;

  /** @param message reason; @param status HTTP status if any */
  constructor(message: string, status?: number) {
    super(message);
    this.status = status;
  }
}

/** Credentials an edge node ends up with (what edgecore writes to /etc/kubeedge). */
export interface EdgeCredentials {
  /** CA certificate DER. */
  caDer: Uint8Array;
  /** CA certificate PEM (rootCA.crt). */
  caPem: string;
  /** Signed edge certificate DER. */
  certDer: Uint8Array;
  /** Signed edge certificate PEM (server.crt). */
  certPem: string;
  /** Edge private key SEC1 DER. */
  keyDer: Uint8Array;
  /** Edge private key PEM, `EC PRIVATE KEY` (server.key). */
  keyPem: string;
}

/** Options of {@link bootstrap}. */
export interface BootstrapOptions {
  /** Cert server `host:port` (edgecore's `httpServer` without the scheme). */
  server: string;
  /** The join token `<ca hash>.<jwt>`. */
  token: string;
  /** This node's name (`NodeName` header and CSR CN). */
  nodeName: string;
  /** Optional Go `x509.ExtKeyUsage` ints sent in `ExtKeyUsages` (default: none, i.e. ClientAuth). */
  extKeyUsages?: number[];
  /** TLS server name to verify (default: the host of `server`). */
  serverName?: string;
}

/** Runs the edge's token bootstrap and returns the CA, the signed certificate and its key. */
export async function bootstrap(opts: BootstrapOptions): Promise<EdgeCredentials> {
  const { caHash, jwt } = splitToken(opts.token);
  const { host, port } = parseHostPort(opts.server);
  const caDer = await fetchCA(opts.server);
  const actual = await sha256Hex(caDer);
  if (actual !== caHash.toLowerCase()) {
    throw new BootstrapError(
      `failed to verify CA certificate: hash of ${opts.server}/ca.crt is ${actual}, the token expects ${caHash}`,
    );
  }
  const caPem = toPem(caDer, PEM_CERTIFICATE);
  const csr = await createEdgeCsr(opts.nodeName);
  const headers: Record<string, string> = {
    Authorization: `Bearer ${jwt}`,
    NodeName: opts.nodeName,
  };
  if (opts.extKeyUsages) headers.ExtKeyUsages = JSON.stringify(opts.extKeyUsages);
  const certDer = await request({
    host,
    port,
    path: "/edge.crt",
    ca: caPem,
    servername: opts.serverName,
    headers,
    body: csr.csrDer,
  });
  return {
    caDer,
    caPem,
    certDer,
    certPem: toPem(certDer, PEM_CERTIFICATE),
    keyDer: csr.keyDer,
    keyPem: csr.keyPem,
  };
}

/** Options of {@link renewWithClientCert}. */
export interface RenewOptions {
  /** Cert server `host:port`. */
  server: string;
  /** This node's name. */
  nodeName: string;
  /** The CA PEM the edge already trusts. */
  caPem: string;
  /** The current client certificate PEM. */
  certPem: string;
  /** The current private key PEM (`EC PRIVATE KEY` or PKCS#8). */
  keyPem: string;
  /** Optional `ExtKeyUsages`. */
  extKeyUsages?: number[];
  /** TLS server name to verify (default: the host of `server`). */
  serverName?: string;
}

/**
 * Rotation: asks `/edge.crt` for a new certificate (new key) authenticating with the current
 * client certificate instead of a token, as edgecore's certmanager does before expiry.
 */
export async function renewWithClientCert(opts: RenewOptions): Promise<EdgeCredentials> {
  const { host, port } = parseHostPort(opts.server);
  const csr = await createEdgeCsr(opts.nodeName);
  const headers: Record<string, string> = { NodeName: opts.nodeName };
  if (opts.extKeyUsages) headers.ExtKeyUsages = JSON.stringify(opts.extKeyUsages);
  const certDer = await request({
    host,
    port,
    path: "/edge.crt",
    ca: opts.caPem,
    servername: opts.serverName,
    cert: opts.certPem,
    key: opts.keyPem,
    headers,
    body: csr.csrDer,
  });
  const caDer = findPem(opts.caPem, [PEM_CERTIFICATE], "CA").der;
  return {
    caDer,
    caPem: opts.caPem,
    certDer,
    certPem: toPem(certDer, PEM_CERTIFICATE),
    keyDer: csr.keyDer,
    keyPem: csr.keyPem,
  };
}

/** `GET /ca.crt` without verifying the server (the edge has no CA yet); returns the DER. */
export async function fetchCA(server: string): Promise<Uint8Array> {
  const { host, port } = parseHostPort(server);
  return await request({ host, port, path: "/ca.crt", insecure: true, headers: {} });
}

interface RequestParams {
  host: string;
  port: number;
  path: string;
  headers: Record<string, string>;
  ca?: string;
  insecure?: boolean;
  servername?: string;
  cert?: string;
  key?: string;
  body?: Uint8Array;
}

/** One HTTPS GET (optionally with a body); resolves the 200 body, rejects otherwise. */
function request(p: RequestParams): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...p.headers };
    if (p.body) headers["Content-Length"] = p.body.byteLength;
    const req = https.request(
      {
        host: p.host,
        port: p.port,
        method: "GET",
        path: p.path,
        headers,
        ca: p.ca,
        cert: p.cert,
        key: p.key,
        servername: p.servername ?? (isIpLiteral(p.host) ? undefined : p.host),
        rejectUnauthorized: !p.insecure,
        minVersion: "TLSv1.2",
        agent: false,
      },
      (res) => {
        const chunks: Uint8Array[] = [];
        res.on("data", (c: Uint8Array) => chunks.push(c));
        res.on("error", (err) => reject(new BootstrapError(`${p.path}: ${err.message}`)));
        res.on("end", () => {
          const body = concat(chunks);
          if (res.statusCode !== 200) {
            const text = new TextDecoder().decode(body).trim();
            reject(
              new BootstrapError(
                `GET ${p.path} from ${p.host}:${p.port} failed: ${res.statusCode} ${text}`,
                res.statusCode,
              ),
            );
          } else {
            resolve(body);
          }
        });
      },
    );
    req.on("error", (err) => {
      reject(new BootstrapError(`GET ${p.path} from ${p.host}:${p.port} failed: ${err.message}`));
    });
    req.end(p.body);
  });
}

/** Splits `host:port` (IPv6 as `[::1]:10002`). */
export function parseHostPort(server: string): { host: string; port: number } {
  const stripped = server.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(stripped) ?? /^([^:]+):(\d+)$/.exec(stripped);
  if (!m) throw new BootstrapError(`server must be host:port, got "${server}"`);
  return { host: m[1], port: Number(m[2]) };
}
