/**
 * Scenario `heap`: what one more edge session, or one more registered node, costs the hub in
 * memory, and where it goes.
 *
 *   deno task bench:heap [--sizes 2000,4000] [--register] [--bootstrap]
 *     [--snapshot] [--keep-snapshots DIR] [--v8=--flag,--flag] [--name RESULT]
 *
 * The hub runs in its own process with `--inspect` on a loopback port. Simulated nodes connect
 * from worker processes in steps up to each size: sessions only (15 s keepalives, as
 * bench:sessions), or with `--register` registered as in bench:storm (node insert, status every
 * 60 s). `--bootstrap` gives every node its own identity through the hub's cert server (token →
 * CSR → /edge.crt) as real edges get theirs. At each size, after a forced full GC, the hub's RSS
 * and `Deno.memoryUsage()` (JS heap used/total, external) are read; RSS − V8 heap total is the
 * native part (rustls/TLS, sockets, allocator). With `--snapshot` a heap snapshot is taken
 * there too and summarised (bench/lib/heap_snapshot.ts); the difference between two sizes,
 * divided by the nodes added, attributes the per-node JS heap by class and by owner (the
 * nearest session/socket/controller object retaining it). Snapshots inflate RSS afterwards, so
 * RSS figures are best read from a run without `--snapshot`.
 */
import { parseArgs } from "node:util";
import { spawnHub } from "../../harness/hub_launcher.ts";
import { createBenchPki } from "../../harness/pki.ts";
import { type Fleet, SESSIONS_ONLY, startFleet } from "../lib/sim_workers.ts";
import { mib, printTable, sleep, writeResult } from "../lib/report.ts";
import { freePort, Inspector, type MemoryUsage } from "../lib/inspector.ts";
import { diffPer, type HeapSummary, summarizeSnapshot } from "../lib/heap_snapshot.ts";
import { KubeClient } from "../../kube/mod.ts";
import { waitForEdgeNodes } from "../lib/edge_nodes.ts";
import { setLogLevel } from "../../lib/log.ts";

setLogLevel("error");
const { values } = parseArgs({
  args: Deno.args,
  options: {
    sizes: { type: "string", default: "2000,4000" },
    register: { type: "boolean", default: false },
    bootstrap: { type: "boolean", default: false },
    snapshot: { type: "boolean", default: false },
    "keep-snapshots": { type: "string" },
    v8: { type: "string", default: "" },
    settle: { type: "string", default: "8" },
    name: { type: "string" },
  },
});
const sizes = values.sizes.split(",").map(Number);
const mode = values.register ? "registered" : "sessions";
const scenario = values.name ?? `heap-${mode}${values.bootstrap ? "-bootstrap" : ""}`;
// Classes that own what they retain alone (session, connection, socket, controller state).
const OWNERS =
  /^(Session|WsEdgeConnection|InboundQueue|WebSocket|Receiver|Sender|TLSSocket|Socket|TCP|TLSWrap|NodePool|AckQueue|NoAckQueue|SimNode|IncomingMessage|ServerResponse|Informer|SharedInformer|Cache|Store|WatchCache|KubeSyncStore|EdgeController|CloudHub|SessionManager|Dispatcher|Map|Set|HubMetrics|Registry|Histogram|Counter|Gauge|Summary|Bus|Module.*|.*Controller|.*Manager|.*Store|.*Cache|.*Queue)$/;

const dataDir = await Deno.makeTempDir({ prefix: "bench-heap-" });
const snapDir = values["keep-snapshots"] ?? dataDir;
await Deno.mkdir(snapDir, { recursive: true });
const pki = await createBenchPki();
const inspectPort = freePort();
const hub = await spawnHub({
  pki,
  dataDir,
  nofile: 1_048_576,
  keepaliveInterval: 30,
  certPort: values.bootstrap ? 0 : undefined,
  v8Flags: ["--max-old-space-size=16384", ...values.v8.split(",").filter(Boolean)],
  denoFlags: [`--inspect=127.0.0.1:${inspectPort}`],
});
const insp = await Inspector.attach(inspectPort);
const kube = values.register
  ? KubeClient.fromYaml(await Deno.readTextFile(hub.kubeconfigPath), { qps: 0 })
  : undefined;

interface Point {
  nodes: number;
  rss: number;
  mem: MemoryUsage;
  summary?: HeapSummary;
}

async function measure(nodes: number): Promise<Point> {
  await sleep(Number(values.settle) * 1000);
  await insp.collectGarbage();
  await sleep(1000);
  const rss = hub.rss();
  const mem = await insp.memoryUsage();
  const point: Point = { nodes, rss, mem };
  console.log(
    `${nodes} nodes: RSS ${mib(rss)} MiB, heap used ${mib(mem.heapUsed)} / total ${
      mib(mem.heapTotal)
    } MiB, external ${mib(mem.external)} MiB`,
  );
  if (values.snapshot) {
    const file = `${snapDir}/hub-${mode}-${nodes}.heapsnapshot`;
    const bytes = await insp.heapSnapshot(file);
    console.log(`  snapshot ${file} (${mib(bytes)} MiB)`);
    point.summary = await summarizeSnapshot(file, { owners: OWNERS });
    if (!values["keep-snapshots"]) await Deno.remove(file);
  }
  return point;
}

