/**
 * cli/addresses.ts spells out the hub's default CSI socket rule so the launcher need not load the
 * hub; these keep the two equal, and keep the launcher's static module graph free of the hub's
 * (issue 23: every `deno task start` runs the launcher first).
 */
import { assert, assertEquals } from "../assert.ts";
import { splitHostPort, udsAddress } from "../../cli/addresses.ts";
import { DEFAULT_UNIX_SOCKET, defaultConfig } from "../../config/mod.ts";
import { DEFAULT_UDS_ADDRESS, defaultUdsAddress } from "../../hub/mod.ts";
import { ROOT } from "./subprocess.ts";

Deno.test("addresses: the CSI socket default is the hub's, in the data dir without a config file", () => {
  assertEquals(DEFAULT_UNIX_SOCKET, DEFAULT_UDS_ADDRESS);
  const config = defaultConfig({ hostAddresses: ["127.0.0.1"] });
  for (const dataDir of ["/srv/ec", "/srv/ec/", "./.edgecloud"]) {
    assertEquals(udsAddress({ config, dataDir }), defaultUdsAddress(dataDir));
  }
  assertEquals(
    udsAddress({ config, configFile: "/etc/c.yaml", dataDir: "/x" }),
    DEFAULT_UDS_ADDRESS,
  );
  assertEquals(splitHostPort("127.0.0.1:0", 9091), { host: "127.0.0.1", port: 0 });
  assertEquals(splitHostPort("[::1]:9091", 1), { host: "::1", port: 9091 });
  assertEquals(splitHostPort("", 9091), { host: "127.0.0.1", port: 9091 });
});

/** Modules `entry` loads before running (static imports, not `import()` or `import type`). */
async function staticGraph(entry: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    redirects: Record<string, string>;
    modules: {
      specifier: string;
      dependencies?: { isDynamic?: boolean; code?: { specifier: string } }[];
    }[];
  };
  const bySpec = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const visit = (spec: string) => {
    const s = info.redirects[spec] ?? spec;
    if (seen.has(s)) return;
    seen.add(s);
    for (const d of bySpec.get(s)?.dependencies ?? []) {
      if (!d.isDynamic && d.code) visit(d.code.specifier);
    }
  };
  for (const r of info.roots) visit(r);
  return seen;
}

Deno.test("addresses: launch.ts loads neither the serve wiring, the hub nor client-node up front", async () => {
  const graph = [...await staticGraph("launch.ts")];
  assert(graph.some((s) => s.endsWith("/cli/launch_plan.ts")), "the graph was read");
  const heavy = graph.filter((s) =>
    /\/cli\/wiring\.ts$|\/hub\/mod\.ts$|\/apiserver\/mod\.ts$|\/edge\/sim\/mod\.ts$/.test(s) ||
    s.includes("@kubernetes/client-node") || s.includes("@peculiar/x509")
  );
  assertEquals(heavy, []);
});
