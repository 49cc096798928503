/**
 * `edgecloud kubeconfig`: the embedded API's admin kubeconfig for an operator, as k3s's
 * `--write-kubeconfig` / `--write-kubeconfig-mode` give one. Printed on stdout, or written to
 * `--output FILE` with `--mode` (default 0600) and, with `--group NAME`, owned by that group so
 * its members can run kubectl without being the service user (docs/deploy.md).
 */

import { embeddedKubeconfigPath } from "../apiserver/mod.ts";

/** What to write and how. */
export interface KubeconfigOptions {
  dataDir: string;
  output?: string;
  /** File mode, e.g. 0o640. */
  mode: number;
  group?: string;
}

/** The numeric id of group `name` from /etc/group. */
export async function groupId(name: string, groupFile = "/etc/group"): Promise<number> {
  if (/^\d+$/.test(name)) return Number(name);
  for (const line of (await Deno.readTextFile(groupFile)).split("\n")) {
    const [group, , gid] = line.split(":");
    if (group === name && gid !== undefined) return Number(gid);
  }
  throw new Error(`no group ${JSON.stringify(name)} in ${groupFile}`);
}

/** The admin kubeconfig of the embedded API whose state is in `dataDir`. */
export async function readAdminKubeconfig(dataDir: string): Promise<string> {
  const path = embeddedKubeconfigPath(dataDir);
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(
        `no embedded API state in ${dataDir} (${path} is missing): start "edgecloud serve" first, or use the cluster's own kubeconfig`,
      );
    }
    throw err;
  }
}

/** Prints (returns) or writes the kubeconfig; returns what to print. */
export async function kubeconfigCommand(o: KubeconfigOptions): Promise<string> {
  const text = await readAdminKubeconfig(o.dataDir);
  if (!o.output) return text.trimEnd();
  // Written with the final mode from the start: never readable by others, even briefly.
  await Deno.writeTextFile(o.output, text, { mode: o.mode });
  await Deno.chmod(o.output, o.mode);
  if (o.group) await Deno.chown(o.output, null, await groupId(o.group));
  return `wrote ${o.output} (mode ${o.mode.toString(8).padStart(4, "0")}${
    o.group ? `, group ${o.group}` : ""
  })`;
}
