/**
 * kubectl logs and nodes/proxy through the CloudStream tunnel, against edge-sim nodes behind the
 * embedded API; the node's kubelet port and the tunnelport ConfigMap as cloudcore writes them.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../../assert.ts";
import { kubectl, kubectlOk } from "../../apiserver/helpers.ts";
import { waitUntil } from "../../wait.ts";
import { podYaml, startStreamFixture } from "./stream_fixture.ts";

Deno.test("kubectl logs (tail, timestamps, follow, container) and nodes/proxy through the tunnel", async () => {
  const f = await startStreamFixture(1);
  try {
    const { api } = f;
    await kubectlOk(api, ["apply", "-f", "-"], podYaml("web", "sim-0", ["app", "side"]));
    await waitUntil(() => f.sim.nodes[0].pods.get("default", "web"), "pod reaches the node");
    // cloudcore's updateNodeKubeletEndpoint: the negotiated port (first above 10350).
    const port = await kubectlOk(api, [
      "get",
      "node",
      "sim-0",
      "-o",
      "jsonpath={.status.daemonEndpoints.kubeletEndpoint.Port}",
    ]);
    assertEquals(port, "10351");
    const record = await kubectlOk(api, [
      "get",
      "configmap",
      "-n",
      "kubeedge",
      "tunnelport",
      "-o",
      "jsonpath={.metadata.annotations.tunnelportrecord\\.kubeedge\\.io}",
    ]);
    assertEquals(JSON.parse(record), {
      ipTunnelPort: { "127.0.0.1": 10351 },
      port: { "10351": true },
    });

    // Two containers and none named: kube-apiserver's message (kubectl itself picks the first).
    const none = await kubectl(api, ["get", "--raw", "/api/v1/namespaces/default/pods/web/log"]);
    assertEquals(none.code, 1);
    assertStringIncludes(
      none.stderr,
      "a container name must be specified for pod web, choose one of: [app side]",
    );
    await waitUntil(async () => {
      const out = await kubectlOk(api, ["logs", "web", "-c", "app"]);
      return out.split("\n").filter(Boolean).length >= 3;
    }, "three log lines");
    const tail = await kubectlOk(api, ["logs", "web", "-c", "side", "--tail=1", "--timestamps"]);
    const lines = tail.trim().split("\n");
    assertEquals(lines.length, 1);
    assertMatch(lines[0], /^\d{4}-\d\d-\d\dT\S+Z default\/web\/side line \d+$/);

    // -f streams new lines until kubectl is stopped.
    const follow = new Deno.Command("kubectl", {
      args: ["--kubeconfig", api.kubeconfigPath, "logs", "-f", "web", "-c", "app", "--tail=0"],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = follow.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while ((seen.match(/line \d+/g) ?? []).length < 3) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    follow.kill("SIGTERM");
    await reader.cancel();
    await follow.status;
    assert((seen.match(/line \d+/g) ?? []).length >= 3, seen);
    await waitUntil(() => f.sim.nodes[0].stream!.connected, "tunnel survives the ended follow");

    const summary = JSON.parse(
      await kubectlOk(api, ["get", "--raw", "/api/v1/nodes/sim-0/proxy/stats/summary"]),
    );
    assertEquals(summary.node.nodeName, "sim-0");
    assertEquals(summary.pods[0].podRef.name, "web");
    const metrics = await kubectlOk(api, [
      "get",
      "--raw",
      "/api/v1/nodes/sim-0/proxy/metrics/resource",
    ]);
    assertStringIncludes(
      metrics,
      'container_memory_working_set_bytes{container="app",namespace="default",pod="web"}',
    );
  } finally {
    await f.close();
  }
});

Deno.test("kubectl logs of a pod on an offline node names the node", async () => {
  const f = await startStreamFixture(1);
  try {
    const { api } = f;
    await kubectlOk(api, ["apply", "-f", "-"], podYaml("far", "gone-node"));
    const r = await kubectl(api, ["logs", "far"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "node gone-node is not connected");
    const ex = await kubectl(api, ["exec", "far", "--", "echo", "hi"]);
    assertEquals(ex.code, 1);
    assertStringIncludes(ex.stderr, "node gone-node is not connected");
    await kubectlOk(api, ["apply", "-f", "-"], podYaml("unbound", ""));
    const r2 = await kubectl(api, ["logs", "unbound"]);
    assertStringIncludes(r2.stderr, "does not have a host assigned");
  } finally {
    await f.close();
  }
});
