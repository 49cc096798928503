/**
 * `edgecloud --help` text.
 */
import { DEFAULT_DATA_DIR } from "./args.ts";
import { DEFAULT_CONFIG_PATH } from "../config/mod.ts";

/** The usage text (ends with a newline). */
export function usage(): string {
  return `edgecloud: KubeEdge's cloud side (cloudcore) as one Deno program

Usage:
  edgecloud [serve] [flags]   run the hub (default command)
  edgecloud version           print the version
  edgecloud token [flags]     print the current edge join token (like keadm gettoken)
  edgecloud kubeconfig [flags]
                              print the embedded API's admin kubeconfig, or write it:
                              --output FILE [--mode 0640] [--group NAME] (default mode 0600)
  edgecloud edge-sim [flags]  run simulated edge nodes against a hub on this machine (--help)

Flags:
  --config FILE         cloudcore.yaml to load (default: ${DEFAULT_CONFIG_PATH}
                        if it exists, else the built-in defaults)
  --defaultconfig       print the full default configuration and exit
  --minconfig           print a minimal configuration and exit
  --data-dir DIR        where state lives (default: ${DEFAULT_DATA_DIR})
  --log-level LEVEL     debug, info, warn or error (default: info)
  --kubeconfig FILE     use this cluster instead of the embedded API
                        (overrides kubeAPIConfig.kubeConfig)
  --api-port N          port of the embedded API (overrides apiServer.port; 0 = any free port)
  -h, --help            show this help
`;
}
