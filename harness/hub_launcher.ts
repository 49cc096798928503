/**
 * Starts {@link ./hub_process.ts} as a child process (so a bench measures the hub's RSS apart
 * from the load generator, and a failure test can SIGKILL it), with the PKI written to files so
 * a restarted hub keeps the CA the edges trust.
 *
 * @example
 * ```ts
 * const pki = await createBenchPki();
 * const hub = await spawnHub({ pki, dataDir });
 * // ... edges against hub.server
 * await hub.kill("SIGKILL");
 * const again = await spawnHub({ pki, dataDir, wsPort: hub.port });
 * ```
 */
import { toPem } from "../pki/mod.ts";
import type { BenchPki } from "./pki.ts";
import { BENCH_CHILD_FLAGS } from "./flags.ts";
import { rssOf } from "./proc.ts";
import { readLines } from "./lines.ts";
import { trackChild } from "./children.ts";

/** Options of {@link spawnHub}. */
export interface SpawnHubOptions {
  pki: BenchPki;
  /** The hub's data dir (KV file); reuse it to restart with the same state. */
  dataDir: string;
  /** WebSocket port (default 0). */
  wsPort?: number;
  /** Start the cert server on this port (0 = any). */
  certPort?: number;
  devices?: boolean;
  /** Run CloudStream (tunnel server on 127.0.0.1:0). */
  stream?: boolean;
  /** Run the embedded control plane's controllers. */
  cluster?: boolean;
  keepaliveInterval?: number;
  /** Soft fd limit to raise to before exec (needs bash; default none). */
  nofile?: number;
  /** Extra V8 flags, e.g. `--max-old-space-size=4096` or `--cpu-prof`. */
  v8Flags?: string[];
  /** Extra deno flags before the script, e.g. `--inspect=127.0.0.1:9339`. */
  denoFlags?: string[];
  /** KubeSyncStore writes in flight (default: the store's own default). */
  syncWriteConcurrency?: number;
  /** Hub log level (default error); logs go to this process's stderr. */
  logLevel?: "debug" | "info" | "warn" | "error";
}

/** A running hub process. */
export interface HubProcess {
  pid: number;
  server: string;
  port: number;
  /** CloudStream's tunnel server ("" without `stream`). */
  tunnelServer: string;
  certServer: string;
  token: string;
  /** The embedded API's kubeconfig (admin). */
  kubeconfigPath: string;
  /** Resident set size in bytes (`ps`), 0 once gone. */
  rss(): number;
  /** The hub's V8 heap (used, total) in bytes from its latest stats line (0 before one). */
  heap?(): { used: number; total: number };
  /** In-process API requests the hub made, from its latest stats line. */
  apiRequests(): number;
  /** Sends `signal` and waits for exit. */
  kill(signal?: Deno.Signal): Promise<void>;
  /** Resolves with the exit status. */
  status: Promise<Deno.CommandStatus>;
}

async function writePki(pki: BenchPki, dir: string): Promise<string[]> {
  const files: Record<string, string> = {
    "ca.crt": pki.ca.certPem,
    "ca.key": toPem(pki.ca.keyDer, "EC PRIVATE KEY"),
    "server.crt": pki.server.certPem,
    "server.key": toPem(pki.server.keyDer, "EC PRIVATE KEY"),
  };
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text, { mode: 0o600 });
  }
  return [
    "--ca-cert",
    `${dir}/ca.crt`,
    "--ca-key",
    `${dir}/ca.key`,
    "--cert",
    `${dir}/server.crt`,
    "--key",
    `${dir}/server.key`,
  ];
}

/** Spawns the hub and waits for its ready line. */
export async function spawnHub(opts: SpawnHubOptions): Promise<HubProcess> {
  await Deno.mkdir(opts.dataDir, { recursive: true });
  const pkiDir = `${opts.dataDir}/pki`;
  await Deno.mkdir(pkiDir, { recursive: true });
  const script = new URL("./hub_process.ts", import.meta.url).pathname;
  const denoArgs = [
    "run",
    "--no-check",
    "--unstable-kv",
    "--unstable-net",
    ...BENCH_CHILD_FLAGS,
    ...(opts.v8Flags?.length ? [`--v8-flags=${opts.v8Flags.join(",")}`] : []),
    ...(opts.denoFlags ?? []),
    script,
    "--data-dir",
    opts.dataDir,
    ...await writePki(opts.pki, pkiDir),
    "--ws-port",
    String(opts.wsPort ?? 0),
    ...(opts.certPort !== undefined ? ["--cert-port", String(opts.certPort)] : []),
    ...(opts.devices ? ["--devices"] : []),
    ...(opts.stream ? ["--stream"] : []),
    ...(opts.cluster ? ["--cluster"] : []),
    ...(opts.logLevel ? ["--log-level", opts.logLevel] : []),
    ...(opts.syncWriteConcurrency
      ? ["--sync-write-concurrency", String(opts.syncWriteConcurrency)]
      : []),
    ...(opts.keepaliveInterval ? ["--keepalive-interval", String(opts.keepaliveInterval)] : []),
  ];
  const deno = Deno.execPath();
  // `exec` keeps the pid the hub's own, so kill() and rss() address the hub, not bash.
  const cmd = opts.nofile
    ? new Deno.Command("bash", {
      args: [
        "-c",
        `ulimit -n ${opts.nofile} 2>/dev/null || ulimit -n $(ulimit -Hn); exec "$0" "$@"`,
        deno,
        ...denoArgs,
      ],
      stdout: "piped",
      stderr: "inherit",
      stdin: "null",
    })
    : new Deno.Command(deno, { args: denoArgs, stdout: "piped", stderr: "inherit", stdin: "null" });
  const child = trackChild(cmd.spawn());
  const lines = readLines(child.stdout);
  const first = await lines.next();
  if (first.done) {
    const st = await child.status;
    throw new Error(`hub process exited (code ${st.code}) before it was ready`);
  }
  const ready: {
    server: string;
    tunnelServer: string;
    certServer: string;
    token: string;
    kubeconfigPath: string;
  } = JSON.parse(first.value);
  // Keep draining stdout so the child never blocks on a full pipe; keep the latest stats.
  let apiRequests = 0;
  let heap = { used: 0, total: 0 };
  const drain = (async () => {
    try {
      for await (const line of lines) {
        if (line.startsWith('{"stats"')) {
          try {
            const st = JSON.parse(line).stats;
            apiRequests = st.apiRequests ?? apiRequests;
            heap = { used: st.heapUsed ?? 0, total: st.heapTotal ?? 0 };
          } catch { /* not ours */ }
        }
      }
    } catch { /* closed */ }
  })();
  const status = child.status.then(async (s) => {
    await drain;
    return s;
  });
  const port = Number(ready.server.slice(ready.server.lastIndexOf(":") + 1));
  return {
    pid: child.pid,
    server: ready.server,
    port,
    tunnelServer: ready.tunnelServer ?? "",
    certServer: ready.certServer,
    token: ready.token,
    kubeconfigPath: ready.kubeconfigPath,
    rss: () => rssOf(child.pid),
    apiRequests: () => apiRequests,
    heap: () => heap,
    async kill(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 15_000);
      await status;
      clearTimeout(timer);
    },
    status,
  };
}
