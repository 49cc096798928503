/**
 * ECDSA private keys between WebCrypto and the encodings KubeEdge uses.
 *
 * KubeEdge keeps EC keys as SEC1 `ECPrivateKey` DER (Go's `x509.MarshalECPrivateKey`): in the
 * Secrets (`cakeydata`, `cloudcorekeydata`), in the key files edgecore writes, and as the HMAC key
 * of the join token. WebCrypto only speaks PKCS#8, so SEC1 is produced by unwrapping the PKCS#8
 * `PrivateKeyInfo` and completing the inner `ECPrivateKey` the way Go writes it (named curve and
 * public key present), using the `@peculiar/asn1-*` schemas rather than hand-written DER.
 *
 * @example
 * ```ts
 * const keys = await generateEcKeyPair();
 * const sec1 = await privateKeyToSec1(keys.privateKey);
 * const again = await importEcPrivateKey(sec1);
 * ```
 */
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  ECParameters,
  ECPrivateKey,
  id_ecPublicKey,
  id_secp256r1,
  id_secp384r1,
} from "@peculiar/asn1-ecc";
import { PrivateKeyInfo } from "@peculiar/asn1-pkcs8";
import { AlgorithmIdentifier } from "@peculiar/asn1-x509";
import { findPem, PEM_EC_PRIVATE_KEY, PEM_PRIVATE_KEY, toArrayBuffer } from "./pem.ts";
import { concat, decodeBase64Url } from "../lib/mod.ts";

/** Thrown when a private key cannot be decoded or imported. */
export class KeyError extends Error {
  override name = "KeyError";
}

/** The signing algorithm used for every certificate and CSR (ECDSA with SHA-256). */
export const ECDSA_SHA256: EcdsaParams = { name: "ECDSA", hash: "SHA-256" };

const CURVES: Record<string, string> = {
  [id_secp256r1]: "P-256",
  [id_secp384r1]: "P-384",
};
const CURVE_OIDS: Record<string, string> = { "P-256": id_secp256r1, "P-384": id_secp384r1 };

/** Generates an extractable ECDSA P-256 key pair (extractable so it can be stored as SEC1). */
export async function generateEcKeyPair(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
}

/** Exports an ECDSA private key as SEC1 `ECPrivateKey` DER, with curve and public key (as Go). */
export async function privateKeyToSec1(key: CryptoKey): Promise<Uint8Array> {
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", key);
  const info = AsnConvert.parse(pkcs8, PrivateKeyInfo);
  const ec = AsnConvert.parse(info.privateKey.buffer, ECPrivateKey);
  const curve = (key.algorithm as EcKeyAlgorithm).namedCurve;
  const curveOid = CURVE_OIDS[curve];
  if (!curveOid) throw new KeyError(`unsupported EC curve ${curve}`);
  ec.parameters ??= new ECParameters({ namedCurve: curveOid });
  if (!ec.publicKey) {
    const jwk = await crypto.subtle.exportKey("jwk", key);
    ec.publicKey = toArrayBuffer(
      concat([new Uint8Array([4]), decodeBase64Url(jwk.x!), decodeBase64Url(jwk.y!)]),
    );
  }
  return new Uint8Array(AsnConvert.serialize(ec));
}

/** Exports a private key as PKCS#8 `PrivateKeyInfo` DER. */
export async function privateKeyToPkcs8(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey("pkcs8", key));
}

/** Wraps SEC1 `ECPrivateKey` DER into PKCS#8 `PrivateKeyInfo` DER (what WebCrypto imports). */
export function sec1ToPkcs8(sec1: Uint8Array): Uint8Array {
  let ec: ECPrivateKey;
  try {
    ec = AsnConvert.parse(toArrayBuffer(sec1), ECPrivateKey);
  } catch (err) {
    throw new KeyError(`not a SEC1 EC private key: ${message(err)}`);
  }
  const curveOid = ec.parameters?.namedCurve ?? id_secp256r1;
  if (!CURVES[curveOid]) throw new KeyError(`unsupported EC curve OID ${curveOid}`);
  const info = new PrivateKeyInfo({
    version: 0,
    privateKeyAlgorithm: new AlgorithmIdentifier({
      algorithm: id_ecPublicKey,
      parameters: AsnConvert.serialize(new ECParameters({ namedCurve: curveOid })),
    }),
    privateKey: new OctetString(toArrayBuffer(sec1)),
  });
  return new Uint8Array(AsnConvert.serialize(info));
}

/**
 * Converts PKCS#8 DER to SEC1 DER if it holds an EC key. Returns null when `der` is not PKCS#8.
 */
export function pkcs8ToSec1(der: Uint8Array): Uint8Array | null {
  try {
    const info = AsnConvert.parse(toArrayBuffer(der), PrivateKeyInfo);
    if (info.privateKeyAlgorithm.algorithm !== id_ecPublicKey) return null;
    return new Uint8Array(info.privateKey.buffer);
  } catch {
    return null;
  }
}

/** Result of importing a private key: the WebCrypto key plus its SEC1 DER. */
export interface ImportedKey {
  /** Non-extractable ECDSA signing key. */
  key: CryptoKey;
  /** SEC1 DER: the original bytes when the input was SEC1, so token HMAC keys stay identical. */
  sec1: Uint8Array;
}

/**
 * Imports an EC private key from DER that is either SEC1 or PKCS#8 (sniffed, because Go writes
 * SEC1 DER under the PEM label `PRIVATE KEY`).
 */
export async function importEcPrivateKey(der: Uint8Array): Promise<ImportedKey> {
  const fromPkcs8 = pkcs8ToSec1(der);
  const sec1 = fromPkcs8 ?? der;
  const pkcs8 = fromPkcs8 ? der : sec1ToPkcs8(der);
  const ec = AsnConvert.parse(toArrayBuffer(sec1), ECPrivateKey);
  const curve = CURVES[ec.parameters?.namedCurve ?? id_secp256r1];
  if (!curve) throw new KeyError(`unsupported EC curve OID ${ec.parameters?.namedCurve}`);
  try {
    const key = await crypto.subtle.importKey(
      "pkcs8",
      toArrayBuffer(pkcs8),
      { name: "ECDSA", namedCurve: curve },
      true,
      ["sign"],
    );
    // SEC1 input is kept verbatim (it is the token HMAC key); PKCS#8 input is re-encoded as the
    // SEC1 Go writes, since that is what the Secret holds and Go can parse.
    return { key, sec1: fromPkcs8 ? await privateKeyToSec1(key) : sec1 };
  } catch (err) {
    throw new KeyError(`cannot import EC private key: ${message(err)}`);
  }
}

/** Imports an EC private key from PEM (`EC PRIVATE KEY` or `PRIVATE KEY`, SEC1 or PKCS#8). */
export async function importEcPrivateKeyPem(pem: string): Promise<ImportedKey> {
  const block = findPem(pem, [PEM_EC_PRIVATE_KEY, PEM_PRIVATE_KEY], "private key");
  return await importEcPrivateKey(block.der);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
