/**
 * The one place that states the Deno permission flags edgecloud runs with. `deno task start`,
 * `compile.sh` and the systemd unit all take their flags from here (tests check that none of them
 * uses `-A`/`--allow-all`).
 *
 * Facts this relies on (Deno 2.9.6, checked on this machine; see docs/permissions.md):
 * - Listening needs `--allow-net=<bind address>:<port>`; connecting to the API server needs its
 *   `host:port`. For port 0 the descriptor is the address alone: `host:0` allows only port 0. `--allow-net` has no port-only or CIDR form, so a kubeconfig's server must be
 *   listed.
 * - A Unix socket (`Deno.listen({transport: "unix"})`, `node:net`, `Deno.listenDatagram`) needs
 *   `--allow-net=unix:<absolute path>` AND read+write access to the path; `unix:` paths must be
 *   absolute. Sending a datagram to a socket (systemd's `$NOTIFY_SOCKET`) needs write access to it.
 * - client-node's `debug` dependency enumerates `process.env` at import, which a plain
 *   `--allow-env=<names>` refuses; `--ignore-env` makes every name not listed in `--allow-env`
 *   read as unset instead of throwing, so `--allow-env=<names> --ignore-env` is exact.
 * - A TLS client without a CA in its kubeconfig reads the system store, which needs the `ca` sys
 *   permission; Deno 2.9.6 refuses `--allow-sys=ca`, so only a full `--allow-sys` helps there
 *   (kubeconfigs with `certificate-authority-data`, and the embedded API, need nothing).
 *
 * This module imports nothing, so `deno run permissions.ts` needs no permissions itself.
 *
 * @example
 * ```ts
 * import { permissionFlags, DEV_OPTIONS } from "./permissions.ts";
 * permissionFlags(DEV_OPTIONS); // ["--unstable-kv", "--unstable-net", "--allow-net=…", …]
 * ```
 */

/** Listener ports; the names follow cloudcore.yaml (`modules.cloudHub.*`, `commonConfig`). */
export interface ListenPorts {
  /** `modules.cloudHub.websocket.port` (10000). */
  websocket: number;
  /** `modules.cloudHub.quic.port` (10001); only listed when `quic` is true. */
  quic: number;
  /** `modules.cloudHub.https.port`, the cert server (10002). */
  https: number;
  /** Port of `commonConfig.monitorServer.bindAddress` (9091). */
  monitor: number;
  /** `apiServer.port`, the embedded API (6443); only listed when `embeddedApi` is true. */
  api: number;
}

/** Bind address of each listener (defaults: hub listeners `0.0.0.0`, monitor and API loopback). */
export type BindAddresses = Partial<Record<keyof ListenPorts, string>>;

/** What {@link permissionFlags} needs to know about one deployment. */
export interface PermissionOptions {
  /** `--data-dir`: KV store, generated kubeconfig, notify socket. Read + write. */
  dataDir: string;
  listenPorts: ListenPorts;
  bindAddresses?: BindAddresses;
  /** `host:port` of every API server the process connects to (kubeconfig servers). */
  apiServerHosts: string[];
  /** CloudHub's Unix socket (`modules.cloudHub.unixsocket.address` without `unix://`). */
  socketPath?: string;
  /** Certificate/key files read when present (`tlsCAFile`, `tlsCertFile`, ...). Read only. */
  certPaths?: string[];
  /** `--config` file. Read only. */
  configPath?: string;
  /** `--kubeconfig` file. Read only. */
  kubeconfigPath?: string;
  /** Serve QUIC (`Deno.QuicEndpoint`, needs `--unstable-net`). */
  quic: boolean;
  /** Serve the embedded API (Deno KV, needs `--unstable-kv`). Default true. */
  embeddedApi?: boolean;
  /**
   * systemd's notify socket (`$NOTIFY_SOCKET`, `/run/systemd/notify`) for `Type=notify`; the
   * sender binds {@link notifyBindPath} (needs `--unstable-net`).
   */
  notifySocket?: string;
  /**
   * Directory of the notify sender socket; default the data dir, which is where `cli/serve.ts`
   * binds it (`notifyBindPath(dataDir)`), so only set this together with serve's option.
   */
  runtimeDir?: string;
}

/**
 * Environment variables edgecloud itself reads; everything else reads as unset (`--ignore-env`):
 * systemd's notify socket and its watchdog timeout and PID (`WatchdogSec=`, lib/watchdog.ts).
 */
export const ENV_NAMES: readonly string[] = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"];

/**
 * `Deno.*` / `node:os` calls that need `--allow-sys`: `networkInterfaces` (advertise addresses in
 * the server certificate), `hostname` (the leader-election identity, as client-go uses).
 */
export const SYS_APIS: readonly string[] = ["hostname", "networkInterfaces"];

