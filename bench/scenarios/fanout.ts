/**
 * Scenario `fanout`: downstream messages with ACK to 1,000 nodes, edgecloud vs a raw `npm:ws`
 * server measured in the same run.
 *
 *   deno task bench:fanout [--nodes 1000] [--waves 10] [--sync-write-concurrency N] [--profile]
 *
 * `--profile` takes a CPU profile of the hub process over the waves (bench/results/
 * fanout-hub.cpuprofile) and prints self time by file.
 *
 * edgecloud: the hub (embedded API + CloudHub + EdgeController + SyncController) in its own
 * process; 1,000 simulated nodes in this process, each running one pod that references ConfigMap
 * `fan`. Each wave updates the ConfigMap once through the API; EdgeController fans it out to all
 * 1,000 nodes on the ACK path (queue, ObjectSync record, write, edge ACK). A wave ends when every
 * node has decoded the new version. Rate = nodes × waves / total wave time.
 *
 * Baseline: a plain `ws` server with the same mTLS in its own process, and the same 1,000
 * simulated edge nodes (same client code, same ACKs, keepalives, node status and lease
 * traffic), so the ratio compares the servers, not two client codes. Each wave sends the
 * ConfigMap message JSON captured from the hub (encoded once, a fresh message id per wave) to
 * every node and waits for all ACKs. Until Nov 2026 the baseline used bare `ws` clients that cost
 * ~55 µs per message against the simulator's ~85 µs, which capped the ratio near 0.65 with an
 * infinitely fast hub; the CPU line printed below still compares the servers per message.
 */
import { parseArgs } from "node:util";
import { spawnHub } from "../lib/hub_launcher.ts";
import { createBenchPki, NodeCertIssuer } from "../lib/pki.ts";
import { printTable, sleep, writeResult } from "../lib/report.ts";
import { EdgeSimulator } from "../../edge/sim/mod.ts";
import { KubeClient } from "../../controllers/kube/mod.ts";
import { encodeMessage, type Message } from "../../modules/message.ts";
import { setLogLevel } from "../../modules/log.ts";
import { BENCH_CHILD_FLAGS } from "../lib/flags.ts";
import { readLines } from "../lib/lines.ts";
import { waitForEdgeNodes } from "../lib/edge_nodes.ts";
import { CpuProfiler, type ProfileSummary } from "../lib/cpu_profile.ts";
import { cpuSeconds } from "../lib/proc.ts";
import process from "node:process";

setLogLevel("error");
const { values } = parseArgs({
  args: Deno.args,
  options: {
    nodes: { type: "string", default: "1000" },
    waves: { type: "string", default: "10" },
    "sync-write-concurrency": { type: "string" },
    profile: { type: "boolean", default: false },
  },
});
const nodes = Number(values.nodes);
const waves = Number(values.waves);

const dataDir = await Deno.makeTempDir({ prefix: "bench-fanout-" });
const pki = await createBenchPki();
const issuer = new NodeCertIssuer(pki);

/** The next line of `stream` on each call; rejects once the child has closed it. */
function lines(stream: ReadableStream<Uint8Array>): () => Promise<string> {
  const it = readLines(stream);
  return async (): Promise<string> => {
    const { value, done } = await it.next();
    if (done) throw new Error("child closed");
    return value;
  };
}

