import { assert, assertEquals, assertRejects } from "../../assert.ts";
import {
  CA_DATA,
  CA_KEY_DATA,
  CA_SECRET,
  CLOUDCORE_DATA,
  CLOUDCORE_SECRET,
  MemorySecretStore,
  prepareCerts,
  readStoredToken,
  type Scheduler,
  SECRET_NAMESPACE,
  TOKEN_DATA,
  TOKEN_SECRET,
  TokenManager,
} from "../../../hub/certs/mod.ts";
import {
  CertError,
  createCA,
  signServerCert,
  splitToken,
  verifyBearer,
  x509,
} from "../../../pki/mod.ts";
import { withTempDir } from "./openssl.ts";

const opts = { advertiseAddress: ["127.0.0.1"], dnsNames: ["localhost"] };

Deno.test("prepareCerts: generate, save to the Secrets, reload the same material", async () => {
  const store = new MemorySecretStore();
  const first = await prepareCerts({ store, ...opts });
  assertEquals(first.source, { ca: "generated", serverCert: "generated" });
  const caSecret = store.secrets.get(`${SECRET_NAMESPACE}/${CA_SECRET}`)!;
  assertEquals(caSecret[CA_DATA], first.ca.certDer);
  assertEquals(caSecret[CA_KEY_DATA], first.ca.keyDer);
  assertEquals(
    store.secrets.get(`${SECRET_NAMESPACE}/${CLOUDCORE_SECRET}`)![CLOUDCORE_DATA],
    first.serverCert.certDer,
  );

  const second = await prepareCerts({ store, ...opts });
  assertEquals(second.source, { ca: "secret", serverCert: "secret" });
  assertEquals(second.ca.certDer, first.ca.certDer);
  assertEquals(second.ca.keyDer, first.ca.keyDer);
  assertEquals(second.serverCert.certDer, first.serverCert.certDer);
  assertEquals(second.ca.certPem, first.ca.certPem);
});

Deno.test("prepareCerts: re-signs a stored server cert lacking a configured SAN or from another CA", async () => {
  const store = new MemorySecretStore();
  const first = await prepareCerts({ store, ...opts });
  const widened = await prepareCerts({
    store,
    advertiseAddress: ["127.0.0.1", "10.9.9.9"],
    dnsNames: ["localhost"],
  });
  assertEquals(widened.source, { ca: "secret", serverCert: "generated" });
  const san = widened.serverCert.cert.getExtension(x509.SubjectAlternativeNameExtension)!;
  assert(san.names.items.some((n) => n.type === "ip" && n.value === "10.9.9.9"));
  assert(
    widened.serverCert.certDer.length > 0 &&
      first.serverCert.certDer !== widened.serverCert.certDer,
  );

  // A server cert signed by some other CA is not served.
  const other = await createCA();
  const foreign = await signServerCert(other, { ips: ["127.0.0.1"], dnsNames: ["localhost"] });
  await store.put(SECRET_NAMESPACE, CLOUDCORE_SECRET, {
    cloudcoredata: foreign.certDer,
    cloudcorekeydata: foreign.keyDer,
  });
  const fixed = await prepareCerts({ store, ...opts });
  assertEquals(fixed.source.serverCert, "generated");
  assertEquals(fixed.serverCert.cert.issuer, "CN=KubeEdge");
  assert(
    await fixed.serverCert.cert.verify({ publicKey: fixed.ca.cert.publicKey, signatureOnly: true }),
  );
});

