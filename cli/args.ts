/**
 * Command-line parsing for `edgecloud` (node:util parseArgs; JSR's @std/cli is unreachable here).
 * The flags mirror cloudcore's (`--config`, `--defaultconfig`, `--minconfig`) plus edgecloud's own.
 */
import { parseArgs } from "node:util";
import { isLogLevel, type LogLevel } from "../lib/mod.ts";

/** Commands `edgecloud` understands. */
export type Command = "serve" | "version" | "token" | "kubeconfig" | "help";

const COMMANDS: readonly Command[] = ["serve", "version", "token", "kubeconfig", "help"];

/** Default `--data-dir`. */
export const DEFAULT_DATA_DIR = "./.edgecloud";

/** Parsed command line. */
export interface CliArgs {
  command: Command;
  /** `--config FILE`; undefined means cloudcore's default path if it exists, else defaults. */
  config?: string;
  /** `--defaultconfig`: print the full default config and exit. */
  defaultConfig: boolean;
  /** `--minconfig`: print the minimal config and exit. */
  minConfig: boolean;
  /** `--data-dir DIR`, default {@link DEFAULT_DATA_DIR}. */
  dataDir: string;
  /** `--log-level`. */
  logLevel?: LogLevel;
  /** `--kubeconfig FILE`, overrides `kubeAPIConfig.kubeConfig`. */
  kubeconfig?: string;
  /** `--api-port N`, overrides `apiServer.port`. */
  apiPort?: number;
  /** `kubeconfig --output FILE`. */
  output?: string;
  /** `kubeconfig --mode 0640` (default 0600). */
  mode: number;
  /** `kubeconfig --group NAME`. */
  group?: string;
}

/** A command-line mistake; the CLI prints its one-line message and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Thrown for a bad `edge-sim` command line (cli/edge_sim.ts); here so the launcher needs no more. */
export class EdgeSimUsageError extends Error {
  override name = "EdgeSimUsageError";
}

const OPTIONS = {
  config: { type: "string" },
  defaultconfig: { type: "boolean" },
  minconfig: { type: "boolean" },
  "data-dir": { type: "string" },
  "log-level": { type: "string" },
  kubeconfig: { type: "string" },
  "api-port": { type: "string" },
  output: { type: "string" },
  mode: { type: "string" },
  group: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} as const;

/** Turns parseArgs' multi-sentence messages into one short line. */
function usageMessage(err: Error & { code?: string }): string {
  const option = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1];
  switch (err.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown flag ${option ?? err.message}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (!option) return err.message.split("\n")[0];
      return /does not take an argument/.test(err.message)
        ? `flag ${option} does not take a value`
        : `flag ${option} needs a value`;
    default:
      return err.message.split("\n")[0];
  }
}

/**
 * Parses `argv` (without the program name). Throws {@link UsageError} for unknown flags or
 * commands, missing or bad values.
 *
 * @example
 * ```ts
 * parseCliArgs(["serve", "--data-dir", "/var/lib/edgecloud"]).dataDir; // "/var/lib/edgecloud"
 * ```
 */
export function parseCliArgs(argv: string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(usageMessage(err as Error & { code?: string }));
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
  }
  const name = positionals[0] ?? "serve";
  if (!COMMANDS.includes(name as Command)) {
    throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  }
  let command = name as Command;
  if (values.version) command = "version";
  if (values.help) command = "help";

  const logLevel = values["log-level"];
  if (logLevel !== undefined && !isLogLevel(logLevel)) {
    throw new UsageError(
      `--log-level ${JSON.stringify(logLevel)} is not one of debug, info, warn, error`,
    );
  }
  let apiPort: number | undefined;
  const rawPort = values["api-port"];
  if (rawPort !== undefined) {
    apiPort = /^\d+$/.test(rawPort) ? Number(rawPort) : NaN;
    if (!(apiPort >= 0 && apiPort <= 65535)) {
      throw new UsageError(`--api-port ${JSON.stringify(rawPort)} is not a port (0-65535)`);
    }
  }
  const rawMode = values.mode ?? "0600";
  if (!/^0?[0-7]{3}$/.test(rawMode)) {
    throw new UsageError(`--mode ${JSON.stringify(rawMode)} is not an octal mode such as 0640`);
  }
  for (const flag of ["output", "mode", "group"] as const) {
    if (values[flag] !== undefined && command !== "kubeconfig") {
      throw new UsageError(`flag --${flag} is only for "edgecloud kubeconfig"`);
    }
  }
  for (const flag of ["config", "data-dir", "kubeconfig", "output", "group"] as const) {
    if (values[flag] === "") throw new UsageError(`flag --${flag} needs a value`);
  }
  return {
    command,
    config: values.config,
    defaultConfig: values.defaultconfig ?? false,
    minConfig: values.minconfig ?? false,
    dataDir: values["data-dir"] ?? DEFAULT_DATA_DIR,
    logLevel: logLevel as LogLevel | undefined,
    kubeconfig: values.kubeconfig,
    apiPort,
    output: values.output,
    mode: parseInt(rawMode, 8),
    group: values.group,
  };
}
