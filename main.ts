/**
 * edgecloud: KubeEdge's cloud side (cloudcore) as one Deno program.
 *
 * `deno task start` (serve), `deno task token`, or `deno run <flags from permissions.ts> main.ts
 * [serve|version|token] [flags]`; see
 * `--help`. The logic lives in cli/; this file only hands over the arguments and exits.
 */
import process from "node:process";
import { runCli } from "./cli/run.ts";

// client-node's HTTP stack requires Node's deprecated `punycode`; the warning it prints is noise
// on every start, not something an operator can act on.
process.noDeprecation = true;

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
