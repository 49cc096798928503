import { assert, assertEquals, assertRejects } from "../assert.ts";
import {
  createCA,
  createToken,
  parseBearerHeader,
  sha256Hex,
  splitToken,
  TokenError,
  verifyBearer,
} from "../../pki/mod.ts";
import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";

const HOUR = 3600e3;

Deno.test("token: <sha256hex(CA DER)>.<HS256 JWT with only exp = now + 2×refresh>", async () => {
  const ca = await createCA();
  const now = new Date("2026-01-01T00:00:00Z");
  const token = await createToken(ca, 12, now);
  assertEquals(token.split(".").length, 4);
  const { caHash, jwt } = splitToken(token);
  assertEquals(caHash, await sha256Hex(ca.certDer));
  assertEquals(caHash.length, 64);
  assertEquals(decodeProtectedHeader(jwt), { alg: "HS256", typ: "JWT" });
  assertEquals(decodeJwt(jwt), { exp: (now.getTime() + 24 * HOUR) / 1000 });
  await verifyBearer(ca, jwt, new Date(now.getTime() + 23 * HOUR));
});

Deno.test("token: the HMAC key is the CA key's SEC1 DER (interoperates with Go's jwt.SignedString)", async () => {
  const ca = await createCA();
  // Independently signed with the same key bytes, as cloudcore would.
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const jwt = await new SignJWT({ exp }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(
    ca.keyDer,
  );
  await verifyBearer(ca, jwt);
});

Deno.test("token: expired, tampered, forged and malformed tokens fail with a reason", async () => {
  const ca = await createCA();
  const other = await createCA();
  const now = new Date();
  const { jwt } = splitToken(await createToken(ca, 1, now));

  const expired = await assertRejects(
    () => verifyBearer(ca, jwt, new Date(now.getTime() + 3 * HOUR)),
    TokenError,
  );
  assertEquals(expired.message, "token is expired");

  const [h, p, s] = jwt.split(".");
  const payload = JSON.parse(atob(p.replace(/-/g, "+").replace(/_/g, "/")));
  payload.exp += 1000;
  const forgedPayload = btoa(JSON.stringify(payload)).replace(/=+$/, "").replace(/\+/g, "-")
    .replace(/\//g, "_");
  await assertRejects(
    () => verifyBearer(ca, `${h}.${forgedPayload}.${s}`),
    TokenError,
    "signature is invalid",
  );

  const { jwt: foreign } = splitToken(await createToken(other, 1, now));
  await assertRejects(() => verifyBearer(ca, foreign), TokenError, "signature is invalid");

  const none = `${btoa(JSON.stringify({ alg: "none" })).replace(/=+$/, "")}.${p}.`;
  await assertRejects(() => verifyBearer(ca, none), TokenError);
  await assertRejects(() => verifyBearer(ca, "not-a-jwt"), TokenError, "malformed");
});

Deno.test("splitToken and parseBearerHeader reject malformed input", () => {
  for (const bad of ["", "abc", "a.b.c", "a.b.c.d.e", "a..c.d"]) {
    let threw = false;
    try {
      splitToken(bad);
    } catch (err) {
      threw = err instanceof TokenError;
    }
    assert(threw, `splitToken(${JSON.stringify(bad)}) should throw TokenError`);
  }
  assertEquals(parseBearerHeader("Bearer x.y.z"), "x.y.z");
  for (const bad of [undefined, "", "Bearer", "Basic abc", "Bearer a b", "bearer x"]) {
    let threw = false;
    try {
      parseBearerHeader(bad);
    } catch (err) {
      threw = err instanceof TokenError;
    }
    assert(threw, `parseBearerHeader(${JSON.stringify(bad)}) should throw`);
  }
});

Deno.test("createToken refuses a non-positive refresh period", async () => {
  const ca = await createCA();
  await assertRejects(() => createToken(ca, 0), TokenError);
});
