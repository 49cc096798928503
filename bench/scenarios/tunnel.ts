/**
 * Scenario `tunnel`: CloudStream's cost. (1) Throughput of `kubectl logs` streaming through the
 * hub — a simulated kubelet writes `--mib` MiB into its stream tunnel, this process reads them
 * from the embedded API's pods/log — against a direct TCP copy of the same bytes from another
 * process to this one, alternating in the same run (median of `--rounds`). (2) Hub RSS of
 * `--nodes` idle tunnels: the hub's RSS with that many edge sessions, then with a tunnel beside
 * each session.
 *
 *   deno task bench:tunnel [--mib 256] [--rounds 5] [--nodes 1000]
 */
import { parseArgs } from "node:util";
import { spawnHub } from "../../harness/hub_launcher.ts";
import { createBenchPki, NodeCertIssuer } from "../../harness/pki.ts";
import { EdgeSimulator, SimKubelet, SimPods, SimStream } from "../../edge/sim/mod.ts";
import { dialStreamTunnel, type EdgeKubelet } from "../../edge/stream/mod.ts";
import { KubeClient } from "../../kube/mod.ts";
import { setLogLevel } from "../../lib/log.ts";
import { mib, printTable, sleep, writeResult } from "../lib/report.ts";

setLogLevel("error");
const { values } = parseArgs({
  args: Deno.args,
  options: {
    mib: { type: "string", default: "256" },
    rounds: { type: "string", default: "5" },
    nodes: { type: "string", default: "1000" },
  },
});
const SIZE = Number(values.mib) * 1048576;
const ROUNDS = Number(values.rounds);
const NODES = Number(values.nodes);
const CHUNK = 64 * 1024;

const dataDir = await Deno.makeTempDir({ prefix: "bench-tunnel-" });
const pki = await createBenchPki();
const issuer = new NodeCertIssuer(pki);
const hub = await spawnHub({ pki, dataDir, stream: true, nofile: 65_536 });
const kube = KubeClient.fromFile(hub.kubeconfigPath);

/** `n` bytes in 64 KiB chunks. */
function bytes(n: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(CHUNK).fill(120);
  let left = n;
  return new ReadableStream({
    pull(c) {
      if (left <= 0) return c.close();
      const k = Math.min(CHUNK, left);
      c.enqueue(k === CHUNK ? chunk : chunk.subarray(0, k));
      left -= k;
    },
  }, { highWaterMark: 4 });
}

async function drain(body: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of body) n += c.length;
  return n;
}

// --- (1) throughput -------------------------------------------------------------------------
const node = "bench-stream-0";
await kube.create("/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: node } });
await kube.create("/api/v1/namespaces/default/pods", {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "big" },
  spec: { nodeName: node, containers: [{ name: "app", image: "x" }] },
});
const kubelet: EdgeKubelet = {
  get: () => Promise.resolve(bytes(SIZE)),
  upgrade: () => Promise.resolve(),
};
const creds = await issuer.credentials(node);
const tunnel = await dialStreamTunnel({
  server: hub.tunnelServer,
  nodeName: node,
  internalIP: "127.0.0.1",
  kubelet,
  ...creds,
});
const cluster = kube.kubeConfig.getCurrentCluster()!;
const apiUrl = cluster.server;
const token = (await Deno.readTextFile(hub.kubeconfigPath)).match(/token: (\S+)/)![1];
const client = Deno.createHttpClient({
  caCerts: [cluster.caData ? atob(cluster.caData) : await Deno.readTextFile(cluster.caFile!)],
});
// Wait until the hub accepted the tunnel (it records the node's kubelet port).
for (let i = 0; i < 100; i++) {
  const n = await kube.get<
    { status?: { daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } } }
  >(
    `/api/v1/nodes/${node}`,
  );
  if (n.status?.daemonEndpoints?.kubeletEndpoint?.Port) break;
  await sleep(100);
}

