/**
 * Scenario `twins`: device twin coalescing under 10 Hz edge updates.
 *
 *   deno task bench:twins [--nodes 50] [--devices-per-node 4] [--hz 10] [--seconds 20]
 *
 * The hub (embedded API + CloudHub + EdgeController + DeviceController + SyncController) runs in
 * its own process; simulated nodes in this process each report `--devices-per-node` device twins
 * (`twin/edge_updated`, reported value = a counter) `--hz` times a second over mTLS WebSocket.
 * PATCHes are counted from a watch on DeviceStatus (every stored change is one MODIFIED event).
 * Reported: twin messages sent vs status writes (the coalescing ratio; KubeEdge does one PATCH
 * per message, ratio 1), writes per device per second, and whether every device's final stored
 * value is the last one its edge sent.
 *
 * Nodes bootstrap through the hub's cert server. With `--cloudcore <path>` (or CLOUDCORE_BIN)
 * the same work then runs against real cloudcore (with an edgecloud API-only process beside it;
 * see harness/cloudcore_hub.ts) and the report gives each figure for both hubs.
 */
import { parseArgs } from "node:util";
import { createBenchPki } from "../../harness/pki.ts";
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
import { printTable, sleep, writeResult } from "../lib/report.ts";
import { EdgeSimulator } from "../../edge/sim/mod.ts";
import { KubeClient } from "../../kube/mod.ts";
import { setLogLevel } from "../../lib/log.ts";

setLogLevel("error");
const { values } = parseArgs({
  args: Deno.args,
  options: {
    nodes: { type: "string", default: "50" },
    "devices-per-node": { type: "string", default: "4" },
    hz: { type: "string", default: "10" },
    seconds: { type: "string", default: "20" },
    cloudcore: { type: "string" },
  },
});
const nodes = Number(values.nodes);
const perNode = Number(values["devices-per-node"]);
const hz = Number(values.hz);
const seconds = Number(values.seconds);
const devices = nodes * perNode;
const API = "/apis/devices.kubeedge.io/v1beta1";

const pki = await createBenchPki();
type Status = {
  metadata?: { name?: string };
  status?: { twins?: { reported?: { value?: string } }[] };
};

interface TwinsRun {
  label: string;
  /** Seconds after the edges stopped until the last DeviceStatus write. */
  settleS: number;
  sent: number;
  elapsed: number;
  totalWrites: number;
  perDevPerSec: number;
  maxPerDev: number;
  ratio: number;
  kept: number;
  wrong: string[];
}

const run = (choice: HubChoice): Promise<TwinsRun> =>
  withHub(choice, "twins", (hub) => measure(choice, hub));

async function measure(choice: HubChoice, hub: HubProcess): Promise<TwinsRun> {
  const kube = KubeClient.fromYaml(await Deno.readTextFile(hub.kubeconfigPath), { qps: 0 });
  const creds = await obtainCredentials(
    Array.from({ length: nodes }, (_, i) => `tw-${i}`),
    { certServer: hub.certServer, token: hub.token, concurrency: 16 },
  );
  const writes = new Map<string, number>();
  let measuring = false;
  const informer = kube.informer<Status>(`${API}/devicestatuses`);
  informer.on({
    update: (o: Status) => {
      if (!measuring) return;
      const n = o.metadata?.name ?? "";
      writes.set(n, (writes.get(n) ?? 0) + 1);
    },
  }).start();
  const sim = new EdgeSimulator({
    nodes,
    server: hub.server,
    credentials: (n) => creds.get(n)!,
    namePrefix: "tw-",
    heartbeat: 15,
    devices: 0,
    connectConcurrency: 32,
  });
  let twinSim: EdgeSimulator | undefined;
  try {
    await kube.create(`${API}/namespaces/default/devicemodels`, {
      apiVersion: "devices.kubeedge.io/v1beta1",
      kind: "DeviceModel",
      metadata: { name: "m" },
      spec: { properties: [{ name: "temperature", type: "INT", accessMode: "ReadWrite" }] },
    });
    for (let n = 0; n < nodes; n++) {
      await Promise.all(
        Array.from({ length: perNode }, (_, d) =>
          kube.create(`${API}/namespaces/default/devices`, {
            apiVersion: "devices.kubeedge.io/v1beta1",
            kind: "Device",
            metadata: { name: `tw-${n}-dev-${d}` },
            spec: {
              deviceModelRef: { name: "m" },
              nodeName: `tw-${n}`,
              properties: [{ name: "temperature" }],
            },
          })),
      );
    }
    // Register the nodes first (no twins), then start the twin reporters on the same names.
    await sim.start();
    await sim.waitUntil((s) => s.connected === nodes, 120_000, "nodes connected");
    await sleep(3000);
    await sim.stop();
    twinSim = new EdgeSimulator({
      nodes,
      server: hub.server,
      credentials: (n) => creds.get(n)!,
      namePrefix: "tw-",
      heartbeat: 15,
      register: false,
      nodeStatusInterval: 0,
      leaseInterval: 0,
      devices: perNode,
      twinHz: hz,
      jitter: 0.05,
      connectConcurrency: 32,
    });
    await twinSim.start();
    await twinSim.waitUntil((s) => s.connected === nodes, 120_000, "twin nodes connected");
    measuring = true;
    const t0 = performance.now();
    await sleep(seconds * 1000);
    for (const n of twinSim.nodes) n.stop(); // stop reporting; keep sessions for the OKs
    const elapsed = (performance.now() - t0) / 1000;
    const sent = twinSim.stats.sent.twin ?? 0;
    // Let the last coalescing window flush and any backlog drain (writes unchanged for 3 s, at
    // most 120 s), then check every device's stored value.
    const tStop = performance.now();
    const total = () => [...writes.values()].reduce((a, b) => a + b, 0);
    for (let last = -1, still = 0; still < 3 && performance.now() - tStop < 120_000;) {
      await sleep(1000);
      const now = total();
      still = now === last ? still + 1 : 0;
      last = now;
    }
    const settleS = (performance.now() - tStop) / 1000 - 3;
    measuring = false;
    let kept = 0;
    const wrong: string[] = [];
    for (const node of twinSim.nodes) {
      for (const [device, value] of node.lastTwin) {
        const st = await kube.get(`${API}/namespaces/default/devicestatuses/${device}`) as Status;
        const got = st.status?.twins?.[0]?.reported?.value;
        if (got === value) kept++;
        else if (wrong.length < 5) wrong.push(`${device}: stored ${got}, last sent ${value}`);
      }
    }
    const totalWrites = [...writes.values()].reduce((a, b) => a + b, 0);
    const perDevPerSec = totalWrites / devices / elapsed;
    const maxPerDev = Math.max(0, ...writes.values()) / elapsed;
    const ratio = sent / Math.max(1, totalWrites);
    return {
      label: choice.label,
      settleS,
      sent,
      elapsed,
      totalWrites,
      perDevPerSec,
      maxPerDev,
      ratio,
      kept,
      wrong,
    };
  } finally {
    await twinSim?.stop();
    await sim.stop();
    await informer.stop?.();
    await kube.close();
  }
}

