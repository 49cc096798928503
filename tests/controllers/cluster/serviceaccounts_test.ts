/** Every namespace gets its `default` ServiceAccount and `kube-root-ca.crt`; tokens are issued. */
import { assertEquals, assertStringIncludes } from "../../assert.ts";
import { waitUntil } from "../../wait.ts";
import { startEdgeCluster } from "./edge_cluster.ts";

Deno.test("ServiceAccounts: default SA and root CA in each namespace, kubectl create token", async () => {
  const c = await startEdgeCluster(1);
  try {
    const k = c.stack.kube;
    await k.create("/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "apps" },
    });
    for (const ns of ["default", "apps"]) {
      await waitUntil(
        () =>
          k.get(`/api/v1/namespaces/${ns}/serviceaccounts/default`).then(() => true, () => false),
        `default SA in ${ns}`,
      );
      const cm = await waitUntil(
        () =>
          k.get<{ data?: Record<string, string> } & Record<string, unknown>>(
            `/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`,
          )
            .catch(() => undefined),
        `root CA in ${ns}`,
      );
      assertEquals(cm.data?.["ca.crt"], c.stack.api!.caPem);
    }
    const out = await new Deno.Command("kubectl", {
      args: [
        "--kubeconfig",
        c.stack.api!.kubeconfigPath,
        "create",
        "token",
        "default",
        "-n",
        "apps",
      ],
      stdout: "piped",
      stderr: "piped",
      env: { KUBECACHEDIR: `${c.stack.api!.kubeconfigPath}.cache` },
    }).output();
    const token = new TextDecoder().decode(out.stdout).trim();
    assertEquals(token.split(".").length, 3, new TextDecoder().decode(out.stderr));
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    assertStringIncludes(payload.sub, "system:serviceaccount:apps:default");
  } finally {
    await c.close();
  }
});
