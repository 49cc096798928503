/**
 * permissions.ts: the flag set itself, that every launcher uses it (no `-A` outside tests), and
 * that main.ts under exactly these flags both runs and, when something is outside them, exits 1
 * with one line naming the flag to add.
 */
import { fileURLToPath } from "node:url";
import denoJson from "../deno.json" with { type: "json" };
import { startEmbeddedApi } from "../apiserver/mod.ts";
import {
  DEFAULT_PORTS,
  DEFAULT_START_FLAGS,
  DEV_OPTIONS,
  launcherTask,
  parsePermissionArgs,
  PermissionArgsError,
  permissionFlags,
  PermissionOptionsError,
  permissionsMain,
  START_TASK,
  SYSTEM_OPTIONS,
} from "../permissions.ts";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./assert.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url)).replace(/\/$/, "");
const MAIN = `${ROOT}/main.ts`;

Deno.test("the default (deno task start) flag set", () => {
  assertEquals(permissionFlags(DEV_OPTIONS), [
    "--unstable-kv",
    "--unstable-net",
    "--allow-net=0.0.0.0:10000,0.0.0.0:10001,0.0.0.0:10002,127.0.0.1:9091,127.0.0.1:6443," +
    "unix:$PWD/.edgecloud/kubeedge.sock",
    "--allow-read=.edgecloud,/etc/kubeedge/ca/rootCA.crt,/etc/kubeedge/ca/rootCA.key," +
    "/etc/kubeedge/certs/server.crt,/etc/kubeedge/certs/server.key",
    "--allow-write=.edgecloud",
    "--allow-env=NOTIFY_SOCKET,WATCHDOG_USEC,WATCHDOG_PID",
    "--ignore-env",
    "--allow-sys=hostname,networkInterfaces",
  ]);
  assertEquals(DEFAULT_START_FLAGS, permissionFlags(DEV_OPTIONS).join(" "));
});

Deno.test("deno.json's start, token, kubeconfig and edge-sim tasks are exactly the launcher lines", () => {
  assertEquals(denoJson.tasks.start, START_TASK);
  const tasks = denoJson.tasks as Record<string, string>;
  for (const command of ["token", "kubeconfig", "edge-sim"] as const) {
    assertEquals(tasks[command], launcherTask(command), command);
  }
});

Deno.test("the systemd flag set: fixed paths, notify socket, no QUIC/KV without need", () => {
  const flags = permissionFlags(SYSTEM_OPTIONS);
  assertEquals(
    flags.find((f) => f.startsWith("--allow-net=")),
    "--allow-net=0.0.0.0:10000,0.0.0.0:10001,0.0.0.0:10002,127.0.0.1:9091,127.0.0.1:6443," +
      "unix:/var/lib/kubeedge/kubeedge.sock,unix:/run/systemd/notify,unix:/var/lib/edgecloud/notify.sock",
  );
  assertEquals(
    flags.find((f) => f.startsWith("--allow-write=")),
    "--allow-write=/var/lib/edgecloud,/var/lib/kubeedge,/run/systemd/notify",
  );
  const minimal = permissionFlags({
    dataDir: "/d",
    listenPorts: DEFAULT_PORTS,
    apiServerHosts: ["10.0.0.1:6443", "api.example.com:443"],
    quic: false,
    embeddedApi: false,
    bindAddresses: { websocket: "::" },
  });
  assertEquals(minimal, [
    "--allow-net=[::]:10000,0.0.0.0:10002,127.0.0.1:9091,10.0.0.1:6443,api.example.com:443",
    "--allow-read=/d",
    "--allow-write=/d",
    "--allow-env=NOTIFY_SOCKET,WATCHDOG_USEC,WATCHDOG_PID",
    "--ignore-env",
    "--allow-sys=hostname,networkInterfaces",
  ]);
  assertThrows(
    () => permissionFlags({ ...DEV_OPTIONS, socketPath: "rel/x.sock" }),
    PermissionOptionsError,
    "must be absolute",
  );
});