Deno.test("prepareCerts: files win over the Secret and are saved back; half a pair is an error", async () => {
  const store = new MemorySecretStore();
  const fileCa = await createCA();
  const fileServer = await signServerCert(fileCa, { ips: ["127.0.0.1"], dnsNames: ["localhost"] });
  await prepareCerts({ store, ...opts }); // something different in the Secret first
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/rootCA.crt`, fileCa.certPem);
    await Deno.writeTextFile(`${dir}/rootCA.key`, fileCa.keyPem);
    await Deno.writeTextFile(`${dir}/server.crt`, fileServer.certPem);
    await Deno.writeTextFile(`${dir}/server.key`, fileServer.keyPem);
    const got = await prepareCerts({
      store,
      ...opts,
      caFile: `${dir}/rootCA.crt`,
      caKeyFile: `${dir}/rootCA.key`,
      certFile: `${dir}/server.crt`,
      keyFile: `${dir}/server.key`,
    });
    assertEquals(got.source, { ca: "file", serverCert: "file" });
    assertEquals(got.ca.certDer, fileCa.certDer);
    assertEquals(got.ca.keyDer, fileCa.keyDer);
    assertEquals(store.secrets.get(`${SECRET_NAMESPACE}/${CA_SECRET}`)![CA_DATA], fileCa.certDer);
    assertEquals(
      store.secrets.get(`${SECRET_NAMESPACE}/${CLOUDCORE_SECRET}`)![CLOUDCORE_DATA],
      fileServer.certDer,
    );

    // Configured paths that do not exist fall back to the Secret.
    const fallback = await prepareCerts({
      store,
      ...opts,
      caFile: `${dir}/missing.crt`,
      caKeyFile: `${dir}/missing.key`,
    });
    assertEquals(fallback.source.ca, "secret");

    await assertRejects(
      () =>
        prepareCerts({ store, ...opts, caFile: `${dir}/rootCA.crt`, caKeyFile: `${dir}/nope.key` }),
      CertError,
      "provide both or neither",
    );
  });
});

/** A scheduler the test fires by hand. */
function manualScheduler(): {
  schedule: Scheduler;
  fire: () => void;
  active: () => boolean;
  ms: () => number;
} {
  let fn: (() => void) | null = null;
  let period = 0;
  return {
    schedule: (ms, f) => {
      fn = f;
      period = ms;
      return () => {
        fn = null;
      };
    },
    fire: () => fn?.(),
    active: () => fn !== null,
    ms: () => period,
  };
}

Deno.test("TokenManager: token stored at start, refreshed on the timer, stop() cancels", async () => {
  const store = new MemorySecretStore();
  const ca = await createCA();
  let now = new Date("2026-03-01T00:00:00Z");
  const timer = manualScheduler();
  const tokens = new TokenManager({
    ca,
    store,
    refreshHours: 12,
    now: () => now,
    schedule: timer.schedule,
  });
  const first = await tokens.start();
  assertEquals(tokens.current(), first);
  assertEquals(timer.ms(), 12 * 3600e3);
  assertEquals(await readStoredToken(store), first);
  assertEquals(
    new TextDecoder().decode(store.secrets.get(`kubeedge/${TOKEN_SECRET}`)![TOKEN_DATA]),
    first,
  );

  now = new Date(now.getTime() + 12 * 3600e3);
  await tokens.refresh(); // what the timer callback runs
  const second = tokens.current();
  assert(second !== first);
  assertEquals(await readStoredToken(store), second);
  // The previous token is still valid (2× the refresh period), as in cloudcore.
  await verifyBearer(ca, splitToken(first).jwt, now);

  now = new Date(now.getTime() + 12 * 3600e3);
  timer.fire();
  await tokens.idle();
  assert(tokens.current() !== second, "the timer refreshed the token");
  assertEquals(await readStoredToken(store), tokens.current());
  assert(timer.active());
  tokens.stop();
  assert(!timer.active());
});

Deno.test("TokenManager: current() before start() throws", () => {
  const tokens = new TokenManager({
    ca: { certDer: new Uint8Array(1), keyDer: new Uint8Array(1) },
    store: new MemorySecretStore(),
    refreshHours: 1,
  });
  let threw = false;
  try {
    tokens.current();
  } catch {
    threw = true;
  }
  assert(threw);
});
