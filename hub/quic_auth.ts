/**
 * Node authentication for the QUIC transport. Deno's QUIC cannot request or verify client
 * certificates, so the node proves its identity inside viaduct's header message instead of in
 * the TLS handshake (docs/quic.md):
 *
 * - `Kubeedge-Client-Cert`: the node's client certificate (DER, base64), issued by the KubeEdge CA.
 * - `Kubeedge-Auth-Timestamp`: milliseconds since the epoch, decimal.
 * - `Kubeedge-Auth-Server`: the server name the node dialled and verified the server
 *   certificate against (host name or IP).
 * - `Kubeedge-Auth-Signature`: base64 ECDSA P-256 / SHA-256 signature (IEEE P1363 `r||s`, the
 *   WebCrypto form) with the certificate's key over
 *   `"kubeedge-quic-auth\n" + node_id + "\n" + timestamp + "\n" + server`.
 *
 * The hub accepts it when the certificate chains to the CA, is in its validity window, has EKU
 * ClientAuth and CN `system:node:<node_id>`; the signature verifies; the timestamp is within
 * ±5 minutes; the server name is one of the names in the hub's own certificate (and equals the
 * TLS SNI when the client sent one); and the signature was not seen before (replay cache).
 *
 * @example
 * ```ts
 * const headers = await signQuicAuth({ nodeId: "edge-1", certDer, key, serverName: "10.0.0.1" });
 * const auth = new QuicAuthenticator({ caPem, serverCertPem });
 * const { nodeId } = await auth.verify({ ...headers, Node_id: ["edge-1"] });
 * ```
 */
import {
  type CA,
  CertError,
  ECDSA_SHA256,
  toArrayBuffer,
  verifyClientCert,
  x509,
} from "../pki/mod.ts";
import { decodeBase64, encodeBase64 } from "../lib/mod.ts";

/** Signed-context label: keeps these signatures useless for any other protocol. */
export const QUIC_AUTH_CONTEXT = "kubeedge-quic-auth";

/** Header-map names (Go canonical form; lookups are case-insensitive). */
export const QuicAuthHeader = {
  NodeId: "Node_id",
  ProjectId: "Project_id",
  Cert: "Kubeedge-Client-Cert",
  Timestamp: "Kubeedge-Auth-Timestamp",
  Server: "Kubeedge-Auth-Server",
  Signature: "Kubeedge-Auth-Signature",
} as const;

/** viaduct's header map: Go `http.Header`, name → values. */
export type HeaderMap = Record<string, string[]>;

/** A refused credential; the message says why (sent to the node). */
export class QuicAuthError extends Error {
  override name = "QuicAuthError";
}

/** The bytes a node signs. */
export function quicAuthPayload(nodeId: string, timestamp: string, server: string): Uint8Array {
  return new TextEncoder().encode(`${QUIC_AUTH_CONTEXT}\n${nodeId}\n${timestamp}\n${server}`);
}

/** Input of {@link signQuicAuth}. */
export interface SignQuicAuthOptions {
  nodeId: string;
  /** The node's client certificate DER. */
  certDer: Uint8Array;
  /** The certificate's ECDSA P-256 private key (usage `sign`). */
  key: CryptoKey;
  /** The name the node dials (what the server certificate is verified against). */
  serverName: string;
  /** Clock in ms (tests). */
  now?: number;
}

/** Builds the credential headers for the header message (node side). */
export async function signQuicAuth(opts: SignQuicAuthOptions): Promise<HeaderMap> {
  const ts = String(opts.now ?? Date.now());
  const sig = await crypto.subtle.sign(
    ECDSA_SHA256,
    opts.key,
    toArrayBuffer(quicAuthPayload(opts.nodeId, ts, opts.serverName)),
  );
  return {
    [QuicAuthHeader.Cert]: [encodeBase64(opts.certDer)],
    [QuicAuthHeader.Timestamp]: [ts],
    [QuicAuthHeader.Server]: [opts.serverName],
    [QuicAuthHeader.Signature]: [encodeBase64(new Uint8Array(sig))],
  };
}

/** First value of a header, matched case-insensitively like Go's `Header.Get`. */
export function headerValue(headers: HeaderMap, name: string): string {
  const lower = name.toLowerCase();
  for (const [key, values] of Object.entries(headers)) {
    if (key.toLowerCase() === lower && Array.isArray(values) && typeof values[0] === "string") {
      return values[0];
    }
  }
  return "";
}

/** Options of {@link QuicAuthenticator}. */
export interface QuicAuthenticatorOptions {
  /** The KubeEdge CA certificate (PEM). */
  caPem: string;
  /** The hub's server certificate (PEM): its SANs are the server names a credential may name. */
  serverCertPem: string;
  /** Accepted clock skew either way (default 5 minutes). */
  windowMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
  /** Replay-cache capacity (default 100,000 signatures). */
  replayCapacity?: number;
}

/** A verified node. */
export interface QuicIdentity {
  nodeId: string;
  projectId: string;
}

const SAN_OID = "2.5.29.17";