// ---------- edgecloud ----------
const swc = values["sync-write-concurrency"];
const inspectPort = 9340;
let profile: ProfileSummary | undefined;
const hub = await spawnHub({
  pki,
  dataDir,
  nofile: 65536,
  syncWriteConcurrency: swc ? Number(swc) : undefined,
  denoFlags: values.profile ? [`--inspect=127.0.0.1:${inspectPort}`] : [],
});
const kube = KubeClient.fromYaml(await Deno.readTextFile(hub.kubeconfigPath), { qps: 0 });
const seen = new Map<string, number>(); // rv → nodes that decoded it
const firstSeen = new Map<string, number>(); // rv → when the first node decoded it
let sample: Message | undefined;
const sim = new EdgeSimulator({
  nodes,
  server: hub.server,
  credentials: (n) => issuer.credentials(n),
  namePrefix: "fan-",
  heartbeat: 15,
  connectConcurrency: 64,
  podStatus: false,
  observe: (_n, msg) => {
    if (msg.route.resource !== "default/configmap/fan" || msg.route.operation === "response") {
      return;
    }
    sample ??= msg;
    const rv = msg.header.resourceVersion ?? "";
    if (!firstSeen.has(rv)) firstSeen.set(rv, performance.now());
    seen.set(rv, (seen.get(rv) ?? 0) + 1);
  },
});
/** CPU seconds spent during the waves: server process, and this process (the clients). */
let hubSideCpu = { hubS: 0, clientsS: 0 };
const cpuDelta = (from: { user: number; system: number }) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
};
let hubMs = 0;
let hubDelivered = 0;
let baseMs = 0;
const hubWaves: number[] = [];
/** API write → first node's frame, per wave (the part the raw baseline has no counterpart for). */
const hubFirst: number[] = [];
const baseWaves: number[] = [];
try {
  await sim.start();
  await sim.waitUntil((s) => s.connected === nodes, 180_000, "all nodes connected");
  await waitForEdgeNodes(kube, nodes);
  await kube.create("/api/v1/namespaces/default/configmaps", {
    metadata: { name: "fan", namespace: "default" },
    data: { v: "0" },
  });
  for (let i = 0; i < nodes; i += 50) {
    await Promise.all(
      Array.from(
        { length: Math.min(50, nodes - i) },
        (_, k) =>
          kube.create("/api/v1/namespaces/default/pods", {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: `fan-pod-${i + k}`, namespace: "default" },
            spec: {
              nodeName: `fan-${i + k}`,
              containers: [{
                name: "c",
                image: "nginx",
                envFrom: [{ configMapRef: { name: "fan" } }],
              }],
            },
          }),
      ),
    );
  }
  // Every node holds its pod (and so is in the ConfigMap's location set) before the waves.
  await sim.waitUntil(
    () => sim.nodes.every((n) => [...n.objects.keys()].some((k) => k.startsWith("default/pod/"))),
    120_000,
    "every node has its pod",
  );
  await sleep(2000);
  console.log(`${nodes} nodes ready; ${waves} ConfigMap waves through edgecloud`);
  const profiler = values.profile ? await CpuProfiler.attach(inspectPort) : undefined;
  await profiler?.start();
  const cpuHub0 = cpuSeconds(hub.pid);
  const cpuSim0 = process.cpuUsage();
  for (let w = 1; w <= waves; w++) {
    const t0 = performance.now();
    const cm = await kube.patch("/api/v1/namespaces/default/configmaps/fan", {
      data: { v: String(w) },
    }) as { metadata: { resourceVersion: string } };
    const rv = cm.metadata.resourceVersion;
    const deadline = t0 + 30_000;
    while ((seen.get(rv) ?? 0) < nodes && performance.now() < deadline) await sleep(1);
    const ms = performance.now() - t0;
    const first = (firstSeen.get(rv) ?? NaN) - t0;
    console.log(
      `wave ${w}: ${seen.get(rv) ?? 0}/${nodes} nodes in ${ms.toFixed(0)} ms ` +
        `(first node after ${first.toFixed(0)} ms)`,
    );
    hubFirst.push(first);
    hubWaves.push(ms);
    hubMs += ms;
    hubDelivered += seen.get(rv) ?? 0;
  }
  hubSideCpu = {
    hubS: cpuSeconds(hub.pid) - cpuHub0,
    clientsS: cpuDelta(cpuSim0),
  };
  if (profiler) {
    profile = await profiler.stop(
      new URL("../results/fanout-hub.cpuprofile", import.meta.url).pathname,
    );
    console.log("hub CPU self time by file (top):");
    for (const f of profile.byFile.slice(0, 12)) {
      console.log(`  ${f.pct.toFixed(1).padStart(5)} %  ${f.file}`);
    }
  }
} finally {
  await sim.stop();
  await kube.close();
  await hub.kill("SIGTERM");
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
}
const hubSummary = sim.summary();

