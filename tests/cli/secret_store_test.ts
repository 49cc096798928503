/**
 * The serve wiring's Secret store (raw JSON through the hub's KubeClient) reads and writes what
 * hub/certs' KubeSecretStore (client-node's CoreV1Api) does: each reads the other's Secrets, in
 * cloudcore's layout, in process and over HTTPS.
 */
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { startEmbeddedApi } from "../../apiserver/mod.ts";
import { KubeClientSecretStore } from "../../cli/secret_store.ts";
import {
  CA_SECRET,
  CLOUDCORE_SECRET,
  KubeSecretStore,
  prepareCerts,
  readStoredToken,
  SECRET_NAMESPACE,
  TokenManager,
} from "../../hub/certs/mod.ts";
import { KubeClient } from "../../kube/mod.ts";
import { assertEquals } from "../assert.ts";

Deno.test("KubeClientSecretStore and KubeSecretStore read each other's Secrets (in process and over HTTPS)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgecloud-secrets-" });
  const api = await startEmbeddedApi({ dataDir: `${dir}/api`, hostname: "127.0.0.1", port: 0 });
  const inProcess = KubeClient.fromYaml(api.kubeconfigYaml, { transport: api.handle });
  const overHttps = KubeClient.fromYaml(api.kubeconfigYaml);
  try {
    const kc = new KubeConfig();
    kc.loadFromString(api.kubeconfigYaml);
    const typed = new KubeSecretStore(kc.makeApiClient(CoreV1Api));
    const raw = new KubeClientSecretStore(inProcess);
    const opts = { advertiseAddress: ["127.0.0.1"], dnsNames: ["localhost"] };

    assertEquals(await raw.get(SECRET_NAMESPACE, CA_SECRET), null);
    const first = await prepareCerts({ store: raw, ...opts });
    assertEquals(first.source, { ca: "generated", serverCert: "generated" });
    const again = await prepareCerts({ store: typed, ...opts });
    assertEquals(again.source, { ca: "secret", serverCert: "secret" });
    assertEquals(again.ca.certDer, first.ca.certDer);
    assertEquals(again.serverCert.keyDer, first.serverCert.keyDer);
    assertEquals(
      await new KubeClientSecretStore(overHttps).get(SECRET_NAMESPACE, CLOUDCORE_SECRET),
      await typed.get(SECRET_NAMESPACE, CLOUDCORE_SECRET),
    );

    // The token Secret is created, then replaced on refresh.
    let now = new Date();
    const tokens = new TokenManager({ ca: first.ca, store: raw, refreshHours: 12, now: () => now });
    const t1 = await tokens.refresh();
    now = new Date(now.getTime() + 3600e3);
    const t2 = await tokens.refresh();
    assertEquals(t1 !== t2, true);
    assertEquals(await readStoredToken(typed), t2);
    assertEquals(await readStoredToken(raw), t2);

    // A namespace that does not exist yet is created first.
    await raw.put("brand-new-ns", "s1", { k: new Uint8Array([1, 2, 3]) });
    assertEquals(await typed.get("brand-new-ns", "s1"), { k: new Uint8Array([1, 2, 3]) });
    await typed.put("brand-new-ns", "s1", { k: new Uint8Array([4]) });
    assertEquals(await raw.get("brand-new-ns", "s1"), { k: new Uint8Array([4]) });
  } finally {
    await inProcess.close();
    await overHttps.close();
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
});
