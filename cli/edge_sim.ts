/**
 * `edgecloud edge-sim`: runs N simulated edge nodes against a hub on this machine and prints a
 * JSON summary on stdout (a live progress line goes to stderr).
 *
 * ```
 * edgecloud edge-sim --nodes 1000 --server 127.0.0.1:10000 --cert-server 127.0.0.1:10002 \
 *   --token "$(edgecloud token)" --duration 60 --ramp 200
 * ```
 *
 * Each node bootstraps by token once (cached under `--cache-dir`, so later runs reuse the
 * certificates). Exit codes: 0 done, 1 runtime error, 2 usage error.
 */
import { parseArgs } from "node:util";
import { EdgeSimUsageError } from "./args.ts";
import {
  assertLoopback,
  MAX_SIM_DURATION_S,
  MAX_SIM_NODES,
  obtainCredentials,
  runEdgeSim,
  SimOptionsError,
} from "../edge/sim/mod.ts";

/** Usage text of `edgecloud edge-sim`. */
export const EDGE_SIM_USAGE =
  `usage: edgecloud edge-sim --server HOST:PORT --cert-server HOST:PORT --token TOKEN [flags]

Simulated edge nodes against a hub on this machine (loopback only).

  --nodes N                 nodes to run (1..${MAX_SIM_NODES}, default 10)
  --server HOST:PORT        CloudHub WebSocket port (or QUIC port with --transport quic)
  --cert-server HOST:PORT   cert server for the token bootstrap (default: server host, port 10002)
  --token TOKEN             join token (edgecloud token); or --token-file FILE
  --duration S              run length in seconds (default 60, max ${MAX_SIM_DURATION_S})
  --ramp R                  connections started per second (default 0: as fast as possible)
  --concurrency C           connects in flight at once (default 256)
  --transport ws|quic       default ws
  --heartbeat S             keepalive period (default 15)
  --node-status-interval S  nodestatus period (default 10; 0 disables)
  --lease-interval S        lease renewal period (default 10; 0 disables)
  --devices D               devices per node reporting twins (default 0)
  --twin-hz H               twin reports per device per second (default 1)
  --jitter F                ± fraction on every period (default 0.1)
  --reconnect-delay MS      delay before reconnecting after a drop (default 2 × heartbeat)
  --prefix P                node names are <P><i> (default sim-)
  --cache-dir DIR           certificate cache (default .edgecloud/edge-sim)
  --shared-cert             one certificate for all nodes (hub with authorization off)
  --no-register             skip the node insert on first connect (pure session load)
  --progress-interval MS    progress line period (default 1000; 0 disables)
`;

export { EdgeSimUsageError };

/** Parsed `edge-sim` flags. */
export interface EdgeSimArgs {
  nodes: number;
  server: string;
  certServer: string;
  token: string;
  /** `--token-file`, when the token came from a file. */
  tokenFile?: string;
  durationS: number;
  rampPerSec: number;
  concurrency: number;
  transport: "ws" | "quic";
  heartbeat: number;
  nodeStatusInterval: number;
  leaseInterval: number;
  devices: number;
  twinHz: number;
  jitter: number;
  reconnectDelayMs?: number;
  prefix: string;
  cacheDir: string;
  sharedCert: boolean;
  register: boolean;
  progressIntervalMs: number;
  help: boolean;
}

