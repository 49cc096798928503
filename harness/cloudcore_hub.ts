/**
 * Real cloudcore as the hub of a scale scenario, behind the same {@link HubProcess} face as
 * edgecloud's hub ({@link ./hub_launcher.ts}), so a scenario runs its work against either.
 *
 * cloudcore needs an API: an edgecloud process with only the embedded API is started beside it
 * (so the RSS and CPU read through `rss()`/`pid` are cloudcore's alone, as a hub against an
 * external kube-apiserver), unless `kubeconfig` names one already running (a real
 * kube-apiserver with KubeEdge's CRDs installed; the `kubeedge` namespace is created if missing). cloudcore makes its own CA and join token; the token is read from
 * the `kubeedge/tokensecret` Secret, and nodes bootstrap through cloudcore's cert server like
 * real edges. cloudcore's path comes from the caller (flag or env var); nothing here builds it.
 *
 * @example
 * ```ts
 * const hub = await spawnCloudcoreHub({ bin: Deno.env.get("CLOUDCORE_BIN")!, dataDir });
 * // ... a fleet against hub.server, bootstrapped at hub.certServer with hub.token
 * await hub.kill();
 * ```
 */
import type { HubProcess } from "./hub_launcher.ts";
import { startApiOnly, startCloudcore } from "./serve_process.ts";
import { KubeApiError, KubeClient, type KubeObject } from "../kube/mod.ts";

/** Options of {@link spawnCloudcoreHub}. */
export interface CloudcoreHubOptions {
  /** The cloudcore binary. */
  bin: string;
  /** Work dir: the API's data, cloudcore's config, CA and log (`cloudcore/cloudcore.log`). */
  dataDir: string;
  /** cloudHub.nodeLimit (default 20 000). */
  nodeLimit?: number;
  /** Soft fd limit for cloudcore (default 1 048 576, capped at the hard limit). */
  nofile?: number;
  /** An API already running (e.g. a real kube-apiserver) instead of an edgecloud API process. */
  kubeconfig?: string;
}

/** A running cloudcore (with the API it talks to). */
export interface CloudcoreHub extends HubProcess {
  /**
   * The API process's pid (stopped and continued with the hub by scenarios that alternate);
   * undefined when the API was given (`kubeconfig`).
   */
  apiPid?: number;
  /** cloudcore's version, for reports. */
  version: string;
}

/**
 * cloudcore's version for reports: CLOUDCORE_VERSION when set (a binary built from a source tree
 * without release ldflags calls itself "v0.0.0-master"), else the "Version:" line of its log.
 */
export function cloudcoreVersion(logLines: readonly string[]): string {
  const env = Deno.env.get("CLOUDCORE_VERSION");
  if (env) return env;
  for (const l of logLines) {
    const m = l.match(/\] Version: (\S+)/);
    if (m) return m[1];
  }
  return "unknown";
}

/** The join token cloudcore keeps in the `kubeedge/tokensecret` Secret (polled for up to 60 s). */
export async function joinToken(kube: KubeClient): Promise<string> {
  for (let i = 0; i < 240; i++) {
    try {
      const s = await kube.get<KubeObject & { data?: { tokendata?: string } }>(
        "/api/v1/namespaces/kubeedge/secrets/tokensecret",
      );
      if (s.data?.tokendata) return atob(s.data.tokendata);
    } catch { /* not written yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("cloudcore wrote no join token (kubeedge/tokensecret) within 60 s");
}

/** Starts the API, then cloudcore against it; resolves once its join token exists. */
export async function spawnCloudcoreHub(opts: CloudcoreHubOptions): Promise<CloudcoreHub> {
  const api = opts.kubeconfig ? undefined : await startApiOnly(`${opts.dataDir}/api`);
  const kubeconfig = opts.kubeconfig ?? api!.kubeconfig;
  let cc: Awaited<ReturnType<typeof startCloudcore>> | undefined;
  const kube = KubeClient.fromFile(kubeconfig, { qps: 0 });
  try {
    // A real kube-apiserver has no namespace until someone creates it; cloudcore does not.
    if (opts.kubeconfig) {
      await kube.create("/api/v1/namespaces", {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "kubeedge" },
      }).catch((err) => {
        if (!(err instanceof KubeApiError && err.code === 409)) throw err;
      });
    }
    cc = await startCloudcore(
      opts.bin,
      `${opts.dataDir}/cloudcore`,
      kubeconfig,
      opts.nodeLimit ?? 20_000,
      { nofile: opts.nofile ?? 1_048_576 },
    );
    const token = await joinToken(kube);
    const { hub, ws, https } = cc;
    const status = Promise.all([hub.status, api?.hub.status]).then(([s]) => s);
    return {
      pid: hub.pid,
      apiPid: api?.hub.pid,
      version: cloudcoreVersion(hub.lines),
      server: `127.0.0.1:${ws}`,
      port: ws,
      tunnelServer: "",
      certServer: `127.0.0.1:${https}`,
      token,
      kubeconfigPath: kubeconfig,
      rss: () => hub.rss(),
      // Its API requests are not counted (cloudcore prints no such figure).
      apiRequests: () => NaN,
      async kill(signal: Deno.Signal = "SIGTERM") {
        await hub.kill(signal);
        await api?.hub.kill();
      },
      status,
    };
  } catch (err) {
    await cc?.hub.kill();
    await api?.hub.kill();
    throw err;
  } finally {
    await kube.close();
  }
}
