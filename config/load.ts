/**
 * Reads cloudcore.yaml files: YAML (via npm:yaml) merged over the defaults.
 */
import { parseDocument } from "yaml";
import { createLogger } from "../lib/mod.ts";
import { defaultConfig, type DefaultsOptions } from "./defaults.ts";
import { ConfigError } from "./error.ts";
import { mergeConfig, type MergeResult } from "./merge.ts";
import type { CloudCoreConfig } from "./types.ts";

export { renderConfig } from "./render.ts";

const log = createLogger("config");

/** Options for parsing and loading. */
export interface LoadOptions extends DefaultsOptions {
  /** Config to merge over; default {@link defaultConfig} (with `hostAddresses`). */
  base?: CloudCoreConfig;
  /** Called with each warning; default logs it at warn level. */
  onWarning?: (warning: string) => void;
}

/**
 * Parses cloudcore.yaml text over the defaults. `file` names the source in messages.
 * Throws {@link ConfigError} for malformed YAML (with line and column) or a wrongly typed value.
 *
 * The text is read as YAML 1.1, the dialect of go-yaml v2 that sigs.k8s.io/yaml uses, so
 * `enable: yes` means true exactly as it does for cloudcore.
 */
export function parseConfig(text: string, file: string, options?: LoadOptions): MergeResult {
  const doc = parseDocument(text, { version: "1.1", prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0];
    // yaml's message ends with " at line L, column C:" and a code excerpt; keep the reason only.
    const reason = first.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
    throw new ConfigError(`${where}: malformed YAML: ${reason}`, {
      file,
      line: pos?.line,
      column: pos?.col,
    });
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError(`${file}: malformed YAML: ${(err as Error).message}`, { file });
  }
  const base = options?.base ?? defaultConfig(options);
  return mergeConfig(base, raw, file);
}

/**
 * Reads and parses a config file, returning the config and its warnings (also passed to
 * `onWarning` / logged). A missing or unreadable file is a {@link ConfigError}; Deno permission
 * errors (`NotCapable`) are rethrown untouched so the command line can name the missing flag.
 */
export async function loadConfigWithWarnings(
  path: string,
  options?: LoadOptions,
): Promise<MergeResult> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable) throw err;
    const reason = err instanceof Deno.errors.NotFound
      ? "file not found"
      : `cannot read: ${(err as Error).message}`;
    throw new ConfigError(`${path}: ${reason}`, { file: path });
  }
  const result = parseConfig(text, path, options);
  const warn = options?.onWarning ?? ((w: string) => log.warn(w));
  for (const warning of result.warnings) warn(warning);
  return result;
}

/**
 * Loads a cloudcore.yaml: omitted fields keep their defaults, unknown keys are logged as
 * warnings. Does not validate ranges (see `validateConfig`) and does not adjust node-scaled values
 * (see `adjustConfig`), mirroring cloudcore's separate steps.
 *
 * @example
 * ```ts
 * const cfg = await loadConfig("/etc/kubeedge/config/cloudcore.yaml");
 * cfg.modules.cloudHub.websocket.port;
 * ```
 */
export async function loadConfig(path: string, options?: LoadOptions): Promise<CloudCoreConfig> {
  return (await loadConfigWithWarnings(path, options)).config;
}