function num(name: string, raw: string | undefined, def: number, min = 0): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) {
    throw new EdgeSimUsageError(`--${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** Parses `edge-sim` flags (without the subcommand). @throws EdgeSimUsageError */
export async function parseEdgeSimArgs(argv: string[]): Promise<EdgeSimArgs> {
  const str = { type: "string" } as const;
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        nodes: str,
        server: str,
        "cert-server": str,
        token: str,
        "token-file": str,
        duration: str,
        ramp: str,
        concurrency: str,
        transport: str,
        heartbeat: str,
        "node-status-interval": str,
        "lease-interval": str,
        devices: str,
        "twin-hz": str,
        jitter: str,
        "reconnect-delay": str,
        prefix: str,
        "cache-dir": str,
        "shared-cert": { type: "boolean" },
        "no-register": { type: "boolean" },
        "progress-interval": str,
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    throw new EdgeSimUsageError((err as Error).message);
  }
  const help = values.help ?? false;
  const transport = values.transport ?? "ws";
  if (transport !== "ws" && transport !== "quic") {
    throw new EdgeSimUsageError(`--transport must be ws or quic, got ${JSON.stringify(transport)}`);
  }
  let token = values.token ?? "";
  if (!token && values["token-file"]) {
    token = (await Deno.readTextFile(values["token-file"])).trim();
  }
  if (!help && !values.server) throw new EdgeSimUsageError("--server HOST:PORT is required");
  if (!help && !token) throw new EdgeSimUsageError("--token (or --token-file) is required");
  const server = values.server ?? "";
  const host = server.slice(0, Math.max(0, server.lastIndexOf(":")));
  const nodes = num("nodes", values.nodes, 10, 1);
  if (!Number.isInteger(nodes) || nodes > MAX_SIM_NODES) {
    throw new EdgeSimUsageError(`--nodes must be an integer in 1..${MAX_SIM_NODES}`);
  }
  const durationS = num("duration", values.duration, 60, 1);
  if (durationS > MAX_SIM_DURATION_S) {
    throw new EdgeSimUsageError(`--duration must be at most ${MAX_SIM_DURATION_S} s`);
  }
  return {
    nodes,
    server,
    certServer: values["cert-server"] ?? `${host}:10002`,
    token,
    tokenFile: values["token-file"],
    durationS,
    rampPerSec: num("ramp", values.ramp, 0),
    concurrency: num("concurrency", values.concurrency, 256, 1),
    transport,
    heartbeat: num("heartbeat", values.heartbeat, 15),
    nodeStatusInterval: num("node-status-interval", values["node-status-interval"], 10),
    leaseInterval: num("lease-interval", values["lease-interval"], 10),
    devices: num("devices", values.devices, 0),
    twinHz: num("twin-hz", values["twin-hz"], 1),
    jitter: num("jitter", values.jitter, 0.1),
    reconnectDelayMs: values["reconnect-delay"] === undefined
      ? undefined
      : num("reconnect-delay", values["reconnect-delay"], 0),
    prefix: values.prefix ?? "sim-",
    cacheDir: values["cache-dir"] ?? ".edgecloud/edge-sim",
    sharedCert: values["shared-cert"] ?? false,
    register: !(values["no-register"] ?? false),
    progressIntervalMs: num("progress-interval", values["progress-interval"], 1000),
    help,
  };
}

/** Where the command writes. */
export interface EdgeSimIo {
  out(text: string): void;
  /** Progress and errors. */
  err(text: string): void;
  /** Overwrite the progress line in place (stderr is a terminal). */
  tty: boolean;
  /** Stops the run early (SIGINT in the command line). */
  signal?: AbortSignal;
}

const enc = new TextEncoder();

function defaultIo(): EdgeSimIo {
  const ac = new AbortController();
  try {
    Deno.addSignalListener("SIGINT", () => ac.abort());
  } catch {
    // no signal support: run to the end
  }
  return {
    out: (t) => console.log(t),
    err: (t) => Deno.stderr.writeSync(enc.encode(t)),
    tty: Deno.stderr.isTerminal(),
    signal: ac.signal,
  };
}

/**
 * Runs `edgecloud edge-sim` with `argv` (after the subcommand) and returns the exit code.
 *
 * @example
 * ```ts
 * // in the command dispatcher:
 * if (argv[0] === "edge-sim") return await runEdgeSimCli(argv.slice(1));
 * ```
 */
export async function runEdgeSimCli(argv: string[], io: EdgeSimIo = defaultIo()): Promise<number> {
  let args: EdgeSimArgs;
  try {
    args = await parseEdgeSimArgs(argv);
  } catch (err) {
    io.err(`edge-sim: ${(err as Error).message} (see edgecloud edge-sim --help)\n`);
    return 2;
  }
  if (args.help) {
    io.out(EDGE_SIM_USAGE);
    return 0;
  }
  try {
    // Loopback only, checked before anything is dialled (the bootstrap included).
    assertLoopback(args.server);
    assertLoopback(args.certServer);
    const names = Array.from({ length: args.nodes }, (_, i) => `${args.prefix}${i}`);
    const creds = await obtainCredentials(names, {
      certServer: args.certServer,
      token: args.token,
      cacheDir: args.cacheDir,
      shared: args.sharedCert,
      onProgress: (done, total) => {
        if (args.progressIntervalMs > 0 && (done === total || done % 100 === 0)) {
          io.err(`bootstrap ${done}/${total}${io.tty ? "\r" : "\n"}`);
        }
      },
    });
    const summary = await runEdgeSim({
      nodes: args.nodes,
      server: args.server,
      credentials: (n) => creds.get(n)!,
      namePrefix: args.prefix,
      transport: args.transport,
      durationS: args.durationS,
      rampPerSec: args.rampPerSec,
      connectConcurrency: args.concurrency,
      heartbeat: args.heartbeat,
      nodeStatusInterval: args.nodeStatusInterval,
      leaseInterval: args.leaseInterval,
      devices: args.devices,
      twinHz: args.twinHz,
      jitter: args.jitter,
      register: args.register,
      reconnectDelayMs: args.reconnectDelayMs,
      progressIntervalMs: args.progressIntervalMs || undefined,
      progress: args.progressIntervalMs > 0
        ? (line) => io.err(io.tty ? `\r\x1b[2K${line}` : `${line}\n`)
        : undefined,
      signal: io.signal,
    });
    if (io.tty && args.progressIntervalMs > 0) io.err("\n");
    io.out(JSON.stringify(summary, null, 2));
    return 0;
  } catch (err) {
    const e = err as Error;
    io.err(`edge-sim: ${e instanceof SimOptionsError ? "" : `${e.name}: `}${e.message}\n`);
    return e instanceof SimOptionsError ? 2 : 1;
  }
}

if (import.meta.main) {
  Deno.exit(await runEdgeSimCli(Deno.args));
}
