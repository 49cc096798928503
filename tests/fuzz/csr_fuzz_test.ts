import fc from "fast-check";
import { createCA, CsrError, signCSR, x509 } from "../../pki/mod.ts";
import { createEdgeCsr } from "../../edge/pki.ts";
import { fuzzRuns } from "./runs.ts";

Deno.test("fuzz: signCSR on random, truncated or bit-flipped DER throws only CsrError", async () => {
  const ca = await createCA();
  const { csrDer } = await createEdgeCsr("fuzz-node");
  const truncated = fc.nat({ max: csrDer.length - 1 }).map((n) => csrDer.slice(0, n));
  const flipped = fc.array(
    fc.tuple(fc.nat({ max: csrDer.length - 1 }), fc.integer({ min: 1, max: 255 })),
    {
      minLength: 1,
      maxLength: 4,
    },
  ).map((flips) => {
    const b = csrDer.slice();
    for (const [i, x] of flips) b[i] ^= x;
    return b;
  });
  // Splices of DER-looking prefixes (SEQUENCE tags with random lengths) reach deeper parser paths.
  const derish = fc.tuple(
    fc.constantFrom(0x30, 0x31, 0x02, 0x03, 0x04, 0x06, 0xa0),
    fc.uint8Array({
      maxLength: 300,
    }),
  ).map(([tag, rest]) => Uint8Array.of(tag, ...rest));
  const inputs = fc.oneof(fc.uint8Array({ maxLength: 600 }), truncated, flipped, derish);
  await fc.assert(
    fc.asyncProperty(inputs, async (der) => {
      try {
        await signCSR(ca, der, { extKeyUsages: [], validityDays: 1, nodeName: "fuzz-node" });
      } catch (err) {
        if (!(err instanceof CsrError)) throw err;
      }
    }),
    { numRuns: fuzzRuns() },
  );
});

Deno.test("fuzz: signCSR on validly signed CSRs with arbitrary subjects and SANs", async () => {
  const ca = await createCA();
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const name = fc.string({ minLength: 1, maxLength: 30 });
  const san = fc.oneof(
    fc.domain().map((value) => ({ type: "dns" as const, value })),
    fc.ipV4().map((value) => ({ type: "ip" as const, value })),
    fc.ipV6().map((value) => ({ type: "ip" as const, value })),
    fc.emailAddress().map((value) => ({ type: "email" as const, value })),
  );
  const ekus = fc.array(fc.integer({ min: -2, max: 20 }), { maxLength: 3 });
  // Signing is slow-ish (ECDSA per case): a tenth of the runs covers the accepted path.
  await fc.assert(
    fc.asyncProperty(
      name,
      fc.array(name, { maxLength: 2 }),
      fc.array(san, { maxLength: 3 }),
      ekus,
      async (cn, orgs, sans, eku) => {
        let csr: x509.Pkcs10CertificateRequest;
        try {
          csr = await x509.Pkcs10CertificateRequestGenerator.create({
            name: [{ CN: [cn] }, ...(orgs.length ? [{ O: orgs }] : [])],
            keys,
            signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
            extensions: sans.length ? [new x509.SubjectAlternativeNameExtension(sans)] : [],
          });
        } catch {
          return; // the generator refused the input: nothing to send
        }
        try {
          await signCSR(ca, new Uint8Array(csr.rawData), { extKeyUsages: eku, validityDays: 1 });
        } catch (err) {
          if (!(err instanceof CsrError)) throw err;
        }
      },
    ),
    { numRuns: Math.max(50, Math.floor(fuzzRuns() / 10)) },
  );
});
