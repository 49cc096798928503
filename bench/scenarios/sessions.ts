/**
 * Scenario `sessions`: how many live mTLS WebSocket edge sessions one hub process holds, and its
 * RSS per session above the idle process; edgecloud's hub, then real cloudcore on the same work
 * when its path is given.
 *
 *   deno task bench:sessions [--target 19800] [--step 2000] [--max-rss-mib 12288] [--cloudcore <path>]
 *
 * edgecloud's hub (embedded API + CloudHub + EdgeController + SyncController) runs in its own
 * process; cloudcore (CLOUDCORE_BIN or `--cloudcore`) runs with an edgecloud API-only process
 * beside it, whose memory is not counted. Every node bootstraps as a real edge does (join token
 * → CSR → its own certificate from the hub's cert server), then holds an mTLS session with 15 s
 * keepalives and no other traffic, from worker processes, in steps. After each step the hub's
 * RSS is sampled; a hub's run stops at the target, at the first step that does not fully
 * connect, or when its RSS passes the memory bound. All sessions are then held for 20 s (more
 * than one keepalive period) and counted again.
 *
 * File descriptors: each process's soft limit is raised to its hard limit (`ulimit -n`) by a
 * bash wrapper; on this machine the hard limit is 20 000, which caps one process near 19 900
 * sockets, hence the default target.
 */
import { parseArgs } from "node:util";
import type { HubProcess } from "../../harness/hub_launcher.ts";
import { createBenchPki } from "../../harness/pki.ts";
import { SESSIONS_ONLY, startFleet } from "../lib/sim_workers.ts";
import { mib, printTable, sleep, writeResult } from "../lib/report.ts";
import { openFilesLimit } from "../../harness/proc.ts";
import {
  cloudcoreApi,
  cloudcoreBin,
  cloudcoreChoice,
  edgecloudChoice,
  type HubChoice,
  sideBySide,
  withHub,
} from "../lib/hubs.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    target: { type: "string", default: "19800" },
    step: { type: "string", default: "2000" },
    "max-rss-mib": { type: "string", default: "12288" },
    hold: { type: "string", default: "20" },
    // edgecloud's nodes get certificates signed here by its CA instead of bootstrapping through
    // its cert server (as before Dec 2026), to tell what the bootstrap leaves behind.
    presigned: { type: "boolean", default: false },
    cloudcore: { type: "string" },
  },
});
const target = Number(values.target);
const step = Number(values.step);
const maxRss = Number(values["max-rss-mib"]) * 1048576;
const pki = await createBenchPki();

interface SessionsRun {
  label: string;
  idle: number;
  rss: number;
  live: number;
  kb: number;
  reconnects: number;
  stopReason: string;
  steps: {
    sessions: number;
    rss: number;
    kbPerSession: number;
    connectS: number;
    /** edgecloud's V8 heap in use (live objects and garbage not yet collected), bytes. */
    heapUsed?: number;
  }[];
}

const run = (choice: HubChoice): Promise<SessionsRun> =>
  withHub(choice, "sessions", (hub, dataDir) => measure(choice, hub, dataDir));

async function measure(
  choice: HubChoice,
  hub: HubProcess,
  dataDir: string,
): Promise<SessionsRun> {
  await sleep(3000);
  const idle = hub.rss();
  console.log(`${choice.label}: hub pid ${hub.pid} idle RSS ${mib(idle)} MiB`);
  const steps: SessionsRun["steps"] = [];
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
        bootstrap: !(values.presigned && choice.name === "edgecloud"),
        nodes: n,
        perWorker: n,
        prefix: `s${fleets.length}-`,
        sim: SESSIONS_ONLY,
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
      steps.push({
        sessions: reached,
        rss,
        kbPerSession: kb,
        connectS,
        heapUsed: hub.heap?.().used,
      });
      console.log(
        `${choice.label}\t${reached}\t${mib(rss)} MiB\t${kb.toFixed(1)} KB\t${
          connectS.toFixed(1)
        } s`,
      );
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
    return { label: choice.label, idle, rss, live, kb, reconnects, stopReason, steps };
  } finally {
    for (const f of fleets) await f.stop().catch(() => {});
  }
}

