/**
 * Scenario `startup`: how long `edgecloud serve` on the embedded API takes from spawn to its
 * "edgecloud ready" log line (issue 23: ≤ 1 s with a warm module cache). Each round, in the same
 * run and alternating: `deno run` of a trivial script with the same flags (the Deno floor: process
 * start, permissions, module graph of one file), a cold start (fresh data dir: KV created, CA and
 * server certificate generated, CRDs and the default objects written), a warm start (that data
 * dir again), and the warm start once more through launch.ts, the launcher behind `deno task
 * start` (it works out the permissions from the config, then starts `deno run <them> main.ts
 * serve`). Every hub listens on 127.0.0.1 port 0 (QUIC and the CSI socket off), as the harness
 * configures its serve children. Besides wall time, each start's CPU time at ready (user +
 * system, from /proc) is kept: it varies far less than wall time on a shared machine.
 *
 * Medians over `--rounds`; the first round also warms Deno's module cache, so it is not counted
 * unless `--count-first`. `--compare DIR` adds the cold, warm and launcher starts of another
 * checkout (e.g. `git archive <commit>` unpacked) to every round, so a before/after ratio comes
 * from one run. `--keep-logs` keeps the children's logs in the temp dir (printed at the end).
 * `--profile` adds one more warm start with the V8 inspector, sampled from the program's first
 * line to its ready line: top files by self time printed, the profile written to
 * bench/results/startup-warm.cpuprofile (open it in Chrome DevTools).
 *
 *   deno task bench:startup [--rounds 10] [--compare DIR] [--keep-logs] [--profile]
 */
import { parseArgs } from "node:util";
import { DENO_FLAGS, writeServeConfig } from "../../harness/serve_process.ts";
import { readLines } from "../../harness/lines.ts";
import { cpuSeconds } from "../../harness/proc.ts";
import { CpuProfiler, printTopFiles, type ProfileSummary } from "../lib/cpu_profile.ts";
import { printTable, writeResult } from "../lib/report.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "10" },
    "count-first": { type: "boolean", default: false },
    "keep-logs": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    compare: { type: "string" },
  },
});
const ROUNDS = Number(values.rounds);
const TARGET_MS = 1000;

/** The checkout measured, and the one compared with (`--compare`). */
const HERE = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const OTHER = values.compare?.replace(/\/$/, "");
/** deno.json's `start` task, which finds `deno` on PATH (as `deno task` sets it). */
const LAUNCH_FLAGS = [
  "run",
  "--allow-read",
  "--allow-run=deno",
  "--allow-env=NOTIFY_SOCKET",
  "--ignore-env",
];
const PATH = `${Deno.execPath().replace(/\/[^/]*$/, "")}:${Deno.env.get("PATH") ?? ""}`;
const root = await Deno.makeTempDir({ prefix: "bench-startup-" });
const TRIVIAL = `${root}/trivial.ts`;
await Deno.writeTextFile(TRIVIAL, `console.error("edgecloud ready");\n`);

/** One start's figures: wall ms from spawn to "edgecloud ready", and the child's CPU ms by then. */
interface Start {
  ms: number;
  cpuMs: number;
}

/** Called once the child is spawned, and once it said ready (before it is stopped). */
interface Hooks {
  spawned?: () => Promise<void>;
  ready?: () => Promise<void>;
}

/** Starts a child, waits for a line containing "edgecloud ready", stops it. */
async function timeToReady(args: string[], logFile?: string, hooks: Hooks = {}): Promise<Start> {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", PATH },
  }).spawn();
  const lines: string[] = [];
  let readyAt: number | undefined;
  let cpu = NaN;
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => onReady = resolve);
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const l of readLines(s)) {
      lines.push(l);
      if (readyAt === undefined && l.includes("edgecloud ready")) {
        readyAt = performance.now();
        cpu = cpuSeconds(child.pid) * 1000;
        onReady();
      }
    }
  };
  const done = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const exited = child.status.then((s) => s);
  await hooks.spawned?.();
  const timeout = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, 120_000);
  await Promise.race([ready, exited]);
  if (readyAt !== undefined) await hooks.ready?.();
  try {
    child.kill("SIGTERM");
  } catch { /* already exited */ }
  await exited;
  clearTimeout(timeout);
  await done.catch(() => {});
  if (logFile) await Deno.writeTextFile(logFile, lines.join("\n") + "\n");
  if (readyAt === undefined) {
    throw new Error(`no "edgecloud ready" from ${args.join(" ")}:\n${lines.slice(-10).join("\n")}`);
  }
  return { ms: readyAt - t0, cpuMs: cpu };
}

const serveArgs = (repo: string, dir: string, config: string) => [
  ...DENO_FLAGS,
  `${repo}/main.ts`,
  "serve",
  "--config",
  config,
  "--data-dir",
  `${dir}/data`,
];

const launchArgs = (repo: string, dir: string, config: string) => [
  ...LAUNCH_FLAGS,
  `${repo}/launch.ts`,
  "serve",
  "--config",
  config,
  "--data-dir",
  `${dir}/data`,
];

/** One kind of start; `run` gets the round's directory and config. */
interface Series {
  key: string;
  label: string;
  run: (dir: string, config: string, log: (kind: string) => string | undefined) => Promise<Start>;
}

