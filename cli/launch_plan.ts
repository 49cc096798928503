/**
 * What one `edgecloud` run needs from Deno's permission model, worked out from its own command
 * line and the files it names (docs/permissions.md, "The launcher"): the config the arguments
 * select, the kubeconfig's API servers and certificate files, the listeners' addresses and ports,
 * the data dir and the CSI socket. The flags themselves come from permissions.ts, the one place
 * that states them; this module only fills in its options for the run at hand.
 */
import { isAbsolute, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import {
  DEFAULT_PORTS,
  type ListenPorts,
  permissionFlags,
  type PermissionOptions,
} from "../permissions.ts";
import { type CliArgs, parseCliArgs } from "./args.ts";
import { resolveConfig } from "./resolve_config.ts";
// Not from cli/wiring.ts: the launcher runs before every `deno task start`, and the wiring loads
// the hub's whole module graph (client-node, x509, the embedded API).
import { splitHostPort, udsAddress } from "./addresses.ts";
import type { CloudCoreConfig } from "../config/mod.ts";

/** A run to start: `deno run <flags> main.ts <args>`. */
export interface LaunchPlan {
  flags: string[];
  args: string[];
}

/** Flags for a run that reads and writes nothing (help, version, printing a config). */
const NOTHING: readonly string[] = ["--ignore-env"];

function abs(path: string): string {
  return isAbsolute(path) ? path : resolve(path);
}

/** `https://host[:port]/path` → `host:port` (443 by default), as Deno's --allow-net wants it. */
export function serverHostPort(server: string): string {
  const url = new URL(server);
  const port = url.port || (url.protocol === "http:" ? "80" : "443");
  return `${url.hostname}:${port}`;
}

/** The API servers and the files a kubeconfig names (certificate paths are read by the client). */
export async function kubeconfigNeeds(
  path: string,
): Promise<{ servers: string[]; files: string[] }> {
  const doc = parseYaml(await Deno.readTextFile(path)) as {
    clusters?: { cluster?: Record<string, string> }[];
    users?: { user?: Record<string, string> }[];
  } | null;
  const servers: string[] = [];
  const files: string[] = [];
  const dir = path.slice(0, Math.max(0, path.lastIndexOf("/"))) || ".";
  const file = (p: string | undefined) => {
    if (p) files.push(isAbsolute(p) ? p : `${dir}/${p}`);
  };
  for (const c of doc?.clusters ?? []) {
    if (c.cluster?.server) servers.push(serverHostPort(c.cluster.server));
    file(c.cluster?.["certificate-authority"]);
  }
  for (const u of doc?.users ?? []) {
    file(u.user?.["client-certificate"]);
    file(u.user?.["client-key"]);
    file(u.user?.tokenFile);
  }
  return { servers, files };
}

/** The permission options of `edgecloud serve` with this config. */
export async function serveOptions(
  config: CloudCoreConfig,
  configFile: string | undefined,
  dataDir: string,
  notifySocket?: string,
): Promise<PermissionOptions> {
  const hub = config.modules.cloudHub;
  const kubeconfig = config.kubeAPIConfig.kubeConfig;
  const embedded = !kubeconfig && !config.kubeAPIConfig.master;
  const monitor = splitHostPort(config.commonConfig.monitorServer.bindAddress, 9091);
  const listenPorts: ListenPorts = {
    websocket: hub.websocket.port,
    quic: hub.quic.port,
    https: hub.https.port,
    monitor: monitor.port,
    api: config.apiServer.port ?? DEFAULT_PORTS.api,
  };
  const servers: string[] = [];
  const files: string[] = [];
  if (kubeconfig) {
    const needs = await kubeconfigNeeds(kubeconfig);
    servers.push(...needs.servers);
    files.push(...needs.files);
  } else if (config.kubeAPIConfig.master) {
    servers.push(serverHostPort(config.kubeAPIConfig.master));
  }
  let socketPath: string | undefined;
  if (hub.unixsocket.enable) {
    // The address serve itself will use (cli/wiring.ts), made absolute for `unix:`.
    const address = udsAddress({ config, configFile, dataDir });
    socketPath = abs(address.replace(/^unix:\/\//i, ""));
  }
  return {
    dataDir: abs(dataDir),
    listenPorts,
    bindAddresses: {
      websocket: hub.websocket.address,
      quic: hub.quic.address,
      https: hub.https.address,
      monitor: monitor.host,
      api: config.apiServer.bindAddress,
    },
    apiServerHosts: servers,
    socketPath,
    certPaths: [hub.tlsCAFile, hub.tlsCAKeyFile, hub.tlsCertFile, hub.tlsPrivateKeyFile, ...files],
    configPath: configFile,
    kubeconfigPath: kubeconfig || undefined,
    quic: hub.quic.enable,
    embeddedApi: embedded,
    notifySocket,
    // serve binds the notify sender in the data dir (cli/serve.ts).
    runtimeDir: notifySocket ? abs(dataDir) : undefined,
  };
}

/** `--allow-read` and `--allow-net` of `edgecloud token`: the data dir or kubeconfig, the API. */
async function tokenFlags(args: CliArgs): Promise<string[]> {
  const { config, file } = await resolveConfig(args);
  const read = [args.dataDir];
  if (file) read.push(file);
  const net: string[] = [];
  // apiserver/mod.ts is the embedded API's whole graph: loaded for `token` only, not `serve`.
  const { embeddedKubeconfigPath } = await import("../apiserver/mod.ts");
  const kubeconfig = config.kubeAPIConfig.kubeConfig || embeddedKubeconfigPath(args.dataDir);
  if (config.kubeAPIConfig.kubeConfig) read.push(kubeconfig);
  try {
    const needs = await kubeconfigNeeds(kubeconfig);
    net.push(...needs.servers);
    read.push(...needs.files);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    // No embedded API state yet: `token` itself says to start the hub first.
  }
  const flags = [`--allow-read=${[...new Set(read)].join(",")}`];
  if (net.length > 0) flags.push(`--allow-net=${[...new Set(net)].join(",")}`);
  return [...flags, "--ignore-env"];
}

/** `edge-sim`: its hub's ports on loopback, its certificate cache, its token file. */
async function edgeSimFlags(argv: string[]): Promise<string[]> {
  // Loaded here: its flag limits come from the simulator's modules, which serve does not need.
  const { parseEdgeSimArgs } = await import("./edge_sim.ts");
  const a = await parseEdgeSimArgs(argv);
  if (a.help) return [...NOTHING];
  const read = [a.cacheDir, ...(a.tokenFile ? [a.tokenFile] : [])];
  const flags = [
    `--allow-net=${[...new Set([a.server, a.certServer])].join(",")}`,
    `--allow-read=${read.join(",")}`,
    `--allow-write=${a.cacheDir}`,
    "--ignore-env",
  ];
  return a.transport === "quic" ? ["--unstable-net", ...flags] : flags;
}

/**
 * The plan for `edgecloud <argv>`. Throws what the program itself would for a bad command line
 * or config (UsageError, ConfigError, EdgeSimUsageError), so the launcher reports it the same way.
 */
export async function planLaunch(
  argv: string[],
  env: { notifySocket?: string } = {},
): Promise<LaunchPlan> {
  if (argv[0] === "edge-sim") return { flags: await edgeSimFlags(argv.slice(1)), args: argv };
  const args = parseCliArgs(argv);
  if (args.command === "help" || args.command === "version") {
    return { flags: [...NOTHING], args: argv };
  }
  if (args.command === "token") return { flags: await tokenFlags(args), args: argv };
  if (args.command === "kubeconfig") {
    const read = [args.dataDir, ...(args.group ? ["/etc/group"] : [])];
    const flags = [`--allow-read=${read.join(",")}`];
    if (args.output) flags.push(`--allow-write=${args.output}`);
    return { flags: [...flags, "--ignore-env"], args: argv };
  }
  if (args.defaultConfig || args.minConfig) return { flags: [...NOTHING], args: argv };
  const { config, file } = await resolveConfig(args);
  const options = await serveOptions(config, file, args.dataDir, env.notifySocket);
  return { flags: permissionFlags(options), args: argv };
}
