import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { startEmbeddedApi } from "../../../apiserver/mod.ts";
import { assertEquals } from "../../assert.ts";
import {
  CA_DATA,
  CA_SECRET,
  KubeSecretStore,
  prepareCerts,
  readStoredToken,
  SECRET_NAMESPACE,
  TokenManager,
} from "../../../hub/certs/mod.ts";
import { withTempDir } from "./openssl.ts";

async function kubectl(kubeconfig: string, args: string[]): Promise<string> {
  const out = await new Deno.Command("kubectl", {
    args: ["--kubeconfig", kubeconfig, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`kubectl ${args.join(" ")}: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout);
}

function b64(data: Uint8Array): string {
  return btoa(String.fromCharCode(...data));
}

Deno.test("KubeSecretStore against the embedded API: prepareCerts persists and reloads; kubectl sees the Secrets", async () => {
  await withTempDir(async (dir) => {
    const api = await startEmbeddedApi({ dataDir: `${dir}/api`, port: 0 });
    try {
      const kc = new KubeConfig();
      kc.loadFromString(api.kubeconfigYaml);
      const store = new KubeSecretStore(kc.makeApiClient(CoreV1Api));
      const opts = { store, advertiseAddress: ["127.0.0.1"], dnsNames: ["localhost"] };

      assertEquals(await store.get(SECRET_NAMESPACE, CA_SECRET), null);
      const first = await prepareCerts(opts);
      assertEquals(first.source, { ca: "generated", serverCert: "generated" });
      const second = await prepareCerts(opts);
      assertEquals(second.source, { ca: "secret", serverCert: "secret" });
      assertEquals(second.ca.certDer, first.ca.certDer);
      assertEquals(second.ca.keyDer, first.ca.keyDer);

      // A real client reads what we wrote, in cloudcore's layout (DER, base64 in .data).
      const cadata = await kubectl(api.kubeconfigPath, [
        "get",
        "secret",
        "-n",
        "kubeedge",
        "casecret",
        "-o",
        `jsonpath={.data.${CA_DATA}}`,
      ]);
      assertEquals(cadata, b64(first.ca.certDer));

      // The token Secret is created, then replaced on refresh; `kubectl` shows the current one.
      let now = new Date();
      const tokens = new TokenManager({ ca: first.ca, store, refreshHours: 12, now: () => now });
      const t1 = await tokens.refresh();
      now = new Date(now.getTime() + 3600e3);
      const t2 = await tokens.refresh();
      assertEquals(t1 !== t2, true);
      assertEquals(await readStoredToken(store), t2);
      const tokendata = await kubectl(api.kubeconfigPath, [
        "get",
        "secret",
        "-n",
        "kubeedge",
        "tokensecret",
        "-o",
        "jsonpath={.data.tokendata}",
      ]);
      assertEquals(atob(tokendata), t2);

      // A namespace that does not exist yet is created first.
      await store.put("brand-new-ns", "s1", { k: new Uint8Array([1, 2, 3]) });
      assertEquals(await store.get("brand-new-ns", "s1"), { k: new Uint8Array([1, 2, 3]) });
    } finally {
      await api.close();
    }
  });
});
