/**
 * Scenario `latency`: API write → edge frame at 1,000 nodes.
 *
 *   deno task bench:latency [--nodes 1000] [--rate 50] [--seconds 30]
 *
 * The hub (embedded API + CloudHub + EdgeController + SyncController) runs in its own process;
 * 1,000 simulated nodes in this process register, report node status every 10 s and renew their
 * lease (the background load of a real fleet). Pods are then created at `--rate` per second for
 * random nodes; each sample is the time from just before the POST until the pod's insert frame
 * is decoded at its edge node (same process clock). The breakdown splits that into API write
 * (POST round trip), hub (until the hub stamped the message) and wire (hub stamp → edge).
 *
 * With `--cloudcore <path>` (or CLOUDCORE_BIN) the same work then runs against real cloudcore
 * (with an edgecloud API-only process beside it; see harness/cloudcore_hub.ts) and the report
 * gives each figure for both hubs. Nodes bootstrap through the hub's cert server on both.
 */
import { parseArgs } from "node:util";
import { createBenchPki } from "../../harness/pki.ts";
import { printTable, sleep, writeResult } from "../lib/report.ts";
import { CpuProfiler, cpuSeconds, printTopFiles, type ProfileSummary } from "../lib/cpu_profile.ts";
import { EdgeSimulator, Histogram } from "../../edge/sim/mod.ts";
import { KubeClient } from "../../kube/mod.ts";
import { setLogLevel } from "../../lib/log.ts";
import { waitForEdgeNodes } from "../lib/edge_nodes.ts";
import { obtainCredentials } from "../../edge/sim/credentials.ts";
import type { HubProcess } from "../../harness/hub_launcher.ts";
import {
  cloudcoreApi,
  cloudcoreBin,
  cloudcoreChoice,
  edgecloudChoice,
  type HubChoice,
  sideBySide,
  withHub,
} from "../lib/hubs.ts";

setLogLevel("error");
const { values } = parseArgs({
  args: Deno.args,
  options: {
    "sync-write-concurrency": { type: "string" },
    nodes: { type: "string", default: "1000" },
    rate: { type: "string", default: "50" },
    seconds: { type: "string", default: "30" },
    profile: { type: "boolean", default: false },
    cloudcore: { type: "string" },
  },
});
const nodes = Number(values.nodes);
const rate = Number(values.rate);
const seconds = Number(values.seconds);

const pki = await createBenchPki();
const inspectPort = 9339;

interface LatencyRun {
  label: string;
  total: Histogram;
  apiWrite: Histogram;
  hubPart: Histogram;
  wire: Histogram;
  missing: number;
  hubCpuPct: number;
  simCpuPct: number;
  reconnects: number;
  sim: ReturnType<EdgeSimulator["summary"]>;
  profile?: ProfileSummary;
}

const run = (choice: HubChoice): Promise<LatencyRun> =>
  withHub(choice, "latency", (hub) => measure(choice, hub));

async function measure(choice: HubChoice, hub: HubProcess): Promise<LatencyRun> {
  const kube = KubeClient.fromYaml(await Deno.readTextFile(hub.kubeconfigPath), { qps: 0 });
  const names = Array.from({ length: nodes }, (_, i) => `lat-${i}`);
  console.log(`${choice.label}: bootstrapping ${nodes} nodes through its cert server`);
  const creds = await obtainCredentials(names, {
    certServer: hub.certServer,
    token: hub.token,
    concurrency: 32,
  });
  const sent = new Map<string, { t0: number; wall0: number }>();
  const total = new Histogram();
  const apiWrite = new Histogram();
  const hubPart = new Histogram();
  const wire = new Histogram();
  let missing = 0;
  const sim = new EdgeSimulator({
    nodes,
    server: hub.server,
    credentials: (n) => creds.get(n)!,
    namePrefix: "lat-",
    heartbeat: 15,
    connectConcurrency: 64,
    observe: (_node, msg) => {
      if (msg.route.operation !== "insert") return;
      const name = (msg.route.resource ?? "").split("/")[2];
      const s = sent.get(name);
      if (!s) return;
      sent.delete(name);
      const now = performance.now();
      total.add(now - s.t0);
      hubPart.add(msg.header.timestamp - s.wall0);
      wire.add(Date.now() - msg.header.timestamp);
    },
  });
  try {
    await sim.start();
    await sim.waitUntil((s) => s.connected === nodes, 180_000, "all nodes connected");
    // Every node registered (EdgeController knows it) before measuring.
    await waitForEdgeNodes(kube, nodes);
    await sleep(3000);
    console.log(
      `${nodes} nodes connected and registered; creating pods at ${rate}/s for ${seconds} s`,
    );
    const count = rate * seconds;
    const profiler = values.profile && choice.name === "edgecloud"
      ? await CpuProfiler.attach(inspectPort)
      : undefined;
    await profiler?.start();
    const cpu0 = cpuSeconds(hub.pid);
    const simCpu0 = cpuSeconds(Deno.pid);
    const t0 = performance.now();
    const writes: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const name = `lat-pod-${i}`;
      const node = `lat-${Math.floor(Math.random() * nodes)}`;
      const start = performance.now();
      sent.set(name, { t0: start, wall0: Date.now() });
      writes.push(
        kube.create("/api/v1/namespaces/default/pods", {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name, namespace: "default" },
          spec: { nodeName: node, containers: [{ name: "c", image: "nginx" }] },
        }).then(() => apiWrite.add(performance.now() - start)),
      );
    }
    await Promise.all(writes);
    const deadline = performance.now() + 30_000;
    while (sent.size > 0 && performance.now() < deadline) await sleep(100);
    missing = sent.size;
    const elapsedS = (performance.now() - t0) / 1000;
    const hubCpuPct = Math.round((cpuSeconds(hub.pid) - cpu0) / elapsedS * 100);
    // The simulated fleet shares this machine's two cores: its own lag is part of each sample.
    const simCpuPct = Math.round((cpuSeconds(Deno.pid) - simCpu0) / elapsedS * 100);
    let profile: ProfileSummary | undefined;
    if (profiler) {
      profile = await profiler.stop(
        new URL("../results/latency-hub.cpuprofile", import.meta.url).pathname,
      );
      printTopFiles(profile, "hub");
    }
    return {
      label: choice.label,
      total,
      apiWrite,
      hubPart,
      wire,
      missing,
      hubCpuPct,
      simCpuPct,
      reconnects: sim.stats.reconnects,
      sim: sim.summary(),
      profile,
    };
  } finally {
    await sim.stop();
    await kube.close();
  }
}

