/**
 * The KubeEdge join token (§5.3): `<sha256hex(CA DER)>.<JWT>`, the JWT being HS256 keyed with the
 * CA private key's SEC1 DER bytes and carrying only `exp = now + 2 × tokenRefreshDuration` hours.
 *
 * @example
 * ```ts
 * const token = await createToken(ca, 12);
 * const { caHash, jwt } = splitToken(token);
 * await verifyBearer(ca, jwt); // throws TokenError if expired, forged or malformed
 * ```
 */
import { errors, jwtVerify, SignJWT } from "jose";
import { sha256Hex } from "./pem.ts";

/** Thrown for a token that is malformed, expired or not signed with the CA key. */
export class TokenError extends Error {
  override name = "TokenError";
}

/** The key material a token depends on: the CA certificate DER and the CA key SEC1 DER. */
export interface TokenKey {
  /** CA certificate DER (hashed into part 0). */
  certDer: Uint8Array;
  /** CA private key SEC1 DER (the HMAC key). */
  keyDer: Uint8Array;
}

/** The two halves of a join token. */
export interface TokenParts {
  /** Hex SHA-256 of the CA certificate DER. */
  caHash: string;
  /** The JWT sent as the bearer token. */
  jwt: string;
}

const HOUR_MS = 60 * 60 * 1000;

/** Creates a join token valid for `2 × refreshHours` hours from `now`. */
export async function createToken(
  ca: TokenKey,
  refreshHours: number,
  now: Date = new Date(),
): Promise<string> {
  if (!(refreshHours > 0)) {
    throw new TokenError(`tokenRefreshDuration must be > 0, got ${refreshHours}`);
  }
  const exp = Math.floor((now.getTime() + 2 * refreshHours * HOUR_MS) / 1000);
  const jwt = await new SignJWT({ exp })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(ca.keyDer);
  return `${await sha256Hex(ca.certDer)}.${jwt}`;
}

/**
 * Splits a join token at its first dot into the CA hash and the JWT (the edge's
 * `VerifyCAAndGetRealToken`). Throws `TokenError` unless it has 4 dot-separated parts.
 */
export function splitToken(token: string): TokenParts {
  const parts = token.trim().split(".");
  if (parts.length !== 4 || parts.some((p) => p === "")) {
    throw new TokenError(
      `token is malformed: want <ca hash>.<jwt header>.<jwt payload>.<jwt signature>, got ${parts.length} part(s)`,
    );
  }
  return { caHash: parts[0], jwt: parts.slice(1).join(".") };
}

/**
 * Verifies a bearer JWT like cloudcore (`jwt.Parse` with an HMAC check and `Valid`): HS256 under
 * the CA key, not expired at `now`. Throws `TokenError` with a text reason otherwise.
 */
export async function verifyBearer(
  ca: TokenKey,
  jwt: string,
  now: Date = new Date(),
): Promise<void> {
  try {
    await jwtVerify(jwt, ca.keyDer, { algorithms: ["HS256"], currentDate: now });
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new TokenError("token is expired");
    if (err instanceof errors.JWSSignatureVerificationFailed) {
      throw new TokenError("token signature is invalid");
    }
    if (err instanceof errors.JOSEAlgNotAllowed) {
      throw new TokenError("token signing method is not HS256");
    }
    throw new TokenError(`token is malformed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Parses an `Authorization` header value as cloudcore's `verifyAuthorization`: exactly
 * `Bearer <jwt>`. Returns the JWT or throws `TokenError`.
 */
export function parseBearerHeader(header: string | undefined): string {
  if (!header) throw new TokenError("no client certificate and no Authorization header");
  const parts = header.split(" ");
  if (parts.length !== 2 || parts[0] !== "Bearer" || parts[1] === "") {
    throw new TokenError("Authorization header is not 'Bearer <token>'");
  }
  return parts[1];
}
