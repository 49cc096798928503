/**
 * Runs real KubeEdge and Kubernetes programs against edgecloud (not a test file itself).
 *
 * Each peer comes from an environment variable naming its binary (`EDGECORE_BIN`, `EDGEMARK_BIN`,
 * `CLOUDCORE_BIN`, `KUBE_APISERVER_BIN`, `ETCD_BIN`); docs/compatibility.md says which versions
 * were used. A test whose peer is not given is registered as ignored and prints that it did not
 * run: it is never counted as passed.
 */
import { fileURLToPath } from "node:url";
import { MAIN, RUN_FLAGS, runMain, RunningMain, writeTestConfig } from "../cli/subprocess.ts";
import { type Done, waitUntil } from "../wait.ts";
import { KUBEEDGE_CRDS } from "../../apiserver/mod.ts";

export { runMain, RunningMain, writeTestConfig };
export { kubeedgeCrdsDir } from "../kubeedge_crds.ts";

/** The peers a test may need, by environment variable. */
export type PeerVar =
  | "EDGECORE_BIN"
  | "EDGEMARK_BIN"
  /** edgecore of KubeEdge v1.15 (the last release with v1alpha2 devices). */
  | "EDGECORE_V1_15_BIN"
  | "CLOUDCORE_BIN"
  | "KUBE_APISERVER_BIN"
  | "ETCD_BIN";

/** Paths of the peers given; `missing` lists the variables that are unset or point nowhere. */
export function peers(...vars: PeerVar[]): { paths: Record<string, string>; missing: string[] } {
  const paths: Record<string, string> = {};
  const missing: string[] = [];
  for (const v of vars) {
    const p = Deno.env.get(v);
    let ok = false;
    try {
      ok = !!p && Deno.statSync(p).isFile;
    } catch {
      ok = false;
    }
    if (ok) paths[v] = p!;
    else missing.push(v);
  }
  return { paths, missing };
}

/**
 * Registers a real-peer test: ignored (and saying so on stdout) unless every peer it needs is
 * given, and nothing is in `otherMissing` (further inputs it lacks, named). `fn` gets the peers'
 * paths.
 */
export function peerTest(
  name: string,
  vars: PeerVar[],
  fn: (paths: Record<string, string>, t: Deno.TestContext) => Promise<void>,
  otherMissing: string[] = [],
): void {
  const { paths, missing: bins } = peers(...vars);
  const missing = [...bins, ...otherMissing];
  if (missing.length > 0) {
    console.log(`not run: "${name}" needs ${missing.join(", ")} (real peer binaries)`);
  }
  Deno.test({
    name: `[real peer] ${name}`,
    ignore: missing.length > 0,
    fn: (t) => fn(paths, t),
  });
}

/** Polls `fn` until it returns a truthy value; fails naming `what` after `timeoutMs`. */
export function eventually<T>(
  fn: () => T | Promise<T>,
  what: string,
  timeoutMs = 60_000,
): Promise<Done<T>> {
  return waitUntil(fn, what, { timeoutMs, intervalMs: 250, retryErrors: true });
}

