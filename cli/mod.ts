/**
 * The `edgecloud` command line: argument parsing, config resolution, `serve`, error lines.
 *
 * @module
 */
export { type CliArgs, type Command, DEFAULT_DATA_DIR, parseCliArgs, UsageError } from "./args.ts";
export { usage } from "./help.ts";
export { isPermissionError, permissionErrorLine } from "./permissions_error.ts";
export { resolveConfig, type ResolvedConfig, type ResolveOptions } from "./resolve_config.ts";
export { type CliDeps, runCli, type TokenProvider } from "./run.ts";
export {
  buildModules,
  type ModuleBuilder,
  type ModuleSpec,
  serve,
  type ServeContext,
  type ServeOptions,
  SHUTDOWN_TIMEOUT_MS,
} from "./serve.ts";
export { startupErrorLine } from "./startup_error.ts";
export { type LaunchPlan, planLaunch } from "./launch_plan.ts";
export { EdgeSimUsageError } from "./edge_sim.ts";
export { VERSION, versionLine } from "./version.ts";
