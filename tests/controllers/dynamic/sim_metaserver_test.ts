/** edge-sim nodes use their MetaServer through the cloud: a list and a watch consumer each. */
import { assertEquals } from "../../assert.ts";
import { EdgeSimulator } from "../../../edge/sim/mod.ts";
import type { MetaWatchEvent } from "../../../edge/mod.ts";
import { startStack } from "../../../harness/stack.ts";
import { setLogLevel } from "../../../lib/log.ts";
import { waitUntil } from "../../wait.ts";

setLogLevel("warn");

Deno.test("edge-sim nodes list and watch Services through their MetaServer", async () => {
  const stack = await startStack({ dynamic: true, sync: false });
  const sim = new EdgeSimulator({
    nodes: 2,
    server: stack.server,
    credentials: (n) => stack.issuer.credentials(n),
    nodeStatusInterval: 0,
    leaseInterval: 0,
  });
  try {
    await sim.start();
    await sim.waitUntil((s) => s.connected === 2, 10_000, "both nodes");
    const svc = { group: "", version: "v1", resource: "services" };
    const seen = sim.nodes.map(() => [] as MetaWatchEvent[]);
    for (const [i, n] of sim.nodes.entries()) {
      await waitUntil(
        () => n.metaServer().list(svc, "default").then(() => true, () => false),
        `${n.name}'s MetaServer`,
      );
      await n.metaServer().watch(svc, "default", {}, (e) => seen[i].push(e));
    }
    await stack.kube.create("/api/v1/namespaces/default/services", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "api" },
      spec: { ports: [{ port: 443 }] },
    });
    await waitUntil(
      () => seen.every((s) => s.some((e) => e.object.metadata)),
      "the Service on both",
    );
    const listed = await sim.nodes[0].metaServer().list(svc, "default") as {
      items: { metadata: { name: string } }[];
    };
    assertEquals(listed.items.map((i) => i.metadata.name).includes("api"), true);
  } finally {
    await sim.stop();
    await stack.close();
  }
});