// ---------- raw ws baseline ----------
const raw = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--no-check",
    ...BENCH_CHILD_FLAGS,
    new URL("../lib/raw_ws_server.ts", import.meta.url).pathname,
    JSON.stringify({
      certPem: pki.server.certPem,
      keyPem: pki.server.keyPem,
      caPem: pki.ca.certPem,
    }),
  ],
  stdin: "piped",
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const readRaw = lines(raw.stdout);
const rawIn = raw.stdin.getWriter();
const rawCall = async (cmd: unknown) => {
  await rawIn.write(new TextEncoder().encode(JSON.stringify(cmd) + "\n"));
  return JSON.parse(await readRaw());
};
const { port } = JSON.parse(await readRaw());
// The same edge simulator as on the edgecloud side (same decode, ACK, bookkeeping, keepalives,
// node status and lease traffic), so the ratio compares the servers and not two client codes.
const rawSim = new EdgeSimulator({
  nodes,
  server: `127.0.0.1:${port}`,
  credentials: (n) => issuer.credentials(n),
  namePrefix: "fan-",
  heartbeat: 15,
  connectConcurrency: 64,
  podStatus: false,
});
await rawSim.start();
await rawSim.waitUntil((st) => st.connected === nodes, 180_000, "all nodes connected (raw)");
const payload = sample ? encodeMessage(sample) + "\n" : "{}";
const cpuRaw0 = cpuSeconds(raw.pid);
const cpuClients0 = process.cpuUsage();
for (let w = 1; w <= waves; w++) {
  const { ms } = await rawCall({ cmd: "wave", payload });
  baseWaves.push(ms);
  baseMs += ms;
}
const rawSideCpu = { serverS: cpuSeconds(raw.pid) - cpuRaw0, clientsS: cpuDelta(cpuClients0) };
await rawSim.stop();
await rawCall({ cmd: "stop" });
await raw.status;

const hubRate = hubDelivered / (hubMs / 1000);
const baseRate = (nodes * waves) / (baseMs / 1000);
const ratio = hubRate / baseRate;
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const rows: (string | number)[][] = [
  ["side", "msgs delivered+ACKed", "total s", "msgs/s", "median wave ms"],
  [
    "edgecloud (API → edge, ACKed)",
    hubDelivered,
    (hubMs / 1000).toFixed(2),
    hubRate.toFixed(0),
    med(hubWaves).toFixed(1),
  ],
  [
    "raw npm:ws (same mTLS, ACKed)",
    nodes * waves,
    (baseMs / 1000).toFixed(2),
    baseRate.toFixed(0),
    med(baseWaves).toFixed(1),
  ],
  ["ratio edgecloud / raw", "", "", ratio.toFixed(2), ""],
];
console.log();
printTable(rows);
const perMsgUs = (s: number, msgs: number) => Math.round(s / Math.max(1, msgs) * 1e6);
console.log(
  `CPU during the waves, µs per message: edgecloud hub ${perMsgUs(hubSideCpu.hubS, hubDelivered)}` +
    `, its edge clients ${perMsgUs(hubSideCpu.clientsS, hubDelivered)}; raw server ` +
    `${perMsgUs(rawSideCpu.serverS, nodes * waves)}, its clients ` +
    `${perMsgUs(rawSideCpu.clientsS, nodes * waves)}`,
);
await writeResult({
  scenario: swc ? `fanout-swc${swc}` : "fanout",
  command: `deno task bench:fanout ${Deno.args.join(" ")}`.trim(),
  headline: {
    nodes,
    waves,
    hubMsgsPerSec: Math.round(hubRate),
    rawMsgsPerSec: Math.round(baseRate),
    ratio: Math.round(ratio * 100) / 100,
    lost: nodes * waves - hubDelivered,
    duplicatesAfterAck: hubSummary.duplicatesAfterAck,
  },
  table: rows,
  targets: [{
    name: "fanout vs raw ws",
    target: ">= 0.70",
    value: ratio.toFixed(2),
    met: ratio >= 0.7,
  }],
  details: {
    hubWaves,
    hubFirstFrameMs: hubFirst,
    baseWaves,
    cpuSeconds: { edgecloud: hubSideCpu, raw: rawSideCpu },
    sim: hubSummary,
    profile,
  },
  notes: [
    "edgecloud waves include the API write, the watch event and EdgeController's fan-out; the raw side starts at the send",
  ],
});