Deno.test("permissions.ts command line", () => {
  const cli = parsePermissionArgs([
    "--profile",
    "system",
    "--api-server=10.1.2.3:6443",
    "--port",
    "websocket=20000",
    "--data-dir",
    "/srv/ec",
  ]);
  assertEquals(cli.options.apiServerHosts, ["10.1.2.3:6443"]);
  assertEquals(cli.options.listenPorts.websocket, 20000);
  assertEquals(cli.options.dataDir, "/srv/ec");
  assertEquals(cli.options.socketPath, SYSTEM_OPTIONS.socketPath);
  assertEquals(
    parsePermissionArgs(["--data-dir", "/x"]).options.socketPath,
    "/x/kubeedge.sock",
  );
  assertThrows(() => parsePermissionArgs(["--nope"]), PermissionArgsError, "--nope");
  assertThrows(() => parsePermissionArgs(["--port", "bogus=1"]), PermissionArgsError);
  assertThrows(() => parsePermissionArgs(["--profile", "prod"]), PermissionArgsError);
  assertThrows(() => parsePermissionArgs(["--data-dir"]), PermissionArgsError, "needs a value");
  // Exit codes without printing in this process.
  const errors: string[] = [];
  const original = console.error;
  console.error = (msg: string) => errors.push(msg);
  try {
    assertEquals(permissionsMain(["--bogus"]), 2);
  } finally {
    console.error = original;
  }
  assertStringIncludes(errors.join("\n"), "unknown argument: --bogus");
});

