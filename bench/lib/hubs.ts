/**
 * The hubs a scale scenario runs its work against: edgecloud's, and real cloudcore when its path
 * is given (`--cloudcore <path>` or CLOUDCORE_BIN). A scenario runs the same work against each
 * and reports every figure for both with their ratio; without cloudcore it says "not run".
 */
import { spawnCloudcoreHub } from "../../harness/cloudcore_hub.ts";
import { type HubProcess, spawnHub, type SpawnHubOptions } from "../../harness/hub_launcher.ts";
export { cloudcoreBin, sideBySide } from "../../harness/side_by_side.ts";

/** A hub a scenario can start. */
export interface HubChoice {
  name: "edgecloud" | "cloudcore";
  /** For reports, e.g. "cloudcore v1.23.1". */
  label: string;
  start(dataDir: string): Promise<HubProcess>;
}

/** edgecloud's hub (harness/hub_launcher.ts) with `opts`, in the data dir it is given. */
export function edgecloudChoice(opts: Omit<SpawnHubOptions, "dataDir">): HubChoice {
  return {
    name: "edgecloud",
    label: "edgecloud",
    start: (dataDir) => spawnHub({ ...opts, dataDir }),
  };
}

/**
 * Starts `choice` in a fresh temp dir, runs `fn` against it, then stops it and removes the dir
 * whatever `fn` did.
 */
export async function withHub<T>(
  choice: HubChoice,
  scenario: string,
  fn: (hub: HubProcess, dataDir: string) => Promise<T>,
): Promise<T> {
  const dataDir = await Deno.makeTempDir({ prefix: `bench-${scenario}-${choice.name}-` });
  const hub = await choice.start(dataDir);
  try {
    return await fn(hub, dataDir);
  } finally {
    await hub.kill("SIGTERM");
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

/** The cloudcore choice, or undefined (and a "not run" line on stdout) without a binary. */
export function cloudcoreChoice(
  bin: string,
  opts: { nodeLimit?: number } = {},
): HubChoice | undefined {
  if (!bin) {
    console.log("cloudcore: not run (give --cloudcore <path> or CLOUDCORE_BIN)");
    return undefined;
  }
  const choice: HubChoice = {
    name: "cloudcore",
    label: "cloudcore",
    async start(dataDir) {
      // CLOUDCORE_KUBECONFIG: a running API for cloudcore (e.g. a real kube-apiserver with
      // KubeEdge's CRDs, fresh for each run) instead of an edgecloud API-only process.
      const kubeconfig = Deno.env.get("CLOUDCORE_KUBECONFIG") || undefined;
      const hub = await spawnCloudcoreHub({ bin, dataDir, nodeLimit: opts.nodeLimit, kubeconfig });
      choice.label = `cloudcore ${hub.version}`;
      return hub;
    },
  };
  return choice;
}

/** Stops a process (and cloudcore's API beside it) so the other side runs alone. */
export function pause(hub: HubProcess): void {
  for (const pid of pidsOf(hub)) Deno.kill(pid, "SIGSTOP");
}

/** Continues what {@link pause} stopped. */
export function resume(hub: HubProcess): void {
  for (const pid of pidsOf(hub)) Deno.kill(pid, "SIGCONT");
}

function pidsOf(hub: HubProcess): number[] {
  const api = (hub as HubProcess & { apiPid?: number }).apiPid;
  return api ? [hub.pid, api] : [hub.pid];
}

/** Which API cloudcore ran against, for a result's notes. */
export function cloudcoreApi(): string {
  return Deno.env.get("CLOUDCORE_KUBECONFIG")
    ? "the API in CLOUDCORE_KUBECONFIG"
    : "an edgecloud API-only process beside it (not counted in its RSS or CPU)";
}
