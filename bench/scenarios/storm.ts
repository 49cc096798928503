/**
 * Scenario `storm`: 10,000 sessions dropped at once and reconnecting.
 *
 *   deno task bench:storm [--nodes 10000] [--pods 2000] [--reconnect-ms 1000]
 *
 * The hub (embedded API + CloudHub + EdgeController + SyncController) runs in its own process;
 * 10,000 simulated nodes (two worker processes) register and stay connected (keepalive 15 s,
 * node status every 60 s as in KubeEdge's 100k-node tuning). Then every connection is dropped at
 * the same instant (no close handshake) while `--pods` pods are created for random nodes, so
 * they queue for offline nodes. Nodes reconnect after `--reconnect-ms` ± 100 % jitter.
 * Reported: time until all sessions are back, time until every pending pod is delivered (and
 * ACKed), hub RSS peak vs steady, pods lost, duplicates after ACK.
 */
import { parseArgs } from "node:util";
import { spawnHub } from "../../harness/hub_launcher.ts";
import { createBenchPki } from "../../harness/pki.ts";
import { startFleet } from "../lib/sim_workers.ts";
import { mib, printTable, secs, sleep, writeResult } from "../lib/report.ts";
import { KubeClient } from "../../kube/mod.ts";
import { setLogLevel } from "../../lib/log.ts";
import { waitForEdgeNodes } from "../lib/edge_nodes.ts";

setLogLevel("error");
const { values } = parseArgs({
  args: Deno.args,
  options: {
    "sync-write-concurrency": { type: "string" },
    "hub-log-level": { type: "string" },
    nodes: { type: "string", default: "10000" },
    pods: { type: "string", default: "2000" },
    "reconnect-ms": { type: "string", default: "1000" },
  },
});
const nodes = Number(values.nodes);
const pods = Number(values.pods);
const reconnectMs = Number(values["reconnect-ms"]);
const perWorker = Math.ceil(nodes / 2);
const swc = values["sync-write-concurrency"];
// A tuned run is kept beside the default one (bench/results/storm-swc<N>.json).
const scenario = swc ? `storm-swc${swc}` : "storm";
const command = `deno task bench:storm ${Deno.args.join(" ")}`.trim();

