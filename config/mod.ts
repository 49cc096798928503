/**
 * cloudcore.yaml configuration: the `CloudCore` kind, its defaults, loading and validation.
 *
 * @example
 * ```ts
 * import { adjustConfig, loadConfig, validateConfig } from "./config/mod.ts";
 * const cfg = await loadConfig("cloudcore.yaml");
 * validateConfig(cfg, "cloudcore.yaml");
 * adjustConfig(cfg);
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "./defaults.ts";
export { ConfigError, type ConfigErrorDetails, fieldError, formatValue } from "./error.ts";
export { mergeConfig, type MergeResult } from "./merge.ts";
export { loadConfig, loadConfigWithWarnings, type LoadOptions, parseConfig } from "./load.ts";
export { renderConfig } from "./render.ts";
export { configErrors, validateConfig, type ValidateOptions } from "./validate.ts";
