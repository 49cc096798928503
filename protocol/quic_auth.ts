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
 * This file is what both ends speak (the header names and the signed payload); the hub's
 * verifier is hub/quic_auth.ts. The hub accepts it when the certificate chains to the CA, is in its validity window, has EKU
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
import { encodeBase64 } from "../lib/mod.ts";

/** ECDSA P-256 with SHA-256 (the signature algorithm of the credential). */
const ECDSA_SHA256: EcdsaParams = { name: "ECDSA", hash: "SHA-256" };

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
export function quicAuthPayload(
  nodeId: string,
  timestamp: string,
  server: string,
): Uint8Array<ArrayBuffer> {
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
    quicAuthPayload(opts.nodeId, ts, opts.serverName),
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
