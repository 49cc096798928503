/**
 * Runs a simulated fleet split over child processes ({@link ./sim_worker.ts}), each with at most
 * `perWorker` nodes, and aggregates their stats.
 *
 * @example
 * ```ts
 * const fleet = await startFleet({ hub, nodes: 10_000, sim: { heartbeat: 15 } });
 * await fleet.start();
 * await fleet.waitFor((s) => s.connected === 10_000, 300_000);
 * await fleet.stop();
 * ```
 */
import type { SimSummary } from "../../edge/sim/mod.ts";
import type { HubProcess } from "../../harness/hub_launcher.ts";
import type { SimWorkerConfig, SimWorkerStats } from "./sim_worker.ts";
import { BENCH_CHILD_FLAGS } from "../../harness/flags.ts";
import { readLines } from "../../harness/lines.ts";
import { trackChild } from "../../harness/children.ts";

/**
 * A fleet that only holds sessions (bench:sessions, bench:heap): 15 s keepalives, no
 * registration, status, lease or pod traffic.
 */
export const SESSIONS_ONLY: Partial<SimWorkerConfig["sim"]> = {
  heartbeat: 15,
  register: false,
  nodeStatusInterval: 0,
  leaseInterval: 0,
  podStatus: false,
  connectConcurrency: 64,
  reconnectDelayMs: 5_000,
};

/** Options of {@link startFleet}. */
export interface FleetOptions {
  hub: HubProcess;
  /** The hub's data dir (its pki/ holds the CA the workers sign node certs with). */
  dataDir: string;
  nodes: number;
  /** Nodes per worker process (default 10 000). */
  perWorker?: number;
  /** Simulator options for every worker (nodes and namePrefix are set per worker). */
  sim: Partial<SimWorkerConfig["sim"]>;
  /** Bootstrap nodes through the hub's cert server (hub.certServer, hub.token) instead. */
  bootstrap?: boolean;
  /** Name prefix (default `sim-`); worker k uses `<prefix>w<k>-`. */
  prefix?: string;
}

interface Worker {
  child: Deno.ChildProcess;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  lines: AsyncIterator<string>;
}

/** A fleet of worker processes. */
export interface Fleet {
  workers: number;
  start(): Promise<void>;
  stats(): Promise<SimWorkerStats>;
  drop(): Promise<void>;
  /** Polls stats every 250 ms until `pred` holds; returns the time it took (ms). */
  waitFor(pred: (s: SimWorkerStats) => boolean, timeoutMs: number, what: string): Promise<number>;
  stop(): Promise<SimSummary[]>;
}

/** Spawns the worker processes; resolves once each has issued its certificates. */
export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  const per = opts.perWorker ?? 10_000;
  const count = Math.ceil(opts.nodes / per);
  const script = new URL("./sim_worker.ts", import.meta.url).pathname;
  const workers: Worker[] = [];
  for (let k = 0; k < count; k++) {
    const nodes = Math.min(per, opts.nodes - k * per);
    const cfg: SimWorkerConfig = {
      server: opts.hub.server,
      caCertPath: `${opts.dataDir}/pki/ca.crt`,
      caKeyPath: `${opts.dataDir}/pki/ca.key`,
      ...(opts.bootstrap
        ? { bootstrap: { certServer: opts.hub.certServer, token: opts.hub.token } }
        : {}),
      sim: { ...opts.sim, nodes, namePrefix: `${opts.prefix ?? "sim-"}w${k}-` },
    };
    const child = trackChild(new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-check",
        "--unstable-kv",
        "--unstable-net",
        ...BENCH_CHILD_FLAGS,
        "--v8-flags=--max-old-space-size=8192",
        script,
        JSON.stringify(cfg),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn());
    workers.push({
      child,
      writer: child.stdin.getWriter(),
      lines: readLines(child.stdout)[Symbol.asyncIterator](),
    });
  }
  const enc = new TextEncoder();
  const call = async <T>(w: Worker, cmd: string): Promise<T> => {
    await w.writer.write(enc.encode(JSON.stringify({ cmd }) + "\n"));
    const { value, done } = await w.lines.next();
    if (done) throw new Error(`sim worker exited during ${cmd}`);
    return JSON.parse(value) as T;
  };
  // Wait for each worker's ready line (certificates issued).
  for (const w of workers) {
    const { done } = await w.lines.next();
    if (done) throw new Error("sim worker exited before it was ready");
  }
  const all = <T>(cmd: string) => Promise.all(workers.map((w) => call<T>(w, cmd)));
  const stats = async (): Promise<SimWorkerStats> => {
    const parts = await all<SimWorkerStats>("stats");
    const sum = {} as Record<string, number>;
    for (const p of parts) {
      for (const [k, v] of Object.entries(p)) sum[k] = (sum[k] ?? 0) + (v as number);
    }
    return sum as unknown as SimWorkerStats;
  };
  return {
    workers: count,
    start: async () => void await all("start"),
    stats,
    drop: async () => void await all("drop"),
    async waitFor(pred, timeoutMs, what) {
      const t0 = performance.now();
      for (;;) {
        if (pred(await stats())) return performance.now() - t0;
        if (performance.now() - t0 > timeoutMs) {
          throw new Error(`fleet: timed out waiting for ${what}: ${JSON.stringify(await stats())}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    async stop() {
      const out = await all<SimSummary>("stop");
      await Promise.all(workers.map((w) => w.child.status));
      return out;
    },
  };
}
