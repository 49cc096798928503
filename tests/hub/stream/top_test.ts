/** kubectl top node and top pod: metrics.k8s.io from the nodes' kubelet stats via CloudStream. */
import { assertEquals, assertMatch, assertStringIncludes } from "../../assert.ts";
import { kubectl, kubectlOk } from "../../apiserver/helpers.ts";
import { containerUsage } from "../../../edge/sim/mod.ts";
import { waitUntil } from "../../wait.ts";
import { podYaml, startStreamFixture } from "./stream_fixture.ts";

Deno.test("kubectl top node and top pod through the tunnels", async () => {
  const f = await startStreamFixture(2);
  try {
    const { api } = f;
    await kubectlOk(api, ["apply", "-f", "-"], podYaml("a", "sim-0", ["c1", "c2"]));
    await kubectlOk(api, ["apply", "-f", "-"], podYaml("b", "sim-1"));
    await kubectlOk(api, ["label", "pod", "a", "tier=front"]);
    await waitUntil(
      () => f.sim.nodes[0].pods.get("default", "a") && f.sim.nodes[1].pods.get("default", "b"),
      "pods reach their nodes",
    );
    const nodes = await kubectlOk(api, ["top", "node", "--no-headers"]);
    const rows = nodes.trim().split("\n").map((l) => l.trim().split(/\s+/));
    assertEquals(rows.map((r) => r[0]), ["sim-0", "sim-1"]);
    for (const r of rows) assertMatch(r.slice(1).join(" "), /^\d+m \d+% \d+Mi \d+%$/);

    const pods = await kubectlOk(api, ["top", "pod", "--containers", "--no-headers"]);
    const u = containerUsage("default", "a", "c2");
    const c2 = pods.split("\n").find((l) => /^a\s+c2\s/.test(l));
    assertMatch(c2 ?? pods, new RegExp(`^a\\s+c2\\s+${Math.round(u.cpu / 1e6)}m\\s+\\d+Mi`));
    const front = await kubectlOk(api, ["top", "pod", "-l", "tier=front", "--no-headers"]);
    assertEquals(front.trim().split("\n").map((l) => l.split(/\s+/)[0]), ["a"]);

    // A node that goes away has no metrics (as an unreachable kubelet).
    await f.sim.nodes[1].stream!.stop();
    await waitUntil(() => f.stack.stream!.tunnels.size === 1, "sim-1's tunnel gone");
    const r = await kubectl(api, ["get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes/sim-1"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "not found");
  } finally {
    await f.close();
  }
});
