/**
 * The program version, taken from deno.json so there is one place to bump it.
 */
import denoJson from "../deno.json" with { type: "json" };

/** edgecloud's version (deno.json "version"). */
export const VERSION: string = denoJson.version;

/** The line `edgecloud version` prints. */
export function versionLine(): string {
  return `edgecloud ${VERSION} (KubeEdge cloudcore compatible, deno ${Deno.version.deno})`;
}
