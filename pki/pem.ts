/**
 * PEM encoding and decoding plus the SHA-256 fingerprint used by the KubeEdge token.
 *
 * PEM parsing is delegated to `@peculiar/x509`'s `PemConverter`; this file only adds the
 * label-aware decode that key loading needs (SEC1 vs PKCS#8 are told apart by label and shape).
 *
 * @example
 * ```ts
 * const pem = toPem(certDer, "CERTIFICATE");
 * const [{ label, der }] = decodePem(pem);
 * ```
 */
import { x509 } from "./x509.ts";

/** PEM labels used by the certificate code. */
export const PEM_CERTIFICATE = "CERTIFICATE";
/** PKCS#8 private key label. */
export const PEM_PRIVATE_KEY = "PRIVATE KEY";
/** SEC1 (RFC 5915) EC private key label, what edgecore writes. */
export const PEM_EC_PRIVATE_KEY = "EC PRIVATE KEY";
/** PKCS#10 certificate request label. */
export const PEM_CERTIFICATE_REQUEST = "CERTIFICATE REQUEST";

/** Thrown when a PEM text holds no block or not the expected one. */
export class PemError extends Error {
  override name = "PemError";
}

/** One decoded PEM block. */
export interface PemBlock {
  /** The label between `-----BEGIN ` and `-----`, e.g. `CERTIFICATE`. */
  label: string;
  /** The decoded bytes. */
  der: Uint8Array;
}

/** Encodes DER bytes as a PEM block with the given label (64-column base64, trailing newline). */
export function toPem(der: Uint8Array, label: string): string {
  const text = x509.PemConverter.encode(toArrayBuffer(der), label);
  return text.endsWith("\n") ? text : `${text}\n`;
}

/** Decodes every PEM block in `text`. Throws `PemError` if there is none. */
export function decodePem(text: string): PemBlock[] {
  let blocks;
  try {
    blocks = x509.PemConverter.decodeWithHeaders(text);
  } catch (err) {
    throw new PemError(`invalid PEM: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (blocks.length === 0) throw new PemError("no PEM block found");
  return blocks.map((b) => ({ label: b.type, der: new Uint8Array(b.rawData) }));
}

/** Returns the first block whose label is one of `labels`; throws `PemError` otherwise. */
export function findPem(text: string, labels: string[], what: string): PemBlock {
  const block = decodePem(text).find((b) => labels.includes(b.label));
  if (!block) throw new PemError(`${what}: no PEM block labelled ${labels.join(" or ")}`);
  return block;
}

/** Lowercase hex SHA-256 of `data` (the token's part 0 is this over the CA certificate DER). */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", toArrayBuffer(data)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Copies `data` into a fresh ArrayBuffer (WebCrypto and the asn1 libraries want exact buffers). */
export function toArrayBuffer(data: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(data.byteLength);
  new Uint8Array(out).set(data);
  return out;
}