/** Runs kubectl with a kubeconfig; throws with stderr on failure unless `allowFail`. */
export async function kubectl(
  kubeconfig: string,
  args: string[],
  opts: { stdin?: string; allowFail?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command("kubectl", {
    args: ["--kubeconfig", kubeconfig, ...args],
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { KUBECACHEDIR: `${kubeconfig}.cache` },
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  const r = { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  if (r.code !== 0 && !opts.allowFail) {
    throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  }
  return r;
}

/** `kubectl get -o json` of one object, or undefined when it does not exist. */
export async function getJson(
  kubeconfig: string,
  args: string[],
): Promise<Record<string, unknown> | undefined> {
  const r = await kubectl(kubeconfig, ["get", ...args, "-o", "json"], { allowFail: true });
  if (r.code !== 0) {
    if (r.stderr.includes("NotFound") || r.stderr.includes("not found")) return undefined;
    throw new Error(`kubectl get ${args.join(" ")}: ${r.stderr}`);
  }
  return JSON.parse(r.stdout);
}

/** A node's condition of `type`, from `kubectl get node -o json`. */
export function condition(
  obj: Record<string, unknown> | undefined,
  type: string,
): Record<string, string> | undefined {
  const status = obj?.status as { conditions?: Record<string, string>[] } | undefined;
  return status?.conditions?.find((c) => c.type === type);
}

/** An edgecloud hub run as a subprocess, with the ports it chose. */
export interface Hub {
  main: RunningMain;
  dir: string;
  dataDir: string;
  kubeconfig: string;
  wsPort: number;
  httpsPort: number;
  /** Stops the hub (SIGTERM) and waits for it. */
  stop(): Promise<void>;
}

function portFrom(line: string): number {
  const m = / port=(\d+)/.exec(line);
  if (!m) throw new Error(`no port in ${line}`);
  return Number(m[1]);
}

/**
 * Starts `edgecloud serve` on 127.0.0.1 (every port chosen by the OS) with `extra` cloudcore.yaml
 * lines appended, and `args` added (e.g. `--kubeconfig`). The embedded API's kubeconfig is used
 * unless `kubeconfig` is given.
 */
export async function startHub(
  dir: string,
  opts: { extra?: string; args?: string[]; kubeconfig?: string } = {},
): Promise<Hub> {
  const dataDir = `${dir}/data`;
  await Deno.mkdir(dir, { recursive: true });
  const config = await writeTestConfig(dir, opts.extra ?? "");
  const main = new RunningMain([
    "serve",
    "--config",
    config,
    "--data-dir",
    dataDir,
    ...(opts.args ?? []),
  ]);
  try {
    await main.waitForLine("edgecloud ready");
  } catch (err) {
    await main.finish().catch(() => {});
    throw err;
  }
  // With cloudHub off (an API-only run) there are no hub ports: they are 0.
  const ws = main.lines.find((l) => l.includes("websocket server listening"));
  const https = main.lines.find((l) => l.includes("cert server listening"));
  const api = main.lines.find((l) => l.includes("embedded API ready"));
  const kubeconfig = opts.kubeconfig ?? /kubeconfig=(\S+)/.exec(api ?? "")?.[1];
  if (!kubeconfig) throw new Error("no kubeconfig: give one or run the embedded API");
  return {
    main,
    dir,
    dataDir,
    kubeconfig,
    wsPort: ws ? portFrom(ws) : 0,
    httpsPort: https ? portFrom(https) : 0,
    async stop() {
      try {
        main.child.kill("SIGTERM");
      } catch { /* already gone */ }
      await main.finish();
      // Its log beside the others, for EDGECLOUD_KEEP_PEER_DIRS.
      await Deno.writeTextFile(`${dir}/edgecloud.log`, main.lines.join("\n") + "\n");
    },
  };
}

/** A join token from `edgecloud token` for the hub's data dir. */
export async function joinToken(dataDir: string, args: string[] = []): Promise<string> {
  const r = await runMain(["token", "--data-dir", dataDir, ...args]);
  if (r.code !== 0) throw new Error(`edgecloud token failed: ${r.stderr}`);
  return r.stdout.trim().split("\n").pop()!.trim();
}

/** A process whose output goes to a log file under the test's directory. */
export class LoggedProcess {
  readonly child: Deno.ChildProcess;
  readonly logPath: string;
  readonly #pump: Promise<void>;

  constructor(cmd: string, args: string[], logPath: string, opts: { cwd?: string } = {}) {
    this.logPath = logPath;
    this.child = new Deno.Command(cmd, {
      args,
      cwd: opts.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const file = Deno.openSync(logPath, { create: true, append: true });
    const copy = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) {
        let done = 0;
        while (done < chunk.length) done += await file.write(chunk.subarray(done));
      }
    };
    this.#pump = Promise.all([copy(this.child.stdout), copy(this.child.stderr)]).then(
      () => file.close(),
      () => file.close(),
    );
  }

  /** The log so far. */
  log(): string {
    return Deno.readTextFileSync(this.logPath);
  }

  /** Sends `signal` and waits for the process and its output. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<void> {
    try {
      this.child.kill(signal);
    } catch { /* already gone */ }
    await this.child.status;
    await this.#pump;
  }
}

const LOCK_PATH = `${Deno.env.get("TMPDIR") ?? "/tmp"}/edgecloud-real-peers.lock`;

/**
 * Holds a host-wide lock while `fn` runs: edgemark writes fixed paths and kubelet ports, so two
 * real-peer tests (test files run in parallel) must not run edge nodes at once.
 */
export async function exclusively<T>(fn: () => Promise<T>): Promise<T> {
  const file = await Deno.open(LOCK_PATH, { create: true, write: true });
  try {
    await file.lock(true);
    return await fn();
  } finally {
    file.close();
  }
}

/** The repository root, for programs the test runs from it. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export { MAIN, RUN_FLAGS };

/** Paths edgemark (edgecore with a fake runtime) writes whatever its flags say. */
const EDGEMARK_DIRS = [
  "/etc/kubeedge",
  "/var/lib/kubeedge",
  "/var/lib/kubelet",
  "/var/log/pods",
  "/var/log/containers",
];

/** Options for {@link startEdgemark}. */
export interface EdgemarkOptions {
  bin: string;
  name: string;
  token: string;
  wsPort: number;
  httpsPort: number;
  /** Holds the node's private copies of the fixed paths and its log. */
  dir: string;
}

/**
 * Starts edgemark as node `name`. edgemark writes fixed paths (certificates under /etc/kubeedge,
 * its database at /edgecore.db, kubelet state), so it runs in a private mount namespace
 * (`unshare -m`, which needs root) where each of them is bound to a directory under `dir`;
 * nothing outside `dir` is written except an empty /edgecore.db mount point.
 */
export async function startEdgemark(o: EdgemarkOptions): Promise<LoggedProcess> {
  const binds: string[] = [];
  for (const path of EDGEMARK_DIRS) {
    const own = `${o.dir}/root${path}`;
    await Deno.mkdir(own, { recursive: true });
    binds.push(`mkdir -p ${path} && mount --bind ${own} ${path}`);
  }
  const db = `${o.dir}/edgecore.db`;
  await Deno.writeTextFile(db, "", { append: true });
  binds.push(`[ -e /edgecore.db ] || : > /edgecore.db`, `mount --bind ${db} /edgecore.db`);
  const script = `set -e; ${binds.join("; ")}; cd ${o.dir}; exec "$0" "$@"`;
  return new LoggedProcess("unshare", [
    "-m",
    "--propagation",
    "private",
    "bash",
    "-c",
    script,
    o.bin,
    "--name",
    o.name,
    "--token",
    o.token,
    "--websocket-server",
    `127.0.0.1:${o.wsPort}`,
    "--http-server",
    `https://127.0.0.1:${o.httpsPort}`,
  ], `${o.dir}/edgemark.log`);
}

/** A port the OS just gave out and took back (for peers that cannot take port 0). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (out.code !== 0) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A real etcd + kube-apiserver pair on loopback, with an admin kubeconfig. */
export interface RealCluster {
  kubeconfig: string;
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts etcd (`ETCD_BIN`) and kube-apiserver (`KUBE_APISERVER_BIN`) under `dir`: a throwaway CA
 * and serving certificate from openssl, a static admin token in system:masters, Node and RBAC
 * authorization, and waits for /readyz.
 */
export async function startRealCluster(
  dir: string,
  bins: { etcd: string; kubeApiserver: string },
): Promise<RealCluster> {
  await Deno.mkdir(dir, { recursive: true });
  await openssl(
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt"]
      .concat(["-days", "2", "-subj", "/CN=peer-test-ca"]),
    dir,
  );
  await openssl(
    ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr"]
      .concat(["-subj", "/CN=kube-apiserver"]),
    dir,
  );
  await Deno.writeTextFile(`${dir}/ext.cnf`, "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  await openssl([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.crt",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  ], dir);
  await openssl(["genrsa", "-out", "sa.key", "2048"], dir);
  await openssl(["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
  const token = crypto.getRandomValues(new Uint8Array(16)).reduce(
    (s, b) => s + b.toString(16).padStart(2, "0"),
    "",
  );
  await Deno.writeTextFile(`${dir}/tokens.csv`, `${token},admin,admin,system:masters\n`);
  const etcdPort = freePort();
  const peerPort = freePort();
  const etcd = new LoggedProcess(bins.etcd, [
    "--data-dir",
    `${dir}/etcd`,
    "--listen-client-urls",
    `http://127.0.0.1:${etcdPort}`,
    "--advertise-client-urls",
    `http://127.0.0.1:${etcdPort}`,
    "--listen-peer-urls",
    `http://127.0.0.1:${peerPort}`,
    "--initial-advertise-peer-urls",
    `http://127.0.0.1:${peerPort}`,
    "--initial-cluster",
    `default=http://127.0.0.1:${peerPort}`,
  ], `${dir}/etcd.log`);
  const port = freePort();
  const kas = new LoggedProcess(
    bins.kubeApiserver,
    [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      `--secure-port=${port}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      "--tls-cert-file=server.crt",
      "--tls-private-key-file=server.key",
      "--client-ca-file=ca.crt",
      "--service-account-issuer=https://kubernetes.default.svc",
      "--service-account-key-file=sa.pub",
      "--service-account-signing-key-file=sa.key",
      "--token-auth-file=tokens.csv",
      "--authorization-mode=Node,RBAC",
      "--service-cluster-ip-range=10.96.0.0/16",
      `--cert-dir=${dir}/certs`,
    ],
    `${dir}/kube-apiserver.log`,
    { cwd: dir },
  );
  const url = `https://127.0.0.1:${port}`;
  const kubeconfig = `${dir}/kubeconfig.yaml`;
  await Deno.writeTextFile(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters:
- cluster: {server: "${url}", certificate-authority: "${dir}/ca.crt"}
  name: real
users:
- name: admin
  user: {token: "${token}"}
contexts:
- context: {cluster: real, user: admin}
  name: real
current-context: real
`,
  );
  const stop = async () => {
    await kas.stop();
    await etcd.stop();
  };
  try {
    await eventually(async () => {
      const r = await kubectl(kubeconfig, ["get", "--raw", "/readyz"], { allowFail: true });
      return r.code === 0 && r.stdout.trim() === "ok";
    }, "kube-apiserver /readyz");
  } catch (err) {
    await stop();
    throw new Error(`${err}\n${kas.log().slice(-3000)}`);
  }
  return { kubeconfig, url, stop };
}

/** Removes a test's directory, or keeps it (and says where) when EDGECLOUD_KEEP_PEER_DIRS is set. */
export async function removeDir(dir: string): Promise<void> {
  if (Deno.env.get("EDGECLOUD_KEEP_PEER_DIRS")) {
    console.log(`kept ${dir}`);
    return;
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/** The KubeEdge CRDs edgecloud preinstalls, applied to a real kube-apiserver. */
export async function applyKubeEdgeCrds(kubeconfig: string): Promise<void> {
  const list = { apiVersion: "v1", kind: "List", items: KUBEEDGE_CRDS };
  await kubectl(kubeconfig, ["apply", "-f", "-"], { stdin: JSON.stringify(list) });
}

/** Waits until each of those CRDs is Established on the real server. */
export async function waitKubeEdgeCrds(kubeconfig: string): Promise<void> {
  for (const crd of KUBEEDGE_CRDS) {
    await kubectl(kubeconfig, [
      "wait",
      "--for=condition=Established",
      `crd/${crd.metadata!.name}`,
      "--timeout=30s",
    ]);
  }
}
