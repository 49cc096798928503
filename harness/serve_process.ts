/**
 * `edgecloud serve` (main.ts) and real cloudcore as child processes for the comparison benches:
 * each started with its own config on loopback (ports from the OS where the program allows it),
 * ready when its log says so, with its RSS and CPU time readable. cloudcore's path comes from the
 * caller (an env var or flag); nothing here builds it.
 */
import { parse as yamlParse, stringify as yamlStringify } from "yaml";
import { BENCH_CHILD_FLAGS } from "./flags.ts";
import { readLines } from "./lines.ts";
import { cpuSeconds, rssOf } from "./proc.ts";
import { trackChild } from "./children.ts";

/** A running child. */
export interface ChildHub {
  pid: number;
  /** Lines it printed so far (stdout and stderr). */
  lines: string[];
  rss(): number;
  cpu(): number;
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends `signal` (default SIGTERM, SIGKILL after 10 s) and waits for the exit. */
  kill(signal?: Deno.Signal): Promise<void>;
  /** Resolves with the exit status. */
  status: Promise<Deno.CommandStatus>;
}

function start(cmd: string, args: string[], logFile?: string, nofile?: number): ChildHub {
  // With `nofile`, bash raises the fd limit and `exec`s, so the pid stays the child's own.
  const child = trackChild((nofile
    ? new Deno.Command("bash", {
      args: [
        "-c",
        `ulimit -n ${nofile} 2>/dev/null || ulimit -n $(ulimit -Hn); exec "$0" "$@"`,
        cmd,
        ...args,
      ],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    })
    : new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null" })).spawn());
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  // Every line goes to the log file as it arrives, so the log survives a run that ends early.
  const log = logFile
    ? Deno.openSync(logFile, { write: true, create: true, truncate: true })
    : undefined;
  const enc = new TextEncoder();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const l of readLines(s)) {
      if (lines.length < 20_000) lines.push(l);
      log?.writeSync(enc.encode(l + "\n"));
      for (const w of waiters) w();
    }
  };
  const done = Promise.all([pump(child.stdout), pump(child.stderr)]).catch(() => {}).finally(() =>
    log?.close()
  );
  return {
    pid: child.pid,
    lines,
    rss: () => rssOf(child.pid),
    cpu: () => cpuSeconds(child.pid),
    waitFor(re, timeoutMs = 120_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          for (const l of lines) {
            const m = l.match(re);
            if (m) {
              waiters.delete(check);
              clearTimeout(timer);
              return resolve(m);
            }
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${re}: ${lines.slice(-5).join(" | ")}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    status: child.status,
    async kill(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch { /* gone */ }
      const t = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 10_000);
      await child.status;
      clearTimeout(t);
      await done;
    },
  };
}

/** Where main.ts is. */
const MAIN = new URL("../main.ts", import.meta.url).pathname;
/** The deno flags a serve child runs with. */
export const DENO_FLAGS = [
  "run",
  "--no-check",
  "--unstable-kv",
  "--unstable-net",
  ...BENCH_CHILD_FLAGS,
];

/**
 * Writes `<dir>/cloudcore.yaml` for a hub beside others (every listener on 127.0.0.1 port 0, QUIC
 * and the CSI socket off) and returns its path: against `kubeconfig` when given (with `nodeLimit`
 * and a client rate to match), else with the embedded API.
 */
export async function writeServeConfig(
  dir: string,
  opts: { kubeconfig?: string; nodeLimit?: number } = {},
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const file = `${dir}/cloudcore.yaml`;
  const limit = opts.nodeLimit ?? 1000;
  const api = opts.kubeconfig
    ? `kubeAPIConfig: {kubeConfig: ${opts.kubeconfig}, qps: ${limit * 5}, burst: ${limit * 10}}`
    : "apiServer: {bindAddress: 127.0.0.1, port: 0}";
  await Deno.writeTextFile(
    file,
    `apiVersion: cloudcore.config.kubeedge.io/v1alpha1
kind: CloudCore
${api}
commonConfig: {monitorServer: {bindAddress: "127.0.0.1:0"}}
modules:
  cloudHub:
${
      opts.nodeLimit
        ? `    nodeLimit: ${opts.nodeLimit}
`
        : ""
    }    advertiseAddress: [127.0.0.1]
    tlsCAFile: ${dir}/none/rootCA.crt
    tlsCAKeyFile: ${dir}/none/rootCA.key
    tlsCertFile: ${dir}/none/server.crt
    tlsPrivateKeyFile: ${dir}/none/server.key
    websocket: {address: 127.0.0.1, port: 0}
    https: {address: 127.0.0.1, port: 0}
    quic: {enable: false, address: 127.0.0.1, port: 0}
    unixsocket: {enable: false, address: "unix://${dir}/kubeedge.sock"}
`,
  );
  return file;
}

/** edgecloud with only the embedded API (for a hub that talks to it over HTTPS). */
export async function startApiOnly(dir: string): Promise<{ hub: ChildHub; kubeconfig: string }> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/cloudcore.yaml`,
    `apiVersion: cloudcore.config.kubeedge.io/v1alpha1
kind: CloudCore
commonConfig: {monitorServer: {bindAddress: "127.0.0.1:0"}}
apiServer: {bindAddress: 127.0.0.1, port: 0}
modules:
  cloudHub: {enable: false}
  edgeController: {enable: false}
  deviceController: {enable: false}
  syncController: {enable: false}
`,
  );
  const hub = start(Deno.execPath(), [
    ...DENO_FLAGS,
    MAIN,
    "serve",
    "--config",
    `${dir}/cloudcore.yaml`,
    "--data-dir",
    `${dir}/data`,
  ], `${dir}/api.log`);
  const m = await hub.waitFor(/embedded API ready .*kubeconfig=(\S+)/);
  await hub.waitFor(/edgecloud ready/);
  return { hub, kubeconfig: m[1] };
}

/** edgecloud's hub against an external API. */
export async function startEdgecloudHub(
  dir: string,
  kubeconfig: string,
  nodeLimit: number,
): Promise<{ hub: ChildHub; ws: number; https: number }> {
  const config = await writeServeConfig(dir, { kubeconfig, nodeLimit });
  const hub = start(Deno.execPath(), [
    ...DENO_FLAGS,
    "--v8-flags=--max-old-space-size=8192",
    MAIN,
    "serve",
    "--config",
    config,
    "--data-dir",
    `${dir}/data`,
  ], `${dir}/edgecloud.log`);
  const ws = await hub.waitFor(/websocket server listening port=(\d+)/);
  const https = await hub.waitFor(/cert server listening .*port=(\d+)/);
  await hub.waitFor(/edgecloud ready/);
  return { hub, ws: Number(ws[1]), https: Number(https[1]) };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

/** Real cloudcore (its own default config) against `kubeconfig`, on loopback ports of its own. */
export async function startCloudcore(
  bin: string,
  dir: string,
  kubeconfig: string,
  nodeLimit: number,
  opts: { nofile?: number } = {},
): Promise<{ hub: ChildHub; ws: number; https: number }> {
  await Deno.mkdir(dir, { recursive: true });
  const out = await new Deno.Command(bin, { args: ["--defaultconfig"], stdout: "piped" }).output();
  const c = yamlParse(new TextDecoder().decode(out.stdout)) as Record<
    string,
    Record<string, Record<string, unknown>>
  >;
  const ws = freePort(), https = freePort();
  (c.kubeAPIConfig as Record<string, unknown>).kubeConfig = kubeconfig;
  (c.kubeAPIConfig as Record<string, unknown>).qps = nodeLimit * 5;
  (c.kubeAPIConfig as Record<string, unknown>).burst = nodeLimit * 10;
  c.commonConfig.monitorServer = { bindAddress: `127.0.0.1:${freePort()}` };
  (c.commonConfig as Record<string, unknown>).tunnelPort = freePort();
  const hub = c.modules.cloudHub as Record<string, unknown>;
  hub.nodeLimit = nodeLimit;
  hub.advertiseAddress = ["127.0.0.1"];
  hub.websocket = { ...(hub.websocket as object), address: "127.0.0.1", port: ws };
  hub.https = { ...(hub.https as object), address: "127.0.0.1", port: https };
  hub.quic = { ...(hub.quic as object), enable: false, address: "127.0.0.1", port: freePort() };
  hub.unixsocket = { enable: false, address: `unix://${dir}/kubeedge.sock` };
  hub.tlsCAFile = `${dir}/ca/rootCA.crt`;
  hub.tlsCAKeyFile = `${dir}/ca/rootCA.key`;
  hub.tlsCertFile = `${dir}/certs/server.crt`;
  hub.tlsPrivateKeyFile = `${dir}/certs/server.key`;
  (c.modules.iptablesManager as Record<string, unknown>).enable = false;
  (c.modules.router as Record<string, unknown>).enable = false;
  await Deno.writeTextFile(`${dir}/cloudcore.yaml`, yamlStringify(c));
  const child = start(
    bin,
    [
      "--config",
      `${dir}/cloudcore.yaml`,
      `--v=${Deno.env.get("CLOUDCORE_V") ?? "1"}`,
    ],
    `${dir}/cloudcore.log`,
    opts.nofile,
  );
  await child.waitFor(/Starting cloudhub websocket server/);
  return { hub: child, ws, https };
}