/**
 * Files `deno compile` must embed besides the module graph. Empty today: the only asset,
 * `protocol/proto/message.proto`, is a text import (`with { type: "text" }`), hence in the graph.
 */
export const COMPILE_INCLUDES: readonly string[] = [];

/** The default ports (KubeEdge's, plus the embedded API's 6443). */
export const DEFAULT_PORTS: ListenPorts = {
  websocket: 10000,
  quic: 10001,
  https: 10002,
  monitor: 9091,
  api: 6443,
};

const DEFAULT_BIND: Required<BindAddresses> = {
  websocket: "0.0.0.0",
  quic: "0.0.0.0",
  https: "0.0.0.0",
  monitor: "127.0.0.1",
  api: "127.0.0.1",
};

/** cloudcore's default certificate paths (cloudcore.yaml `modules.cloudHub.tls*File`). */
export const DEFAULT_CERT_PATHS: readonly string[] = [
  "/etc/kubeedge/ca/rootCA.crt",
  "/etc/kubeedge/ca/rootCA.key",
  "/etc/kubeedge/certs/server.crt",
  "/etc/kubeedge/certs/server.key",
];

/** File name of CloudHub's Unix socket inside the data dir in development. */
export const SOCKET_NAME = "kubeedge.sock";
/** File name of the socket the systemd notifier binds before sending. */
export const NOTIFY_BIND_NAME = "notify.sock";

/** Path the sd_notify sender binds (Deno's datagram API cannot send from an unbound socket). */
export function notifyBindPath(dirPath: string): string {
  return joinPath(dirPath, NOTIFY_BIND_NAME);
}

/**
 * `deno task start`: data dir `./.edgecloud`, default ports, embedded API, QUIC allowed, the Unix
 * socket in the data dir. The task runs in the project directory, so `$PWD` makes the `unix:`
 * path absolute (Deno rejects relative `unix:` paths).
 */
export const DEV_OPTIONS: PermissionOptions = {
  dataDir: ".edgecloud",
  listenPorts: DEFAULT_PORTS,
  apiServerHosts: [],
  socketPath: "$PWD/.edgecloud/" + SOCKET_NAME,
  certPaths: [...DEFAULT_CERT_PATHS],
  quic: true,
  embeddedApi: true,
};

/**
 * The compiled binary under systemd (`deploy/edgecloud.service`): fixed paths, because a compiled
 * binary's permissions are baked in at compile time. The API server list holds the embedded API
 * only; `compile.sh --api-server HOST:PORT` adds a real cluster's.
 */
export const SYSTEM_OPTIONS: PermissionOptions = {
  dataDir: "/var/lib/edgecloud",
  listenPorts: DEFAULT_PORTS,
  apiServerHosts: [],
  socketPath: "/var/lib/kubeedge/" + SOCKET_NAME,
  certPaths: [...DEFAULT_CERT_PATHS],
  configPath: "/etc/kubeedge/config/cloudcore.yaml",
  kubeconfigPath: "/etc/kubeedge/config/kubeconfig",
  quic: true,
  embeddedApi: true,
  notifySocket: "/run/systemd/notify",
};

/** Raised for options that cannot be turned into flags (e.g. a relative `unix:` path). */
export class PermissionOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PermissionOptionsError";
  }
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : path.slice(0, i);
}

function hostPort(host: string, port: number): string {
  // IPv6 literals need brackets in a net descriptor.
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  // Port 0 (the OS picks one): Deno reads `host:0` as port 0 itself and refuses the port the
  // listener gets, so the descriptor is the host alone (any port on that address).
  return port === 0 ? h : `${h}:${port}`;
}

function unixDescriptor(path: string): string {
  if (!path.startsWith("/") && !path.startsWith("$")) {
    throw new PermissionOptionsError(
      `unix socket path must be absolute for --allow-net=unix:<path>: ${path}`,
    );
  }
  return `unix:${path}`;
}

/** `./x`, `x`, `$PWD/x` and `x/` name the same path for permission purposes. */
function normalize(path: string): string {
  return path.replace(/^\$PWD\//, "").replace(/^\.\//, "").replace(/\/+$/, "") || "/";
}

function uniq(values: string[]): string[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    if (v === "" || seen.has(normalize(v))) return false;
    seen.add(normalize(v));
    return true;
  });
}

/**
 * The exact Deno flags for one deployment, in a stable order: unstable features, then
 * `--allow-net`, `--allow-read`, `--allow-write`, `--allow-env`, `--ignore-env`, `--allow-sys`.
 *
 * @example
 * ```ts
 * permissionFlags({ ...DEV_OPTIONS, dataDir: "/srv/ec", socketPath: "/srv/ec/kubeedge.sock" });
 * ```
 */
