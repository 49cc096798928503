/**
 * One leader-election candidate as its own process (not a test file): used by
 * failover_process_test.ts to kill a leader for real. Prints one line per event on stdout:
 * `leading`, `stopped`, `leader <identity>`.
 *
 * Usage: deno run <narrow flags> tests/ha/elector_proc.ts <kubeconfig> <identity>
 */
import { KubeConfig } from "@kubernetes/client-node";
import { LeaderElector, leaseLockFor } from "../../ha/mod.ts";
import { setLogSink } from "../../lib/log.ts";

const [kubeconfig, identity] = Deno.args;
setLogSink(() => {});
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const elector = new LeaderElector({
  lock: leaseLockFor(kc),
  identity,
  // Short but valid durations, so a real kill resolves in seconds.
  leaseDurationSeconds: 2,
  renewDeadlineSeconds: 1.5,
  retryPeriodSeconds: 0.4,
  callbacks: {
    onStartedLeading: () => console.log("leading"),
    onStoppedLeading: () => console.log("stopped"),
    onNewLeader: (id) => console.log(`leader ${id}`),
  },
});
elector.start();
Deno.addSignalListener("SIGTERM", async () => {
  await elector.stop();
  Deno.exit(0);
});