const dataDir = await Deno.makeTempDir({ prefix: "bench-storm-" });
const pki = await createBenchPki();
const hub = await spawnHub({
  pki,
  dataDir,
  nofile: 1_048_576,
  logLevel: values["hub-log-level"] as "info" | undefined,
  syncWriteConcurrency: swc ? Number(swc) : undefined,
  v8Flags: ["--max-old-space-size=16384"],
});
const kube = KubeClient.fromYaml(await Deno.readTextFile(hub.kubeconfigPath), { qps: 0 });
const fleet = await startFleet({
  hub,
  dataDir,
  nodes,
  perWorker,
  prefix: "st-",
  sim: {
    heartbeat: 15,
    nodeStatusInterval: 60,
    leaseInterval: 0,
    jitter: 0.99,
    reconnectDelayMs: reconnectMs,
    connectConcurrency: 64,
  },
});
let peak = 0;
let sampling = true;
const sampler = (async () => {
  while (sampling) {
    peak = Math.max(peak, hub.rss());
    await sleep(250);
  }
})();
try {
  const tConnect0 = performance.now();
  await fleet.start();
  try {
    await fleet.waitFor((s) => s.connected === nodes, 300_000, "all connected");
  } catch (err) {
    // The fleet never became stable: record that (it is a result too) and stop.
    const s = await fleet.stats();
    console.log(`not all connected within 300 s: ${JSON.stringify(s)}`);
    await writeResult({
      scenario,
      command,
      headline: {
        sessions: nodes,
        stable: false,
        connected: s.connected,
        reconnectsBeforeDrop: s.reconnects,
        rssPeakMiB: Number(mib(peak)),
      },
      table: [["measure", "value"], ["sessions wanted", nodes], [
        "connected after 300 s",
        s.connected,
      ], ["reconnects while connecting (hub closed sessions)", s.reconnects]],
      targets: [{
        name: "all back + delivered",
        target: "< 60 s",
        value: "fleet never stable before the drop",
        met: false,
      }],
      details: { stats: s, error: String(err) },
      notes: [
        "sessions were closed by the hub (keepalive timeout) while 10k nodes registered; see the report",
      ],
    });
    throw err;
  }
  const connectMs = performance.now() - tConnect0;
  console.log(`${nodes} sessions up in ${secs(connectMs)} s; waiting for registration`);
  // Registration (node insert through EdgeController) is bounded so the run stays bounded.
  const registered = await waitForEdgeNodes(kube, nodes, { timeoutMs: 240_000, pollMs: 1000 });
  const registerMs = performance.now() - tConnect0 - connectMs;
  console.log(`${registered}/${nodes} nodes registered after ${secs(registerMs)} s`);
  await sleep(5000);
  const steady = hub.rss();
  peak = steady;
  console.log(`steady hub RSS ${mib(steady)} MiB; dropping all ${nodes} sessions`);

  const t0 = performance.now();
  await fleet.drop();
  // Pending work for offline nodes, created while the fleet is down and reconnecting.
  const names = Array.from({ length: pods }, (_, i) => `st-pod-${i}`);
  const createPods = (async () => {
    for (let i = 0; i < pods; i += 20) {
      await Promise.all(
        names.slice(i, i + 20).map((name) => {
          const r = Math.floor(Math.random() * nodes);
          const node = `st-w${Math.floor(r / perWorker)}-${r % perWorker}`;
          return kube.create("/api/v1/namespaces/default/pods", {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name, namespace: "default" },
            spec: { nodeName: node, containers: [{ name: "c", image: "nginx" }] },
          });
        }),
      );
    }
    return performance.now() - t0;
  })();
  let backMs = -1;
  let deliveredMs = -1;
  let last = await fleet.stats();
  const deadline = t0 + 240_000;
  while (performance.now() < deadline && (backMs < 0 || deliveredMs < 0)) {
    await sleep(250);
    last = await fleet.stats();
    // A dropped session is "back" once every node reconnected (reconnects counts them).
    if (backMs < 0 && last.reconnects >= nodes && last.connected === nodes) {
      backMs = performance.now() - t0;
    }
    if (deliveredMs < 0 && last.pods >= pods) deliveredMs = performance.now() - t0;
  }
  const createMs = await createPods;
  await sleep(2000);
  last = await fleet.stats();
  const recoveryMs = Math.max(backMs, deliveredMs);
  const lost = pods - last.pods;
  const rows: (string | number)[][] = [
    ["measure", "value"],
    ["sessions", nodes],
    ["initial connect (s)", secs(connectMs)],
    ["nodes registered (node insert → Node) / time (s)", `${registered} / ${secs(registerMs)}`],
    ["all sessions back after drop (s)", backMs < 0 ? "not within 240 s" : secs(backMs)],
    [
      `all ${pods} pending pods delivered (s)`,
      deliveredMs < 0 ? "not within 240 s" : secs(deliveredMs),
    ],
    ["pod creation through the API took (s)", secs(createMs)],
    ["hub RSS steady (MiB)", mib(steady)],
    ["hub RSS peak (MiB)", mib(peak)],
    ["peak / steady", (peak / steady).toFixed(2)],
    ["pods lost", lost],
    ["duplicates after ACK", last.duplicatesAfterAck],
    ["connect failures (retried)", last.connectFailures],
  ];
  console.log();
  printTable(rows);
  await writeResult({
    scenario,
    command,
    headline: {
      sessions: nodes,
      backS: Number(secs(backMs)),
      deliveredS: Number(secs(deliveredMs)),
      recoveryS: Number(secs(recoveryMs)),
      rssSteadyMiB: Number(mib(steady)),
      rssPeakMiB: Number(mib(peak)),
      peakOverSteady: Math.round((peak / steady) * 100) / 100,
      lost,
      duplicatesAfterAck: last.duplicatesAfterAck,
    },
    table: rows,
    targets: [
      {
        name: "all back + delivered",
        target: "< 60 s",
        value: `${secs(recoveryMs)} s`,
        met: backMs >= 0 && deliveredMs >= 0 && recoveryMs < 60_000,
      },
      {
        name: "peak RSS / steady",
        target: "< 2",
        value: (peak / steady).toFixed(2),
        met: peak / steady < 2,
      },
      { name: "messages lost", target: "0", value: String(lost), met: lost === 0 },
    ],
    details: { last },
    notes: [
      `reconnect delay ${reconnectMs} ms ± 99 %; nodestatus every 60 s; hub fd soft limit raised to the hard limit`,
    ],
  });
} finally {
  sampling = false;
  await sampler;
  await fleet.stop().catch(() => {});
  await kube.close();
  await hub.kill("SIGTERM");
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
}