export function permissionFlags(opts: PermissionOptions): string[] {
  const bind = { ...DEFAULT_BIND, ...opts.bindAddresses };
  const ports = opts.listenPorts;
  const embedded = opts.embeddedApi ?? true;
  const notifyBind = opts.notifySocket
    ? notifyBindPath(opts.runtimeDir ?? opts.dataDir)
    : undefined;

  const net = [hostPort(bind.websocket, ports.websocket)];
  if (opts.quic) net.push(hostPort(bind.quic, ports.quic));
  net.push(hostPort(bind.https, ports.https), hostPort(bind.monitor, ports.monitor));
  if (embedded) net.push(hostPort(bind.api, ports.api));
  net.push(...opts.apiServerHosts);
  if (opts.socketPath) net.push(unixDescriptor(opts.socketPath));
  if (opts.notifySocket && notifyBind) {
    net.push(unixDescriptor(opts.notifySocket), unixDescriptor(notifyBind));
  }

  const socketDir = opts.socketPath ? dirname(opts.socketPath) : "";
  const runtimeDir = notifyBind ? dirname(notifyBind) : "";
  const read = uniq([
    opts.dataDir,
    socketDir,
    runtimeDir,
    opts.configPath ?? "",
    opts.kubeconfigPath ?? "",
    ...(opts.certPaths ?? []),
  ]);
  const write = uniq([opts.dataDir, socketDir, runtimeDir, opts.notifySocket ?? ""]);

  const flags: string[] = [];
  if (embedded) flags.push("--unstable-kv");
  if (opts.quic || opts.notifySocket) flags.push("--unstable-net");
  flags.push(`--allow-net=${uniq(net).join(",")}`);
  flags.push(`--allow-read=${read.join(",")}`);
  flags.push(`--allow-write=${write.join(",")}`);
  flags.push(`--allow-env=${ENV_NAMES.join(",")}`, "--ignore-env");
  flags.push(`--allow-sys=${SYS_APIS.join(",")}`);
  return flags;
}

/** The flags of `deno task start`, as one string (what deno.json's `start` task holds). */
export const DEFAULT_START_FLAGS: string = permissionFlags(DEV_OPTIONS).join(" ");

/** Double-quotes flags that hold `$PWD`, so a checkout path with spaces stays one word. */
function taskWords(flags: string[]): string {
  return flags.map((f) => f.includes("$PWD") ? `"${f}"` : f).join(" ");
}

/**
 * The launcher's own permissions (launch.ts): read the config and kubeconfig the arguments name,
 * wherever they are; start `deno` (found on PATH, as `deno task` sets it); see systemd's
 * `NOTIFY_SOCKET`. It derives the program's flags from the run's arguments with
 * {@link permissionFlags} and starts `deno run <flags> main.ts <args>`.
 */
export const LAUNCHER_FLAGS: readonly string[] = [
  "--allow-read",
  "--allow-run=deno",
  "--allow-env=NOTIFY_SOCKET",
  "--ignore-env",
];

/** The deno.json task line that launches `edgecloud <command>` (start, token, edge-sim, kubeconfig). */
export function launcherTask(command: "serve" | "token" | "edge-sim" | "kubeconfig"): string {
  return `deno run ${LAUNCHER_FLAGS.join(" ")} launch.ts ${command}`;
}

/** The `start` task line. */
export const START_TASK: string = launcherTask("serve");

const USAGE = `usage: deno run permissions.ts [options]
Prints edgecloud's Deno permission flags, one per line.
  --profile dev|system   base set: dev = deno task start, system = compiled binary under systemd
  --data-dir DIR         data directory (read + write)
  --config FILE          config file (read)
  --kubeconfig FILE      kubeconfig (read)
  --api-server HOST:PORT API server to connect to (repeatable)
  --socket PATH          CloudHub Unix socket (absolute)
  --cert FILE            certificate or key file to read (repeatable; replaces the defaults)
  --notify-socket PATH   systemd notify socket ("" to disable)
  --runtime-dir DIR      directory of the notify sender socket
  --no-quic              QUIC disabled (no --unstable-net for it, no QUIC port)
  --no-embedded-api      no embedded API (no --unstable-kv, no API port)
  --port NAME=PORT       websocket|quic|https|monitor|api
  --bind NAME=ADDR       bind address of one listener
  --shell                print one line for a shell instead of one flag per line
  --start-task           print the flags as one deno run line for main.ts serve
  --compile-includes     print the files deno compile must --include, one per line`;

/** Raised by {@link parsePermissionArgs} for a bad command line. */
export class PermissionArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PermissionArgsError";
  }
}

/** Result of {@link parsePermissionArgs}. */
export interface PermissionCli {
  options: PermissionOptions;
  shell: boolean;
  startTask: boolean;
  compileIncludes: boolean;
  help: boolean;
}

