/**
 * edgecloud: KubeEdge's cloud side (cloudcore) as one Deno program.
 *
 * `deno run --unstable-kv --unstable-net -A main.ts [serve|version|token] [flags]`; see
 * `--help`. The logic lives in cli/; this file only hands over the arguments and exits.
 */
import { runCli } from "./cli/run.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