/** Every -A / --allow-all in a launcher, with where it was found. */
function findAllowAll(text: string): string[] {
  return [...text.matchAll(/(^|[\s"'=])(-A|--allow-all)(?=[\s"']|$)/gm)].map((m) => m[2]);
}

/** Every file under `dir`, not descending into directories `prune` names. */
async function walk(dir: string, prune: (dir: string) => boolean): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) {
      if (!prune(path)) files.push(...await walk(path, prune));
    } else if (entry.isFile) files.push(path);
  }
  return files;
}

Deno.test("no -A / --allow-all in deno.json tasks (except deno test), compile.sh, deploy/ or any launcher outside tests/", async () => {
  const offenders: string[] = [];
  for (const [name, line] of Object.entries(denoJson.tasks as Record<string, string>)) {
    // The test harness (deno test) may grant -A to itself; what ships and the benchmarks may not.
    const harness = (part: string) => /\bdeno test\b/.test(part);
    const launches = line.split(/&&|\|\||;/).filter((part) => !harness(part));
    if (launches.some((part) => findAllowAll(part).length > 0)) {
      offenders.push(`deno.json task ${name}`);
    }
  }
  // Every script, module and doc that could spawn or document a launch (compile.sh, bench/,
  // scripts/, edge/, ...), and everything under deploy/ (the unit too).
  const pruned = /\/(tests|\.git|node_modules|shared|dist|\.edgecloud|bench\/results)$/;
  const files = (await walk(ROOT, (dir) => pruned.test(dir.slice(ROOT.length))))
    .filter((f) => /\.(ts|sh|md)$/.test(f) || f.startsWith(`${ROOT}/deploy/`));
  for (const file of files) {
    const lines = (await Deno.readTextFile(file)).split("\n");
    // A documented `deno test ... -A` line is the harness too.
    if (lines.some((l) => !/\bdeno test\b/.test(l) && findAllowAll(l).length > 0)) {
      offenders.push(file);
    }
  }
  assertEquals(offenders, []);
  // The scanner itself finds what it should.
  assertEquals(findAllowAll('"deno run -A main.ts" --allow-all'), ["-A", "--allow-all"]);
  assertEquals(findAllowAll("--allow-net=a:1 -Ax --allow-allx"), []);
});

// --- main.ts under the narrow flags ---------------------------------------------------------

interface Run {
  code: number;
  stderr: string;
}

/** Runs main.ts to completion; a guard kills it if it serves instead of failing (no hang). */
async function runNarrow(flags: string[], args: string[]): Promise<Run> {
  const guard = new AbortController();
  const timer = setTimeout(() => guard.abort(), 60_000);
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, MAIN, ...args],
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
      signal: guard.signal,
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

/** The flags for a deployment whose data dir is `dataDir` (everything else as `deno task start`). */
function flagsFor(dataDir: string, extra: Partial<typeof DEV_OPTIONS> = {}): string[] {
  return permissionFlags({
    ...DEV_OPTIONS,
    dataDir,
    socketPath: `${dataDir}/kubeedge.sock`,
    ...extra,
  });
}

Deno.test("missing permission: a data dir outside the allowed path → one line, exit 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const outside = `${dir}/elsewhere`;
    const r = await runNarrow(flagsFor(`${dir}/allowed`), ["serve", "--data-dir", outside]);
    assertEquals(r.code, 1);
    assertEquals(
      r.stderr,
      `edgecloud: permission denied: write access to ${outside}; run with --allow-write=${outside}\n`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("missing permission: a kubeconfig outside the allowed paths → one line, exit 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const kubeconfig = `${dir}/kubeconfig.yaml`;
    await Deno.writeTextFile(kubeconfig, "apiVersion: v1\nkind: Config\n");
    const r = await runNarrow(flagsFor(`${dir}/data`), [
      "serve",
      "--data-dir",
      `${dir}/data`,
      "--kubeconfig",
      kubeconfig,
    ]);
    assertEquals(r.code, 1);
    assertEquals(
      r.stderr,
      `edgecloud: permission denied: read access to ${kubeconfig}; run with --allow-read=${kubeconfig}\n`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function freePorts(n: number): number[] {
  const listeners = Array.from(
    { length: n },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

Deno.test("main.ts serve runs under exactly the narrow flag set, notifies systemd, stops on SIGTERM", async () => {
  const dir = await Deno.makeTempDir();
  const [websocket, quic, https, monitor, api] = freePorts(5);
  const config = `${dir}/cloudcore.yaml`;
  const dataDir = `${dir}/data`;
  await Deno.writeTextFile(
    config,
    `apiVersion: cloudcore.config.kubeedge.io/v1alpha1
kind: CloudCore
commonConfig:
  monitorServer:
    bindAddress: 127.0.0.1:${monitor}
modules:
  cloudHub:
    advertiseAddress: [127.0.0.1]
    websocket: {address: 127.0.0.1, port: ${websocket}}
    quic: {enable: true, address: 127.0.0.1, port: ${quic}}
    https: {address: 127.0.0.1, port: ${https}}
    unixsocket: {address: "unix://${dataDir}/kubeedge.sock"}
apiServer:
  bindAddress: 127.0.0.1
  port: ${api}
`,
  );
  const local = "127.0.0.1";
  // systemd's side of Type=notify: a datagram socket where $NOTIFY_SOCKET points.
  const notifySocket = `${dir}/notify`;
  const receiver = (Deno as unknown as {
    listenDatagram(o: { transport: "unixpacket"; path: string }): {
      receive(): Promise<[Uint8Array, unknown]>;
      close(): void;
    };
  }).listenDatagram({ transport: "unixpacket", path: notifySocket });
  const ready = receiver.receive();
  const flags = flagsFor(dataDir, {
    notifySocket,
    configPath: config,
    listenPorts: { websocket, quic, https, monitor, api },
    bindAddresses: { websocket: local, quic: local, https: local, monitor: local, api: local },
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, MAIN, "serve", "--config", config, "--data-dir", dataDir],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    // WatchdogSec=0.4s: WATCHDOG=1 every 200 ms (lib/watchdog.ts).
    env: { NO_COLOR: "1", NOTIFY_SOCKET: notifySocket, WATCHDOG_USEC: "400000" },
  }).spawn();
  let text = "";
  try {
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    while (!text.includes("edgecloud ready")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    assert(text.includes("edgecloud ready"), `did not become ready:\n${text}`);
    assertStringIncludes(new TextDecoder().decode((await ready)[0]), "READY=1");
    const next = async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("no notification within 10 s")), 10_000);
      });
      try {
        return new TextDecoder().decode((await Promise.race([receiver.receive(), late]))[0]);
      } finally {
        clearTimeout(timer);
      }
    };
    assertEquals(await next(), "WATCHDOG=1");
    child.kill("SIGTERM");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const status = await child.status;
    assertEquals(status.code, 0, text);
    let last = await next();
    while (last === "WATCHDOG=1") last = await next();
    assertEquals(last, "STOPPING=1");
    assert(!/permission denied|NotCapable/.test(text), text);
  } finally {
    await child.stderr.cancel().catch(() => {});
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
    receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// serve contacts the API at startup (certificates from Secrets); client-node's FetchError wraps
// Deno's refusal (`request to https://h:p/... failed, reason: Requires net access to "h:p", ...`).
Deno.test({
  name: "missing permission: a kubeconfig server not in --allow-net → one line, exit 1",
  async fn() {
    const dir = await Deno.makeTempDir();
    const api = await startEmbeddedApi({ dataDir: `${dir}/api`, port: 0 });
    try {
      const kubeconfig = `${dir}/kubeconfig.yaml`;
      await Deno.writeTextFile(kubeconfig, api.kubeconfigYaml);
      const host = `127.0.0.1:${api.port}`;
      // Allowed to read the kubeconfig, not to connect to its server.
      const r = await runNarrow(
        flagsFor(`${dir}/data`, { kubeconfigPath: kubeconfig, embeddedApi: false }),
        ["serve", "--data-dir", `${dir}/data`, "--kubeconfig", kubeconfig],
      );
      assertEquals(r.code, 1);
      assertEquals(
        r.stderr,
        `edgecloud: permission denied: net access to ${host}; run with --allow-net=${host}\n`,
      );
    } finally {
      await api.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
