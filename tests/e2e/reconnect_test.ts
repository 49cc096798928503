/**
 * Failure test: 100 disconnect/reconnect cycles while pod updates keep flowing. Every node must
 * end with exactly the API's latest resourceVersion of each of its pods, and nothing ACKed may be
 * handled twice on the connection that ACKed it, nor may an older RV follow a newer one.
 */
import { assertEquals } from "../assert.ts";
import { startStack } from "../../harness/stack.ts";
import { setLogLevel } from "../../lib/log.ts";
import { edgeNodeBody, podBody, RecordingEdge, until } from "./edge_recorder.ts";

setLogLevel("error");

const NODES = 3;
const PODS_PER_NODE = 4;
const CYCLES = 100;

Deno.test("e2e: 100 disconnect/reconnect cycles under a steady stream of pod updates lose nothing", async () => {
  const stack = await startStack();
  const edges: RecordingEdge[] = [];
  let writing = true;
  let writer: Promise<void> = Promise.resolve();
  try {
    for (let n = 0; n < NODES; n++) {
      const name = `rc-${n}`;
      await stack.kube.create("/api/v1/nodes", edgeNodeBody(name));
      const edge = new RecordingEdge(stack.server, name, await stack.issuer.credentials(name), 10);
      await edge.connect();
      edges.push(edge);
    }
    const pods: { name: string; node: number }[] = [];
    for (let n = 0; n < NODES; n++) {
      for (let p = 0; p < PODS_PER_NODE; p++) {
        const name = `rc-${n}-p${p}`;
        await stack.kube.create("/api/v1/namespaces/default/pods", podBody(name, `rc-${n}`));
        pods.push({ name, node: n });
      }
    }
    // The steady stream: label changes (metadata changes are what EdgeController forwards).
    let updates = 0;
    writer = (async () => {
      while (writing) {
        const pod = pods[updates % pods.length];
        await stack.kube.patch(
          `/api/v1/namespaces/default/pods/${pod.name}`,
          { metadata: { labels: { gen: String(updates) } } },
        );
        updates++;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    for (let c = 0; c < CYCLES; c++) {
      const edge = edges[c % NODES];
      const before = edge.client.connects;
      edge.client.terminate();
      await until(() => edge.client.connects > before && edge.client.connected, `reconnect ${c}`);
    }
    writing = false;
    await writer;

    // Converge: every node holds exactly the API's latest RV of each of its pods.
    const want = new Map<string, bigint>();
    for (const pod of pods) {
      const obj = await stack.kube.get(`/api/v1/namespaces/default/pods/${pod.name}`) as {
        metadata: { resourceVersion: string };
      };
      want.set(pod.name, BigInt(obj.metadata.resourceVersion));
    }
    const mismatch = () =>
      pods.filter((p) => edges[p.node].objects.get(`default/pod/${p.name}`) !== want.get(p.name))
        .map((p) =>
          `${p.name}: edge ${edges[p.node].objects.get(`default/pod/${p.name}`)} api ${
            want.get(p.name)
          }`
        );
    await until(
      () => mismatch().length === 0,
      "every node at the latest RV",
      30_000,
      () => mismatch().join(", "),
    );
    for (const e of edges) {
      assertEquals(e.duplicates, 0, `${e.name}: ACKed message handled twice on one connection`);
      assertEquals(e.stale, 0, `${e.name}: older RV handled after a newer one`);
      assertEquals(e.objects.size, PODS_PER_NODE);
    }
    assertEquals(edges.reduce((a, e) => a + e.client.connects, 0), NODES + CYCLES);
  } finally {
    writing = false;
    await writer.catch(() => {});
    await Promise.all(edges.map((e) => e.close()));
    await stack.close();
  }
});
