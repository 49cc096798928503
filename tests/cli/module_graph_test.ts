/**
 * What starting edgecloud loads before it can serve (issue 23: start to ready within 1 s). Module
 * loading is most of a start's CPU time, so the graphs are kept small: the launcher behind `deno
 * task start` loads none of the hub, and `serve` (main.ts, then cli/wiring.ts) loads no
 * client-node, the largest package, which only a real cluster's kubeconfig or the typed APIs need
 * (kube/client_node.ts loads it then).
 */
import { assert, assertEquals } from "../assert.ts";
import { ROOT } from "./subprocess.ts";

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

Deno.test("launcher: launch.ts loads neither the serve wiring, the hub nor client-node up front", async () => {
  const graph = [...await staticGraph("launch.ts")];
  assert(graph.some((s) => s.endsWith("/cli/launch_plan.ts")), "the graph was read");
  const heavy = graph.filter((s) =>
    /\/cli\/wiring\.ts$|\/hub\/mod\.ts$|\/apiserver\/mod\.ts$|\/edge\/sim\/mod\.ts$/.test(s) ||
    s.includes("@kubernetes/client-node") || s.includes("@peculiar/x509")
  );
  assertEquals(heavy, []);
});

Deno.test("serve: main.ts and the serve wiring load no client-node up front", async () => {
  for (const entry of ["main.ts", "cli/wiring.ts"]) {
    const graph = [...await staticGraph(entry)];
    assert(graph.some((s) => s.endsWith(`/${entry}`)), `the graph of ${entry} was read`);
    assertEquals(graph.filter((s) => s.includes("@kubernetes/client-node")), [], entry);
  }
  const wiring = [...await staticGraph("cli/wiring.ts")];
  assert(wiring.some((s) => s.endsWith("/kube/client.ts")), "the wiring loads the kube client");
});
