/**
 * Where the tests find KubeEdge's own CRD manifests (test data beside the repository, never
 * copied into it). Not a test file itself.
 */
import { fileURLToPath } from "node:url";

/**
 * The folder of KubeEdge's CRD manifests for release `version` (`v1.15.0`, `v1.23.1`): under
 * `KUBEEDGE_CRDS_DIR`, by default `shared/kubeedge-crds` beside the repository; undefined when
 * it is not there.
 */
export function kubeedgeCrdsDir(version: string): string | undefined {
  const base = Deno.env.get("KUBEEDGE_CRDS_DIR") ??
    fileURLToPath(new URL("../../shared/kubeedge-crds", import.meta.url));
  try {
    return Deno.statSync(`${base}/${version}`).isDirectory ? `${base}/${version}` : undefined;
  } catch {
    return undefined;
  }
}
