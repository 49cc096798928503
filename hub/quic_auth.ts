/**
 * The hub's verifier of the QUIC node credential (the header names and signed payload are
 * protocol/quic_auth.ts): the certificate chains to the CA, is in its validity window, has EKU
 * ClientAuth and CN `system:node:<node_id>`; the signature verifies; the timestamp is within
 * ±5 minutes; the server name is one of the names in the hub's own certificate (and equals the
 * TLS SNI when the client sent one); and the signature was not seen before (replay cache).
 *
 * @example
 * ```ts
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
import { decodeBase64 } from "../lib/mod.ts";
import {
  type HeaderMap,
  headerValue,
  QuicAuthError,
  QuicAuthHeader,
  quicAuthPayload,
} from "../protocol/mod.ts";

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
