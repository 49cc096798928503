/**
 * Scenario `daemonset`: the embedded control plane rolling a DaemonSet out to `--nodes` edge-sim
 * nodes, against the same rollout done without controllers (one bare pod per node with
 * `nodeName`), in the same run and on the same fleet. Reported for each: seconds until every pod
 * is Running (edges report Running as soon as they get the pod), the hub's in-process API
 * requests per pod, and the hub's peak RSS.
 *
 *   deno task bench:daemonset [--nodes 1000]
 */
import { parseArgs } from "node:util";
import { spawnHub } from "../../harness/hub_launcher.ts";
import { createBenchPki, NodeCertIssuer } from "../../harness/pki.ts";
import { EdgeSimulator } from "../../edge/sim/mod.ts";
import { KubeClient, type KubeObject } from "../../kube/mod.ts";
import { setLogLevel } from "../../lib/log.ts";
import { mib, printTable, sleep, writeResult } from "../lib/report.ts";

setLogLevel("error");
const { values } = parseArgs({
  args: Deno.args,
  options: { nodes: { type: "string", default: "1000" } },
});
const NODES = Number(values.nodes);

const dataDir = await Deno.makeTempDir({ prefix: "bench-daemonset-" });
const pki = await createBenchPki();
const hub = await spawnHub({ pki, dataDir, cluster: true, nofile: 65_536 });
const kube = KubeClient.fromFile(hub.kubeconfigPath, { qps: 0 });
const issuer = new NodeCertIssuer(pki);
const sim = new EdgeSimulator({
  nodes: NODES,
  namePrefix: "ds-",
  server: hub.server,
  credentials: (n) => issuer.credentials(n),
  nodeStatusInterval: 10,
  leaseInterval: 10,
});
await sim.start();
await sim.waitUntil((s) => s.connected === NODES, 300_000, "every node connected");
for (let i = 0; i < 600; i++) {
  const nodes = await kube.get<KubeObject & { items: unknown[] }>("/api/v1/nodes");
  if (nodes.items.length === NODES) break;
  await sleep(500);
}
await sleep(3_000);

type PodList = KubeObject & {
  items: { status?: { phase?: string }; metadata?: { deletionTimestamp?: string } }[];
};

async function running(selector: string): Promise<number> {
  const l = await kube.get<PodList>("/api/v1/namespaces/default/pods", {
    query: { labelSelector: selector },
  });
  return l.items.filter((p) => p.status?.phase === "Running" && !p.metadata?.deletionTimestamp)
    .length;
}

async function measure(label: string, start: () => Promise<void>, selector: string) {
  const req0 = hub.apiRequests();
  let peak = hub.rss();
  const t0 = performance.now();
  await start();
  while (await running(selector) < NODES) {
    peak = Math.max(peak, hub.rss());
    if (performance.now() - t0 > 600_000) throw new Error(`${label}: not all Running after 10 min`);
    await sleep(250);
  }
  const secs = (performance.now() - t0) / 1000;
  await sleep(1_500); // the next stats line
  peak = Math.max(peak, hub.rss());
  const perPod = (hub.apiRequests() - req0) / NODES;
  console.log(
    `${label}: ${secs.toFixed(1)} s, ${perPod.toFixed(1)} API requests/pod, peak RSS ${
      mib(peak)
    } MiB`,
  );
  return { secs, perPod, peak };
}

const template = (labels: Record<string, string>) => ({
  metadata: { labels },
  spec: { containers: [{ name: "agent", image: "edge/agent:1" }] },
});

// Baseline: bare pods, one per node, bound by nodeName (no controller, no scheduler work).
const bare = await measure("bare pods", async () => {
  const names = sim.nodes.map((n) => n.name);
  for (let i = 0; i < names.length; i += 50) {
    await Promise.all(
      names.slice(i, i + 50).map((node) =>
        kube.create("/api/v1/namespaces/default/pods", {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: `bare-${node}`, labels: { app: "bare" } },
          spec: { ...template({}).spec, nodeName: node },
        })
      ),
    );
  }
}, "app=bare");
await kube.request("DELETE", "/api/v1/namespaces/default/pods", {
  query: { labelSelector: "app=bare" },
});
for (let i = 0; i < 600 && (await running("app=bare")) > 0; i++) await sleep(500);
await sleep(5_000);

const ds = await measure("DaemonSet", async () => {
  await kube.create("/apis/apps/v1/namespaces/default/daemonsets", {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "agent" },
    spec: { selector: { matchLabels: { app: "agent" } }, template: template({ app: "agent" }) },
  });
}, "app=agent");

await sim.stop();
await kube.close();
await hub.kill();
await Deno.remove(dataDir, { recursive: true }).catch(() => {});

const table = [
  ["rollout", "all Running, s", "API requests/pod", "hub peak RSS, MiB"],
  ["bare pods with nodeName", bare.secs.toFixed(1), bare.perPod.toFixed(1), mib(bare.peak)],
  ["DaemonSet (controllers)", ds.secs.toFixed(1), ds.perPod.toFixed(1), mib(ds.peak)],
  [
    "ratio DaemonSet / bare",
    (ds.secs / bare.secs).toFixed(2),
    (ds.perPod / bare.perPod).toFixed(2),
    (ds.peak / bare.peak).toFixed(2),
  ],
];
printTable(table);
await writeResult({
  scenario: "daemonset",
  command: `deno task bench:daemonset --nodes ${NODES}`,
  headline: {
    nodes: NODES,
    bareSeconds: Math.round(bare.secs * 10) / 10,
    daemonSetSeconds: Math.round(ds.secs * 10) / 10,
    requestsPerPodBare: Math.round(bare.perPod * 10) / 10,
    requestsPerPodDaemonSet: Math.round(ds.perPod * 10) / 10,
  },
  table,
  targets: [],
});
Deno.exit(0);