/** Verifies header-message credentials (hub side). One instance per listener. */
export class QuicAuthenticator {
  /** Only the certificate: `verifyClientCert` reads nothing else of the CA. */
  readonly #ca: Pick<CA, "cert">;
  readonly #names: Set<string>;
  readonly #window: number;
  readonly #now: () => number;
  readonly #capacity: number;
  /** signature → expiry (ms); insertion order is expiry order within the window. */
  readonly #seen = new Map<string, number>();

  constructor(opts: QuicAuthenticatorOptions) {
    this.#ca = { cert: new x509.X509Certificate(opts.caPem) };
    this.#window = opts.windowMs ?? 5 * 60_000;
    this.#now = opts.now ?? Date.now;
    this.#capacity = opts.replayCapacity ?? 100_000;
    this.#names = new Set();
    for (const ext of new x509.X509Certificate(opts.serverCertPem).extensions) {
      if (ext.type !== SAN_OID) continue;
      for (const n of new x509.SubjectAlternativeNameExtension(ext.rawData).names.items) {
        if (n.type === "ip" || n.type === "dns") this.#names.add(n.value.toLowerCase());
      }
    }
  }

  /** Server names a credential may be bound to (the server certificate's IP and DNS SANs). */
  get serverNames(): string[] {
    return [...this.#names];
  }

  /**
   * Checks the credential in a header map.
   * @param sni the TLS server name the client sent, when known (`QuicConn.serverName`).
   * @throws QuicAuthError with the reason when refused.
   */
  async verify(headers: HeaderMap, sni?: string): Promise<QuicIdentity> {
    const nodeId = headerValue(headers, QuicAuthHeader.NodeId);
    if (!nodeId) throw new QuicAuthError("header message has no Node_id");
    const projectId = headerValue(headers, QuicAuthHeader.ProjectId);
    const certB64 = headerValue(headers, QuicAuthHeader.Cert);
    const ts = headerValue(headers, QuicAuthHeader.Timestamp);
    const server = headerValue(headers, QuicAuthHeader.Server);
    const sigB64 = headerValue(headers, QuicAuthHeader.Signature);
    if (!certB64 || !ts || !server || !sigB64) {
      throw new QuicAuthError(
        `node ${nodeId}: missing credential (need ${QuicAuthHeader.Cert}, ${QuicAuthHeader.Timestamp}, ${QuicAuthHeader.Server}, ${QuicAuthHeader.Signature})`,
      );
    }
    const now = this.#now();
    const tsNum = /^-?\d{1,16}$/.test(ts) ? Number(ts) : NaN;
    if (!Number.isFinite(tsNum) || Math.abs(now - tsNum) > this.#window) {
      throw new QuicAuthError(
        `node ${nodeId}: credential timestamp ${ts} is outside ±${this.#window / 1000} s of now`,
      );
    }
    if (!this.#names.has(server.toLowerCase())) {
      throw new QuicAuthError(
        `node ${nodeId}: credential is bound to server ${server}, not a name of this hub`,
      );
    }
    if (sni && sni.toLowerCase() !== server.toLowerCase()) {
      throw new QuicAuthError(
        `node ${nodeId}: credential is bound to ${server} but the connection is for ${sni}`,
      );
    }
    const certDer = fromBase64(certB64, "client certificate", nodeId);
    const sig = fromBase64(sigB64, "signature", nodeId);
    let cert: x509.X509Certificate;
    try {
      const id = await verifyClientCert(this.#ca as CA, certDer, new Date(now));
      if (id.commonName !== `system:node:${nodeId}`) {
        throw new CertError(`certificate CN "${id.commonName}" is not system:node:${nodeId}`);
      }
      cert = new x509.X509Certificate(toArrayBuffer(certDer));
      const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
      if (!eku || !eku.usages.map(String).includes(x509.ExtendedKeyUsage.clientAuth)) {
        throw new CertError("certificate has no ExtKeyUsage ClientAuth");
      }
    } catch (err) {
      throw new QuicAuthError(`node ${nodeId}: ${(err as Error).message}`);
    }
    let ok = false;
    try {
      const key = await cert.publicKey.export(
        { name: "ECDSA", namedCurve: "P-256" },
        ["verify"],
        crypto,
      );
      ok = await crypto.subtle.verify(
        ECDSA_SHA256,
        key,
        toArrayBuffer(sig),
        toArrayBuffer(quicAuthPayload(nodeId, ts, server)),
      );
    } catch {
      ok = false;
    }
    if (!ok) throw new QuicAuthError(`node ${nodeId}: credential signature does not verify`);
    this.#remember(sigB64, tsNum + this.#window, now, nodeId);
    return { nodeId, projectId };
  }

  #remember(sig: string, expiry: number, now: number, nodeId: string): void {
    for (const [key, exp] of this.#seen) {
      if (exp > now && this.#seen.size < this.#capacity) break;
      this.#seen.delete(key);
    }
    if (this.#seen.has(sig)) {
      throw new QuicAuthError(`node ${nodeId}: credential was already used (replay)`);
    }
    this.#seen.set(sig, expiry);
  }
}

function fromBase64(text: string, what: string, nodeId: string): Uint8Array {
  try {
    return decodeBase64(text);
  } catch {
    throw new QuicAuthError(`node ${nodeId}: ${what} is not base64`);
  }
}
