/**
 * Scenario `sessions`: how many live mTLS WebSocket edge sessions one hub process holds, and its
 * RSS per session above the idle process.
 *
 *   deno task bench:sessions [--target 19800] [--step 2000] [--max-rss-mib 12288]
 *
 * The hub (embedded API + CloudHub + EdgeController + SyncController) runs in its own process;
 * simulated nodes (15 s keepalives, no other traffic) connect from worker processes in steps.
 * After each step the hub's RSS is sampled; the run stops at the target, at the first step that
 * does not fully connect, or when the hub's RSS passes the memory bound. All sessions are then
 * held for 20 s (more than one keepalive period) and counted again.
 *
 * File descriptors: each process's soft limit is raised to its hard limit (`ulimit -n`) by a
 * bash wrapper; on this machine the hard limit is 20 000, which caps one process near 19 900
 * sockets, hence the default target.
 */
import { parseArgs } from "node:util";
import { spawnHub } from "../../harness/hub_launcher.ts";
import { createBenchPki } from "../../harness/pki.ts";
import { startFleet } from "../lib/sim_workers.ts";
import { mib, printTable, sleep, writeResult } from "../lib/report.ts";
import { openFilesLimit } from "../../harness/proc.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    target: { type: "string", default: "19800" },
    step: { type: "string", default: "2000" },
    "max-rss-mib": { type: "string", default: "12288" },
    hold: { type: "string", default: "20" },
  },
});
const target = Number(values.target);
const step = Number(values.step);
const maxRss = Number(values["max-rss-mib"]) * 1048576;

const dataDir = await Deno.makeTempDir({ prefix: "bench-sessions-" });
const pki = await createBenchPki();
const hub = await spawnHub({
  pki,
  dataDir,
  nofile: 1_048_576,
  keepaliveInterval: 30,
  v8Flags: ["--max-old-space-size=16384"],
});
await sleep(3000);
const idle = hub.rss();
console.log(`hub pid ${hub.pid} idle RSS ${mib(idle)} MiB`);

const rows: (string | number)[][] = [["sessions", "hub RSS MiB", "KB/session", "connect s"]];
const steps: { sessions: number; rss: number; kbPerSession: number; connectS: number }[] = [];
let reached = 0;
let stopReason = "target reached";
// One fleet per step keeps each worker process small; step k connects `step` more nodes.
const fleets = [];
try {
  while (reached < target) {
    const n = Math.min(step, target - reached);
    const fleet = await startFleet({
      hub,
      dataDir,
      nodes: n,
      perWorker: n,
      prefix: `s${fleets.length}-`,
      sim: {
        heartbeat: 15,
        register: false,
        nodeStatusInterval: 0,
        leaseInterval: 0,
        podStatus: false,
        connectConcurrency: 64,
        reconnectDelayMs: 5_000,
      },
    });
    fleets.push(fleet);
    const t0 = performance.now();
    await fleet.start();
    try {
      await fleet.waitFor((s) => s.connected === n, 120_000, `${n} sessions`);
    } catch (err) {
      stopReason = `step did not fully connect: ${(err as Error).message.slice(0, 200)}`;
      reached += (await fleet.stats()).connected;
      break;
    }
    reached += n;
    const connectS = (performance.now() - t0) / 1000;
    await sleep(2000);
    const rss = hub.rss();
    const kb = (rss - idle) / reached / 1024;
    steps.push({ sessions: reached, rss, kbPerSession: kb, connectS });
    rows.push([reached, mib(rss), kb.toFixed(1), connectS.toFixed(1)]);
    console.log(rows[rows.length - 1].join("\t"));
    if (rss > maxRss) {
      stopReason = `hub RSS ${mib(rss)} MiB passed the ${values["max-rss-mib"]} MiB bound`;
      break;
    }
  }
  // Hold across more than one keepalive period: sessions must survive, not just connect.
  await sleep(Number(values.hold) * 1000);
  let live = 0;
  let reconnects = 0;
  for (const f of fleets) {
    const s = await f.stats();
    live += s.connected;
    reconnects += s.reconnects;
  }
  const rss = hub.rss();
  const kb = (rss - idle) / Math.max(1, live) / 1024;
  rows.push([`${live} (after ${values.hold} s hold)`, mib(rss), kb.toFixed(1), ""]);
  console.log();
  printTable(rows);
  console.log(`stop: ${stopReason}; reconnects during the hold: ${reconnects}`);
  await writeResult({
    scenario: "sessions",
    command: `deno task bench:sessions ${Deno.args.join(" ")}`.trim(),
    headline: {
      maxSessions: live,
      kbPerSession: Math.round(kb * 10) / 10,
      idleRssMiB: Number(mib(idle)),
      rssMiB: Number(mib(rss)),
      reconnectsDuringHold: reconnects,
      stopReason,
    },
    table: rows,
    targets: [
      { name: "sessions", target: ">= 20000", value: String(live), met: live >= 20_000 },
      {
        name: "RSS per session",
        target: "<= 60 KB",
        value: `${kb.toFixed(1)} KB`,
        met: kb <= 60,
      },
    ],
    details: { steps, idleRss: idle },
    notes: [
      `open-files limit on this machine: ${openFilesLimit()}`,
      "hub keepaliveInterval 30 s, edge keepalive 15 s; nodes do not register (sessions only)",
    ],
  });
} finally {
  for (const f of fleets) await f.stop().catch(() => {});
  await hub.kill("SIGTERM");
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
}
