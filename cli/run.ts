/**
 * `edgecloud` command dispatch: returns the exit code instead of exiting, so tests can call it.
 * Exit codes: 0 ok, 1 startup/runtime error (one line on stderr), 2 usage error.
 */
import { defaultConfig, type DefaultsOptions, minConfig, renderConfig } from "../config/mod.ts";
import type { CloudCoreConfig } from "../config/mod.ts";
import { setLogLevel } from "../lib/mod.ts";
import { parseCliArgs, UsageError } from "./args.ts";
import { usage } from "./help.ts";
import { resolveConfig } from "./resolve_config.ts";
import { type ModuleBuilder, serve } from "./serve.ts";
import { startupErrorLine } from "./startup_error.ts";
import { versionLine } from "./version.ts";

/** Produces the current edge join token (`<sha256hex(CA)>.<jwt>`, docs/protocol.md §5.3). */
export type TokenProvider = (ctx: {
  config: CloudCoreConfig;
  dataDir: string;
}) => Promise<string>;

/** What `runCli` needs from the rest of the program; everything is optional. */
export interface CliDeps extends DefaultsOptions {
  /** Source of `edgecloud token` (default: Secret `kubeedge/tokensecret` via cli/wiring.ts). */
  token?: TokenProvider;
  /** Replaces serve's module builder (tests). */
  buildModules?: ModuleBuilder;
  /** Output for results (default: stdout). */
  out?: (text: string) => void;
  /** Output for the one-line errors (default: stderr). */
  err?: (line: string) => void;
  /** cloudcore's default config path (tests). */
  defaultConfigPath?: string;
  /** Aborting it stops `serve` like SIGTERM (tests, embedding). */
  signal?: AbortSignal;
}

const stdout = (text: string) => console.log(text.replace(/\n$/, ""));
const stderr = (line: string) => console.error(line);

/**
 * Runs `edgecloud` with `argv` (without the program name) and returns the exit code.
 *
 * @example
 * ```ts
 * Deno.exit(await runCli(Deno.args));
 * ```
 */
export async function runCli(argv: string[], deps: CliDeps = {}): Promise<number> {
  const out = deps.out ?? stdout;
  const err = deps.err ?? stderr;
  try {
    // edge-sim has its own flags (cli/edge_sim.ts); loaded on demand like the serve wiring.
    if (argv[0] === "edge-sim") {
      return await (await import("./edge_sim.ts")).runEdgeSimCli(argv.slice(1));
    }
    const args = parseCliArgs(argv);
    if (args.logLevel) setLogLevel(args.logLevel);
    if (args.command === "help") {
      out(usage());
      return 0;
    }
    if (args.command === "version") {
      out(versionLine());
      return 0;
    }
    if (args.defaultConfig) {
      out(renderConfig(defaultConfig(deps)));
      return 0;
    }
    if (args.minConfig) {
      out(renderConfig(minConfig(deps)));
      return 0;
    }
    if (args.command === "kubeconfig") {
      const { kubeconfigCommand } = await import("./kubeconfig_cmd.ts");
      out(
        await kubeconfigCommand({
          dataDir: args.dataDir,
          output: args.output,
          mode: args.mode,
          group: args.group,
        }),
      );
      return 0;
    }
    const { config, file } = await resolveConfig(args, {
      hostAddresses: deps.hostAddresses,
      defaultPath: deps.defaultConfigPath,
    });
    if (args.command === "token") {
      const token = deps.token ?? (await import("./wiring.ts")).currentToken;
      out(await token({ config, dataDir: args.dataDir }));
      return 0;
    }
    return await serve({
      config,
      configFile: file,
      dataDir: args.dataDir,
      logLevel: args.logLevel,
      buildModules: deps.buildModules,
      signal: deps.signal,
    });
  } catch (e) {
    if (e instanceof UsageError) {
      err(`${startupErrorLine(e)} (see edgecloud --help)`);
      return 2;
    }
    err(startupErrorLine(e));
    return 1;
  }
}