const fleets: Fleet[] = [];
const points: Point[] = [];
try {
  await sleep(3000);
  points.push(await measure(0));
  let reached = 0;
  for (const size of sizes) {
    const n = size - reached;
    const fleet = await startFleet({
      hub,
      dataDir,
      nodes: n,
      perWorker: n,
      prefix: `h${fleets.length}-`,
      bootstrap: values.bootstrap,
      sim: values.register
        ? {
          heartbeat: 15,
          nodeStatusInterval: 60,
          leaseInterval: 0,
          jitter: 0.99,
          connectConcurrency: 64,
          reconnectDelayMs: 5_000,
        }
        : SESSIONS_ONLY,
    });
    fleets.push(fleet);
    await fleet.start();
    await fleet.waitFor((s) => s.connected === n, 300_000, `${n} sessions`);
    reached = size;
    if (kube) {
      const got = await waitForEdgeNodes(kube, size, { timeoutMs: 300_000, pollMs: 1000 });
      if (got < size) throw new Error(`only ${got}/${size} nodes registered`);
    }
    points.push(await measure(size));
  }
  let reconnects = 0;
  for (const f of fleets) reconnects += (await f.stats()).reconnects;

  const kb = (b: number) => (b / 1024).toFixed(1);
  const rows: (string | number)[][] = [[
    "nodes",
    "RSS MiB",
    "heap used MiB",
    "heap total MiB",
    "external MiB",
    "RSS − heap total MiB",
    "KB/node RSS",
    "KB/node heap used",
    "KB/node native",
  ]];
  for (const [i, p] of points.entries()) {
    const prev = points[i - 1];
    const dn = prev ? p.nodes - prev.nodes : 0;
    const per = (f: (q: Point) => number) => (prev && dn ? kb((f(p) - f(prev)) / dn) : "");
    rows.push([
      p.nodes,
      mib(p.rss),
      mib(p.mem.heapUsed),
      mib(p.mem.heapTotal),
      mib(p.mem.external),
      mib(p.rss - p.mem.heapTotal),
      per((q) => q.rss),
      per((q) => q.mem.heapUsed),
      per((q) => q.rss - q.mem.heapTotal),
    ]);
  }
  console.log();
  printTable(rows);
  console.log(`reconnects: ${reconnects}`);

  const attribution: unknown[] = [];
  for (let i = 2; i < points.length; i++) {
    const a = points[i - 1], b = points[i];
    if (!a.summary || !b.summary) continue;
    const dn = b.nodes - a.nodes;
    const byClass = diffPer(a.summary.byClass, b.summary.byClass, dn, 30);
    const owned = diffPer(a.summary.owned, b.summary.owned, dn, 25);
    const snapKb = (b.summary.totalSize - a.summary.totalSize) / dn / 1024;
    console.log(`\nJS heap per added node (${a.nodes} → ${b.nodes}): ${snapKb.toFixed(1)} KB`);
    console.log("by class (bytes/node, instances/node):");
    for (const r of byClass) {
      console.log(
        `  ${r.bytes.toFixed(0).padStart(7)}  ${r.count.toFixed(2).padStart(7)}  ${r.cls}`,
      );
    }
    console.log("by owner (bytes/node, owners/node):");
    for (const r of owned) {
      console.log(
        `  ${r.bytes.toFixed(0).padStart(7)}  ${r.count.toFixed(2).padStart(7)}  ${r.cls}`,
      );
    }
    console.log("retainers of the largest classes:");
    for (const r of byClass.slice(0, 12)) {
      for (const [path, count] of b.summary.retainers[r.cls] ?? []) {
        console.log(`  ${r.cls}: ${count}× ${path}`);
      }
    }
    attribution.push({ from: a.nodes, to: b.nodes, kbPerNode: snapKb, byClass, owned });
  }
  const last = points[points.length - 1], before = points[points.length - 2];
  const dn = last.nodes - before.nodes;
  const kbRss = (last.rss - before.rss) / dn / 1024;
  const kbHeap = (last.mem.heapUsed - before.mem.heapUsed) / dn / 1024;
  const target = values.register ? 40 : 30;
  await writeResult({
    scenario,
    command: `deno task bench:heap ${Deno.args.join(" ")}`.trim(),
    headline: {
      mode,
      bootstrap: values.bootstrap,
      kbPerNodeRss: Math.round(kbRss * 10) / 10,
      kbPerNodeHeapUsed: Math.round(kbHeap * 10) / 10,
      reconnects,
    },
    table: rows,
    targets: [{
      name: values.register ? "memory per registered node" : "memory per session",
      target: `<= ${target} KB`,
      value: `${kbRss.toFixed(1)} KB`,
      met: kbRss <= target,
    }],
    details: {
      points: points.map((p) => ({ nodes: p.nodes, rss: p.rss, mem: p.mem })),
      attribution,
    },
    notes: [
      "marginal cost between the last two sizes, after a forced full GC in the hub",
      values.snapshot ? "heap snapshots were taken: RSS after the first one is inflated" : "",
    ].filter(Boolean),
  });
} finally {
  insp.close();
  for (const f of fleets) await f.stop().catch(() => {});
  await kube?.close();
  await hub.kill("SIGTERM");
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
}