const edgecloud = edgecloudChoice({
  pki,
  certPort: 0,
  nofile: 1_048_576,
  keepaliveInterval: 30,
  v8Flags: ["--max-old-space-size=16384"],
});
const cc = cloudcoreChoice(cloudcoreBin(values.cloudcore));
const e = await run(edgecloud);
const c = cc ? await run(cc) : undefined;

const rows: (string | number)[][] = [[
  "sessions",
  "edgecloud RSS MiB",
  "edgecloud KB/session",
  `${c?.label ?? "cloudcore"} RSS MiB`,
  `${c?.label ?? "cloudcore"} KB/session`,
  "KB/session ratio",
  "connect s (edgecloud / cloudcore)",
  "edgecloud JS heap in use MiB",
]];
const counts = [...new Set([...e.steps, ...(c?.steps ?? [])].map((s) => s.sessions))].sort((
  a,
  b,
) => a - b);
for (const n of counts) {
  const es = e.steps.find((s) => s.sessions === n);
  const cs = c?.steps.find((s) => s.sessions === n);
  rows.push([
    n,
    es ? mib(es.rss) : "-",
    es ? es.kbPerSession.toFixed(1) : "-",
    cs ? mib(cs.rss) : "not run",
    cs ? cs.kbPerSession.toFixed(1) : "not run",
    es && cs ? (es.kbPerSession / cs.kbPerSession).toFixed(2) : "-",
    `${es ? es.connectS.toFixed(1) : "-"} / ${cs ? cs.connectS.toFixed(1) : "-"}`,
    es?.heapUsed ? mib(es.heapUsed) : "-",
  ]);
}
rows.push([
  `after ${values.hold} s hold: ${e.live}${c ? ` / ${c.live}` : ""}`,
  mib(e.rss),
  e.kb.toFixed(1),
  c ? mib(c.rss) : "not run",
  c ? c.kb.toFixed(1) : "not run",
  c ? (e.kb / c.kb).toFixed(2) : "-",
  "",
  "",
]);
console.log();
printTable(rows);
const compare = [
  ["figure", "edgecloud", c?.label ?? "cloudcore", "edgecloud / cloudcore"],
  sideBySide("sessions held", e.live, c?.live, 0),
  sideBySide("idle RSS, MiB", e.idle / 1048576, c ? c.idle / 1048576 : undefined),
  sideBySide(`RSS per session, KB`, e.kb, c?.kb),
];
console.log();
printTable(compare);
for (const r of [e, c]) {
  if (r) {
    console.log(`${r.label} stop: ${r.stopReason}; reconnects during the hold: ${r.reconnects}`);
  }
}
await writeResult({
  scenario: values.presigned ? "sessions-presigned" : "sessions",
  command: `deno task bench:sessions ${Deno.args.join(" ")}`.trim(),
  headline: {
    maxSessions: e.live,
    kbPerSession: Math.round(e.kb * 10) / 10,
    idleRssMiB: Number(mib(e.idle)),
    rssMiB: Number(mib(e.rss)),
    reconnectsDuringHold: e.reconnects,
    stopReason: e.stopReason,
    cloudcore: c ? c.label : "not run",
    cloudcoreSessions: c ? c.live : "not run",
    cloudcoreKbPerSession: c ? Math.round(c.kb * 10) / 10 : "not run",
  },
  table: rows,
  compare,
  targets: [
    { name: "sessions", target: ">= 20000", value: String(e.live), met: e.live >= 20_000 },
    {
      name: "RSS per session",
      target: "<= 30 KB",
      value: `${e.kb.toFixed(1)} KB`,
      met: e.kb <= 30,
    },
  ],
  details: { edgecloud: e, cloudcore: c ?? "not run" },
  notes: [
    `open-files limit on this machine: ${openFilesLimit()}`,
    "keepaliveInterval 30 s on both hubs, edge keepalive 15 s; nodes do not register " +
    "(sessions only); " + (values.presigned
      ? "edgecloud's nodes pre-signed by its CA, cloudcore's bootstrapped through its cert server"
      : "every node bootstrapped through the hub's cert server"),
    c
      ? `${c.label} ran against ${cloudcoreApi()}`
      : "cloudcore: not run (give --cloudcore <path> or CLOUDCORE_BIN)",
  ],
});
