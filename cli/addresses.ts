/**
 * Addresses `edgecloud serve` derives from its config, shared by the serve wiring and the launcher
 * (cli/launch_plan.ts). Kept apart from cli/wiring.ts so the launcher, which only works out
 * permissions, does not load the modules and client libraries the hub needs.
 */
import { DEFAULT_UNIX_SOCKET } from "../config/mod.ts";
import type { ServeContext } from "./serve.ts";

/**
 * The CSI socket address: the configured one, except that a run without a config file keeps
 * KubeEdge's production default out of `/var/lib` and uses `<data-dir>/kubeedge.sock` (the
 * hub's `defaultUdsAddress(dataDir)`, spelled out here because hub/mod.ts is the hub's whole
 * module graph; tests/cli/addresses_test.ts keeps the two equal).
 */
export function udsAddress(
  ctx: Pick<ServeContext, "config" | "configFile" | "dataDir">,
): string {
  const configured = ctx.config.modules.cloudHub.unixsocket.address;
  if (!ctx.configFile && configured === DEFAULT_UNIX_SOCKET) {
    return `unix://${ctx.dataDir.replace(/\/+$/, "")}/kubeedge.sock`;
  }
  return configured;
}

/** `host:port` → {host, port}; used for `commonConfig.monitorServer.bindAddress`. */
export function splitHostPort(value: string, fallbackPort: number): { host: string; port: number } {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(value);
  if (!m) return { host: value || "127.0.0.1", port: fallbackPort };
  return { host: m[1], port: Number(m[2]) };
}
