/**
 * The launcher behind `deno task start`, `token` and `edge-sim`: takes exactly the arguments of
 * `edgecloud serve|token|edge-sim`, works out the narrowest Deno permissions this run needs
 * (cli/launch_plan.ts, flags from permissions.ts) and runs `deno run <those flags> main.ts <args>`
 * with the same stdio, passing SIGINT/SIGTERM on and exiting with its code.
 *
 * The launcher itself needs to read the config and kubeconfig the arguments name (anywhere, so
 * `--allow-read`), to start `deno` (`--allow-run=deno`, resolved on PATH as `deno task` sets it)
 * and to see `NOTIFY_SOCKET` (systemd). `--print` (the launcher's own flag, anywhere in the
 * arguments) prints the command instead of running it.
 *
 * ```sh
 * deno run --allow-read --allow-run=deno --allow-env=NOTIFY_SOCKET --ignore-env launch.ts \
 *   serve --data-dir /tmp/x --config /etc/kubeedge/config/cloudcore.yaml
 * ```
 */
import process from "node:process";
import { fileURLToPath } from "node:url";
// The modules themselves, not cli/mod.ts: that one re-exports the edge simulator's CLI, which
// the launcher of every `deno task start` has no use for.
import { EdgeSimUsageError, UsageError } from "./cli/args.ts";
import { planLaunch } from "./cli/launch_plan.ts";
import { startupErrorLine } from "./cli/startup_error.ts";
import { setLogLevel } from "./lib/mod.ts";

process.noDeprecation = true;

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

/** Quotes a word for a POSIX shell when it needs it. */
function shellWord(word: string): string {
  return /^[\w./:=,@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

async function launch(argv: string[]): Promise<number> {
  // `--print` (anywhere: `deno task start --print ...`) is the launcher's own flag.
  const print = argv.includes("--print");
  const args = argv.filter((a) => a !== "--print");
  // Config loading logs at info; the program itself will say it again when it runs.
  setLogLevel("warn");
  let plan;
  try {
    plan = await planLaunch(args, { notifySocket: Deno.env.get("NOTIFY_SOCKET") || undefined });
  } catch (err) {
    const usage = err instanceof UsageError || err instanceof EdgeSimUsageError;
    console.error(`${startupErrorLine(err)}${usage ? " (see edgecloud --help)" : ""}`);
    return usage ? 2 : 1;
  }
  const command = ["run", ...plan.flags, MAIN, ...plan.args];
  if (print) {
    console.log(["deno", ...command].map(shellWord).join(" "));
    return 0;
  }
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("deno", { args: command, stdin: "inherit" }).spawn();
  } catch (err) {
    console.error(startupErrorLine(
      err instanceof Deno.errors.NotFound
        ? new Error("launch.ts starts `deno` from PATH; run it through `deno task`")
        : err,
    ));
    return 1;
  }
  const forward = (signal: Deno.Signal) => () => {
    try {
      child.kill(signal);
    } catch { /* already gone */ }
  };
  const handlers: [Deno.Signal, () => void][] = [
    ["SIGINT", forward("SIGINT")],
    ["SIGTERM", forward("SIGTERM")],
  ];
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  const status = await child.status;
  for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  return status.signal ? 128 + signalNumber(status.signal) : status.code;
}

function signalNumber(signal: Deno.Signal): number {
  return signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : signal === "SIGKILL" ? 9 : 1;
}

if (import.meta.main) Deno.exit(await launch(Deno.args));
