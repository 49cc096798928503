/**
 * Finds, loads, overrides, validates and adjusts the config for a command, the way cloudcore's
 * startup does (load over defaults → validate → AdjustCloudCoreConfig), with edgecloud's flags
 * applied on top.
 */
import { isAbsolute, resolve } from "node:path";
import {
  adjustConfig,
  type CloudCoreConfig,
  ConfigError,
  DEFAULT_CONFIG_PATH,
  defaultConfig,
  type DefaultsOptions,
  loadConfig,
  validateConfig,
} from "../config/mod.ts";
import { createLogger } from "../lib/mod.ts";
import type { CliArgs } from "./args.ts";

const log = createLogger("config");

/** A config ready to run with, and where it came from. */
export interface ResolvedConfig {
  config: CloudCoreConfig;
  /** The file loaded, or undefined when running on the built-in defaults. */
  file?: string;
}

/** Options for {@link resolveConfig}; injectable for tests. */
export interface ResolveOptions extends DefaultsOptions {
  /** cloudcore's default config path, tried when `--config` is not given. */
  defaultPath?: string;
}

/** Flags that override a config field, so an error in that field names the flag. */
const FLAG_FIELDS: Record<string, string> = {
  "kubeAPIConfig.kubeConfig": "--kubeconfig",
  "apiServer.port": "--api-port",
};

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch (err) {
    // Not found, or not allowed to look: either way there is no default file to use.
    log.debug("default config not used", { path, reason: (err as Error).message });
    return false;
  }
}

/** Makes a flag's path absolute (KubeEdge requires an absolute kubeConfig); keeps it if cwd is unreadable. */
function absolute(path: string): string {
  if (isAbsolute(path)) return path;
  try {
    return resolve(path);
  } catch {
    return path;
  }
}

/**
 * Resolves the config for `args`: `--config FILE`, else cloudcore's default path if it exists,
 * else the defaults; then `--kubeconfig` / `--api-port`; then validation and adjustment.
 * Throws {@link ConfigError} (one line) for any problem.
 */
export async function resolveConfig(
  args: CliArgs,
  options?: ResolveOptions,
): Promise<ResolvedConfig> {
  const defaultPath = options?.defaultPath ?? DEFAULT_CONFIG_PATH;
  const file = args.config ?? (exists(defaultPath) ? defaultPath : undefined);
  const config = file ? await loadConfig(file, options) : defaultConfig(options);
  if (args.kubeconfig !== undefined) config.kubeAPIConfig.kubeConfig = absolute(args.kubeconfig);
  if (args.apiPort !== undefined) config.apiServer.port = args.apiPort;

  try {
    validateConfig(config, file ?? "<defaults>");
  } catch (err) {
    const flag = err instanceof ConfigError && err.field ? FLAG_FIELDS[err.field] : undefined;
    const fromFlag = flag !== undefined &&
      (flag === "--kubeconfig" ? args.kubeconfig !== undefined : args.apiPort !== undefined);
    if (!fromFlag) throw err;
    const e = err as ConfigError;
    throw new ConfigError(e.message.replace(`${e.file}: `, `${flag}: `), { ...e, file: flag });
  }

  const before = { qps: config.kubeAPIConfig.qps, burst: config.kubeAPIConfig.burst };
  if (adjustConfig(config)) {
    log.info("node-scaled settings adjusted to nodeLimit", {
      nodeLimit: config.modules.cloudHub.nodeLimit,
      qps: `${before.qps}->${config.kubeAPIConfig.qps}`,
      burst: `${before.burst}->${config.kubeAPIConfig.burst}`,
    });
  }
  return { config, file };
}