const edgecloud = edgecloudChoice({ pki, devices: true, certPort: 0, nofile: 65536 });
const cc = cloudcoreChoice(cloudcoreBin(values.cloudcore));
const e = await run(edgecloud);
const c = cc ? await run(cc) : undefined;
const { sent, elapsed, totalWrites, perDevPerSec, maxPerDev, ratio, kept, wrong } = e;
const rows: (string | number)[][] = [
  ["measure", "value"],
  ["devices", devices],
  ["edge updates (twin messages sent)", sent],
  ["edge updates per device per second", (sent / devices / elapsed).toFixed(2)],
  ["DeviceStatus writes", totalWrites],
  ["writes per device per second (mean)", perDevPerSec.toFixed(2)],
  ["writes per device per second (max)", maxPerDev.toFixed(2)],
  ["coalescing ratio (messages / writes)", ratio.toFixed(1)],
  ["devices whose last value was kept", `${kept}/${devices}`],
];
console.log();
printTable(rows);
if (wrong.length) console.log("not kept:", wrong.join("; "));
if (c?.wrong.length) console.log(`${c.label} not kept:`, c.wrong.join("; "));
const compare = [
  ["figure", "edgecloud", c?.label ?? "cloudcore", "edgecloud / cloudcore"],
  sideBySide("edge twin updates", sent, c?.sent, 0),
  sideBySide("DeviceStatus writes", totalWrites, c?.totalWrites, 0),
  sideBySide(
    "API writes per twin update",
    totalWrites / sent,
    c ? c.totalWrites / c.sent : undefined,
    3,
  ),
  sideBySide("writes per device per second (max)", maxPerDev, c?.maxPerDev, 2),
  sideBySide("devices whose last value was kept", kept, c?.kept, 0),
  sideBySide("writes still landing after the edges stopped, s", e.settleS, c?.settleS, 1),
];
console.log();
printTable(compare);
await writeResult({
  scenario: "twins",
  command: `deno task bench:twins ${Deno.args.join(" ")}`.trim(),
  headline: {
    devices,
    hz,
    messages: sent,
    writes: totalWrites,
    coalescingRatio: Math.round(ratio * 10) / 10,
    writesPerDevicePerSec: Math.round(perDevPerSec * 100) / 100,
    maxWritesPerDevicePerSec: Math.round(maxPerDev * 100) / 100,
    lastValueKept: kept === devices,
    cloudcore: c ? c.label : "not run",
    cloudcoreWrites: c ? c.totalWrites : "not run",
    cloudcoreLastValueKept: c ? `${c.kept}/${devices}` : "not run",
  },
  table: rows,
  compare,
  targets: [
    {
      name: "PATCHes per device per second",
      target: "<= 1",
      value: maxPerDev.toFixed(2),
      met: maxPerDev <= 1.05,
    },
    {
      name: "last value kept",
      target: "all devices",
      value: `${kept}/${devices}`,
      met: kept === devices,
    },
  ],
  details: { wrong, cloudcore: c ?? "not run" },
  notes: [
    c
      ? `${c.label} ran the same work against ${cloudcoreApi()}`
      : "cloudcore: not run (give --cloudcore <path> or CLOUDCORE_BIN)",
  ],
});
