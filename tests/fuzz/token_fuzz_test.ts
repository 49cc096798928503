import fc from "fast-check";
import { assertEquals } from "../assert.ts";
import {
  createCA,
  createToken,
  parseBearerHeader,
  splitToken,
  TokenError,
  verifyBearer,
} from "../../pki/mod.ts";
import { fuzzRuns } from "./runs.ts";

/** Only `TokenError` may escape a token parser; anything else fails the property. */
function onlyTokenError(err: unknown): void {
  if (!(err instanceof TokenError)) throw err;
}

const b64url = fc.string({
  unit: fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
  maxLength: 80,
});
/** Strings shaped like tokens/JWTs (dot-separated base64url), plus arbitrary text. */
const tokenish = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.array(b64url, { maxLength: 6 }).map((p) => p.join(".")),
  fc.tuple(fc.jsonValue(), fc.jsonValue(), b64url).map(([h, p, s]) =>
    [h, p].map((v) => btoa(JSON.stringify(v) ?? "").replace(/=+$/, "")).join(".") + "." + s
  ),
);

Deno.test("fuzz: splitToken throws only TokenError and splits at the first dot", () => {
  fc.assert(
    fc.property(tokenish, (t) => {
      try {
        const { caHash, jwt } = splitToken(t);
        assertEquals(`${caHash}.${jwt}`, t.trim());
      } catch (err) {
        onlyTokenError(err);
      }
    }),
    { numRuns: fuzzRuns() },
  );
});

Deno.test("fuzz: parseBearerHeader throws only TokenError", () => {
  const headers = fc.oneof(
    fc.constant(undefined),
    fc.string({ maxLength: 100 }),
    tokenish.map((t) => `Bearer ${t}`),
    fc.tuple(fc.constantFrom("Bearer", "bearer", "Basic", ""), fc.string({ maxLength: 40 })).map((
      [a, b],
    ) => `${a} ${b}`),
  );
  fc.assert(
    fc.property(headers, (h) => {
      try {
        const jwt = parseBearerHeader(h);
        assertEquals(h, `Bearer ${jwt}`);
      } catch (err) {
        onlyTokenError(err);
      }
    }),
    { numRuns: fuzzRuns() },
  );
});

Deno.test("fuzz: verifyBearer rejects garbage and mutated tokens with TokenError only", async () => {
  const ca = await createCA();
  const good = splitToken(await createToken(ca, 12)).jwt;
  const mutated = fc.tuple(fc.nat({ max: good.length - 1 }), fc.string({ maxLength: 4 })).map((
    [i, s],
  ) => good.slice(0, i) + s + good.slice(i + 1)).filter((t) => t !== good);
  const truncated = fc.nat({ max: good.length - 1 }).map((n) => good.slice(0, n));
  await fc.assert(
    fc.asyncProperty(fc.oneof(tokenish, mutated, truncated), async (jwt) => {
      try {
        await verifyBearer(ca, jwt);
      } catch (err) {
        onlyTokenError(err);
        return;
      }
      // A mutation that still verifies must be the same signed content (base64url slack bits).
      assertEquals(jwt.split(".").length, 3);
    }),
    { numRuns: fuzzRuns() },
  );
});