const edgecloud = edgecloudChoice({
  pki,
  certPort: 0,
  nofile: 65536,
  syncWriteConcurrency: values["sync-write-concurrency"]
    ? Number(values["sync-write-concurrency"])
    : undefined,
  denoFlags: values.profile ? [`--inspect=127.0.0.1:${inspectPort}`] : [],
});
const cc = cloudcoreChoice(cloudcoreBin(values.cloudcore));
const e = await run(edgecloud);
const c = cc ? await run(cc) : undefined;
const { total, apiWrite, hubPart, wire, missing, hubCpuPct, simCpuPct, profile } = e;
const t = total.summary();
const rows: (string | number)[][] = [
  ["part", "p50 ms", "p90 ms", "p99 ms", "max ms", "samples"],
  ["API write → edge frame", t.p50, t.p90, t.p99, t.max, t.count],
];
for (
  const [label, h] of [["  API POST round trip", apiWrite], [
    "  write start → hub stamp",
    hubPart,
  ], ["  hub stamp → edge decode", wire]] as const
) {
  const s = h.summary();
  rows.push([label, s.p50, s.p90, s.p99, s.max, s.count]);
}
console.log();
printTable(rows);
const ct = c?.total.summary();
const compare = [
  ["figure", "edgecloud", c?.label ?? "cloudcore", "edgecloud / cloudcore"],
  sideBySide("API write → edge frame p50, ms", t.p50, ct?.p50, 2),
  sideBySide("API write → edge frame p99, ms", t.p99, ct?.p99, 2),
  sideBySide("p99 / p50", t.p99 / t.p50, ct ? ct.p99 / ct.p50 : undefined, 2),
  sideBySide("hub CPU, % of one core", hubCpuPct, c?.hubCpuPct, 0),
  sideBySide("frames never seen", missing, c?.missing, 0),
];
console.log();
printTable(compare);
console.log(
  `frames never seen: ${missing}; CPU (% of one core): hub process ${hubCpuPct}, ` +
    `simulator + client process ${simCpuPct}`,
);
await writeResult({
  // A tuned run is kept beside the default one (bench/results/latency-swc<N>.json).
  scenario: values["sync-write-concurrency"]
    ? `latency-swc${values["sync-write-concurrency"]}`
    : "latency",
  command: `deno task bench:latency ${Deno.args.join(" ")}`.trim(),
  headline: {
    nodes,
    p50Ms: t.p50,
    p99Ms: t.p99,
    maxMs: t.max,
    samples: t.count,
    missing,
    hubCpuPct,
    simCpuPct,
    cloudcore: c ? c.label : "not run",
    cloudcoreP50Ms: ct ? ct.p50 : "not run",
    cloudcoreP99Ms: ct ? ct.p99 : "not run",
  },
  table: rows,
  compare,
  targets: [{
    name: "API write → edge frame p99",
    target: "< 50 ms",
    value: `${t.p99} ms`,
    met: t.p99 < 50,
  }, {
    name: "API write → edge frame p99 / p50",
    target: "<= 3",
    value: (t.p99 / t.p50).toFixed(2),
    met: t.p99 <= 3 * t.p50,
  }],
  details: {
    apiWrite: apiWrite.summary(),
    hub: hubPart.summary(),
    wire: wire.summary(),
    sim: e.sim,
    profile,
    cloudcore: c
      ? {
        total: ct,
        apiWrite: c.apiWrite.summary(),
        hub: c.hubPart.summary(),
        wire: c.wire.summary(),
        hubCpuPct: c.hubCpuPct,
        missing: c.missing,
      }
      : "not run",
  },
  notes: [
    `${rate} pods/s for ${seconds} s to random nodes; nodes send nodestatus + lease every 10 s`,
    `CPU during the measurement (% of one core): hub process ${hubCpuPct}, simulator and ` +
    `API client process ${simCpuPct}`,
    `sessions the hub closed and the nodes re-opened during the run: ${e.reconnects}` +
    " (a node reconnects after 2 × heartbeat = 30 s: that is where the tail comes from)",
    ...(profile
      ? [
        `hub CPU self time: ${
          profile.byFile.slice(0, 6).map((f) => `${f.file} ${f.pct} %`).join(", ")
        }`,
      ]
      : []),
    c
      ? `${c.label} ran the same work against ${cloudcoreApi()}`
      : "cloudcore: not run (give --cloudcore <path> or CLOUDCORE_BIN)",
  ],
});