/** Parses the CLI of this module (hand-written: this file must import nothing). */
export function parsePermissionArgs(args: string[]): PermissionCli {
  let profile = "dev";
  const set: Array<(o: PermissionOptions) => void> = [];
  const apiServers: string[] = [];
  const certs: string[] = [];
  let shell = false, startTask = false, compileIncludes = false, help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0 && arg.startsWith("--")) return arg.slice(eq + 1);
      const v = args[++i];
      if (v === undefined) throw new PermissionArgsError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case "--profile":
        profile = value();
        if (profile !== "dev" && profile !== "system") {
          throw new PermissionArgsError(`--profile must be dev or system, got ${profile}`);
        }
        break;
      case "--data-dir": {
        const v = value();
        set.push((o) => {
          o.dataDir = v;
          // Keep CloudHub's dev socket inside the data dir; `unix:` needs an absolute path, and
          // `$PWD` is expanded by `deno task` (or a shell `eval`).
          if (profile === "dev") {
            o.socketPath = joinPath(
              v.startsWith("/") ? v : `$PWD/${v.replace(/^\.\//, "")}`,
              SOCKET_NAME,
            );
          }
        });
        break;
      }
      case "--config": {
        const v = value();
        set.push((o) => o.configPath = v);
        break;
      }
      case "--kubeconfig": {
        const v = value();
        set.push((o) => o.kubeconfigPath = v);
        break;
      }
      case "--api-server":
        apiServers.push(value());
        break;
      case "--socket": {
        const v = value();
        set.push((o) => o.socketPath = v === "" ? undefined : v);
        break;
      }
      case "--cert":
        certs.push(value());
        break;
      case "--notify-socket": {
        const v = value();
        set.push((o) => o.notifySocket = v === "" ? undefined : v);
        break;
      }
      case "--runtime-dir": {
        const v = value();
        set.push((o) => o.runtimeDir = v);
        break;
      }
      case "--no-quic":
        set.push((o) => o.quic = false);
        break;
      case "--no-embedded-api":
        set.push((o) => o.embeddedApi = false);
        break;
      case "--port":
      case "--bind": {
        const v = value();
        const [key, val] = [v.slice(0, v.indexOf("=")), v.slice(v.indexOf("=") + 1)];
        if (!(key in DEFAULT_PORTS) || !v.includes("=")) {
          throw new PermissionArgsError(
            `${name} expects NAME=VALUE with NAME one of ` +
              `${Object.keys(DEFAULT_PORTS).join("|")}, got ${v}`,
          );
        }
        const k = key as keyof ListenPorts;
        if (name === "--port") {
          const port = Number(val);
          if (!Number.isInteger(port) || port < 1 || port > 65535) {
            throw new PermissionArgsError(`--port ${k}: not a port: ${val}`);
          }
          set.push((o) => o.listenPorts = { ...o.listenPorts, [k]: port });
        } else {
          set.push((o) => o.bindAddresses = { ...o.bindAddresses, [k]: val });
        }
        break;
      }
      case "--shell":
        shell = true;
        break;
      case "--start-task":
        startTask = true;
        break;
      case "--compile-includes":
        compileIncludes = true;
        break;
      case "-h":
      case "--help":
        help = true;
        break;
      default:
        throw new PermissionArgsError(`unknown argument: ${arg}`);
    }
  }
  const base = profile === "system" ? SYSTEM_OPTIONS : DEV_OPTIONS;
  const options: PermissionOptions = {
    ...base,
    listenPorts: { ...base.listenPorts },
    apiServerHosts: [...base.apiServerHosts],
    certPaths: [...(base.certPaths ?? [])],
  };
  for (const apply of set) apply(options);
  options.apiServerHosts.push(...apiServers);
  if (certs.length > 0) options.certPaths = certs;
  return { options, shell, startTask, compileIncludes, help };
}

/** Runs the CLI; returns the exit code (2 for a bad command line, like compile.sh). */
export function permissionsMain(args: string[]): number {
  let cli: PermissionCli;
  try {
    cli = parsePermissionArgs(args);
  } catch (err) {
    if (!(err instanceof PermissionArgsError)) throw err;
    console.error(`permissions.ts: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (cli.help) {
    console.log(USAGE);
    return 0;
  }
  let flags: string[];
  try {
    flags = permissionFlags(cli.options);
  } catch (err) {
    if (!(err instanceof PermissionOptionsError)) throw err;
    console.error(`permissions.ts: ${err.message}`);
    return 2;
  }
  if (cli.compileIncludes) {
    for (const file of COMPILE_INCLUDES) console.log(file);
    return 0;
  }
  if (cli.startTask) console.log(`deno run ${taskWords(flags)} main.ts serve`);
  else if (cli.shell) console.log(taskWords(flags));
  else console.log(flags.join("\n"));
  return 0;
}

if (import.meta.main) Deno.exit(permissionsMain(Deno.args));