async function viaTunnel(): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${apiUrl}/api/v1/namespaces/default/pods/big/log`, {
    headers: { authorization: `Bearer ${token}` },
    client,
  });
  const n = await drain(res.body!);
  if (n !== SIZE) throw new Error(`tunnel delivered ${n} of ${SIZE} bytes`);
  return (SIZE / 1048576) / ((performance.now() - t0) / 1000);
}

const WRITER = `
const [port, size] = Deno.args.map(Number);
const conn = await Deno.connect({ hostname: "127.0.0.1", port });
const chunk = new Uint8Array(${CHUNK}).fill(120);
let left = size;
while (left > 0) { const k = Math.min(chunk.length, left); await conn.write(chunk.subarray(0, k)).then(async (w) => { let d = w; while (d < k) d += await conn.write(chunk.subarray(d, k)); }); left -= k; }
conn.close();
`;

async function viaTcp(): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", WRITER, String(port), String(SIZE)],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const conn = await listener.accept();
  listener.close();
  const n = await drain(conn.readable);
  await child.status;
  if (n !== SIZE) throw new Error(`tcp delivered ${n} of ${SIZE} bytes`);
  return (SIZE / 1048576) / ((performance.now() - t0) / 1000);
}

const tunnelRates: number[] = [], tcpRates: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  tunnelRates.push(await viaTunnel());
  tcpRates.push(await viaTcp());
  console.log(
    `round ${r + 1}: tunnel ${tunnelRates.at(-1)!.toFixed(0)} MiB/s, tcp ${
      tcpRates.at(-1)!.toFixed(0)
    } MiB/s`,
  );
}
tunnel.close();
await tunnel.closed;
client.close();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const tunnelMiBs = median(tunnelRates), tcpMiBs = median(tcpRates);

// --- (2) memory of idle tunnels ---------------------------------------------------------------
const sim = new EdgeSimulator({
  nodes: NODES,
  server: hub.server,
  credentials: (n) => issuer.credentials(n),
  namePrefix: "bench-idle-",
  nodeStatusInterval: 0,
  leaseInterval: 0,
  heartbeat: 30,
});
await sim.start();
await sim.waitUntil((s) => s.connected === NODES, 120_000, "every session");
await sleep(5_000);
const rssSessions = hub.rss();
const streams = await Promise.all(sim.nodes.map(async (n) => {
  const s = new SimStream({
    server: hub.tunnelServer,
    nodeName: n.name,
    internalIP: "127.0.0.1",
    credentials: await issuer.credentials(n.name),
    kubelet: new SimKubelet({ nodeName: n.name, pods: new SimPods() }),
  });
  await s.start();
  return s;
}));
for (let i = 0; i < 600 && !streams.every((s) => s.connected); i++) await sleep(100);
const up = streams.filter((s) => s.connected).length;
await sleep(5_000);
const rssTunnels = hub.rss();
const kbPerTunnel = (rssTunnels - rssSessions) / NODES / 1024;
await Promise.all(streams.map((s) => s.stop()));
await sim.stop();
await kube.close();
await hub.kill();
await Deno.remove(dataDir, { recursive: true }).catch(() => {});

const table = [
  ["figure", "value"],
  ["log streaming through the hub, MiB/s (median)", tunnelMiBs.toFixed(0)],
  ["direct TCP copy, MiB/s (median)", tcpMiBs.toFixed(0)],
  ["ratio tunnel / TCP", (tunnelMiBs / tcpMiBs).toFixed(2)],
  [`hub RSS with ${NODES} sessions, MiB`, mib(rssSessions)],
  [`hub RSS with ${up} tunnels beside them, MiB`, mib(rssTunnels)],
  ["KB per idle tunnel", kbPerTunnel.toFixed(1)],
];
printTable(table);
await writeResult({
  scenario: "tunnel",
  command: `deno task bench:tunnel --mib ${values.mib} --rounds ${ROUNDS} --nodes ${NODES}`,
  headline: {
    tunnelMiBs: Math.round(tunnelMiBs),
    tcpMiBs: Math.round(tcpMiBs),
    ratio: Math.round((tunnelMiBs / tcpMiBs) * 100) / 100,
    kbPerIdleTunnel: Math.round(kbPerTunnel * 10) / 10,
    tunnels: up,
  },
  table,
  targets: [],
  details: { tunnelRates, tcpRates },
});
Deno.exit(0);