/** Cold, warm and launcher starts of one checkout (a data dir of its own each round). */
function starts(repo: string, tag: string, suffix: string): Series[] {
  const data = (dir: string) => `${dir}/${tag || "here"}`;
  return [
    {
      key: `cold${tag}`,
      label: `edgecloud serve, cold (new data dir)${suffix}`,
      run: (dir, config, log) => timeToReady(serveArgs(repo, data(dir), config), log(`cold${tag}`)),
    },
    {
      key: `warm${tag}`,
      label: `edgecloud serve, warm (same data dir)${suffix}`,
      run: (dir, config, log) => timeToReady(serveArgs(repo, data(dir), config), log(`warm${tag}`)),
    },
    {
      key: `launch${tag}`,
      label: `warm through launch.ts (deno task start)${suffix}`,
      run: (dir, config, log) =>
        timeToReady(launchArgs(repo, data(dir), config), log(`launch${tag}`)),
    },
  ];
}

/** The series, in the order each round runs them. */
const SERIES: Series[] = [
  {
    key: "floor",
    label: "deno run, trivial script (floor)",
    run: () => timeToReady([...DENO_FLAGS, TRIVIAL]),
  },
  ...starts(HERE, "", ""),
  ...(OTHER ? starts(OTHER, "-compared", ` [${OTHER}]`) : []),
];
const runs: Record<string, Start[]> = Object.fromEntries(SERIES.map((s) => [s.key, []]));

for (let r = 0; r <= ROUNDS; r++) {
  const dir = `${root}/r${r}`;
  const config = await writeServeConfig(dir);
  const log = values["keep-logs"] ? (kind: string) => `${dir}/${kind}.log` : () => undefined;
  const round: Record<string, Start> = {};
  for (const s of SERIES) round[s.key] = await s.run(dir, config, log);
  if (!values["keep-logs"]) await Deno.remove(dir, { recursive: true }).catch(() => {});
  const counted = r > 0 || values["count-first"];
  console.log(
    `round ${r}${counted ? "" : " (cache warm-up, not counted)"}: ` +
      SERIES.map(({ key }) => `${key} ${round[key].ms.toFixed(0)} ms`).join(", "),
  );
  if (!counted) continue;
  for (const { key } of SERIES) runs[key].push(round[key]);
}
/** One warm start under the inspector, profiled from its first line to ready. */
async function profileWarmStart(): Promise<ProfileSummary> {
  const dir = `${root}/profile`;
  const config = await writeServeConfig(dir);
  await timeToReady(serveArgs(HERE, dir, config)); // the data dir, so the next start is warm
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const args = serveArgs(HERE, dir, config);
  args.splice(DENO_FLAGS.length, 0, `--inspect-wait=127.0.0.1:${port}`);
  let profiler: CpuProfiler | undefined;
  let summary: ProfileSummary | undefined;
  await timeToReady(args, undefined, {
    spawned: async () => {
      for (let i = 0; !profiler; i++) {
        try {
          profiler = await CpuProfiler.attach(port);
        } catch (err) {
          if (i > 200) throw err;
          await new Promise((r) => setTimeout(r, 25));
        }
      }
      await profiler.start();
      await profiler.resume();
    },
    ready: async () => {
      summary = await profiler!.stop(
        new URL("../results/startup-warm.cpuprofile", import.meta.url).pathname,
      );
    },
  });
  return summary!;
}

const profile = values.profile ? await profileWarmStart() : undefined;
if (profile) printTopFiles(profile, "warm start");
if (values["keep-logs"]) console.log(`logs kept in ${root}`);
else await Deno.remove(root, { recursive: true }).catch(() => {});

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const med = (key: string, f: keyof Start = "ms") => median(runs[key].map((s) => s[f]));
const floorMs = med("floor");
const n = runs.floor.length;
const table: (string | number)[][] = [
  [`start (median of ${n})`, "ms to ready", "× deno floor", "min ms", "max ms", "CPU ms"],
  ...SERIES.map(({ key, label }) => {
    const xs = runs[key].map((s) => s.ms);
    const cpu = med(key, "cpuMs");
    return [
      label,
      med(key).toFixed(0),
      (med(key) / floorMs).toFixed(2),
      Math.min(...xs).toFixed(0),
      Math.max(...xs).toFixed(0),
      // launch.ts's figure is the launcher's own: the hub is its child.
      Number.isFinite(cpu) ? cpu.toFixed(0) : "-",
    ];
  }),
];
printTable(table);
const warmMs = med("warm");
await writeResult({
  scenario: "startup",
  command: `deno task bench:startup --rounds ${ROUNDS}${OTHER ? ` --compare ${OTHER}` : ""}`,
  headline: {
    floorMs: Math.round(floorMs),
    coldMs: Math.round(med("cold")),
    warmMs: Math.round(warmMs),
    launchMs: Math.round(med("launch")),
    warmCpuMs: Math.round(med("warm", "cpuMs")),
    warmOverFloor: Math.round((warmMs / floorMs) * 100) / 100,
    ...(OTHER
      ? {
        comparedWarmMs: Math.round(med("warm-compared")),
        comparedLaunchMs: Math.round(med("launch-compared")),
      }
      : {}),
  },
  table,
  targets: [{
    name: "start to ready (warm)",
    target: "<= 1 s",
    value: `${(warmMs / 1000).toFixed(2)} s`,
    met: warmMs <= TARGET_MS,
  }],
  details: { runs, flags: DENO_FLAGS, ...(profile ? { profile } : {}) },
  notes: [
    'spawn to the "edgecloud ready" log line; embedded API on Deno KV, every module enabled ' +
    "as by default, listeners on 127.0.0.1 port 0, QUIC and the CSI socket off",
    "deno floor: `deno run` with the same flags of a script that prints the same line",
    "CPU ms: user + system time of the started process (all threads) when it said ready; " +
    "for launch.ts the launcher's own, its hub child not included",
  ],
});
Deno.exit(0);
