/**
 * The import graph keeps issue 18's layers: every product .ts file's imports (static `import` /
 * `export ... from`, and `import()` of a string literal) are read and checked against the table
 * below. A folder imports only the folders it lists; the hub and the controllers never import
 * each other; another folder is entered only through its `mod.ts` (a sub-folder with its own
 * `mod.ts`, such as `controllers/edge/` or `hub/certs/`, may be entered through that one); and no
 * folder re-exports another's (one door per helper).
 *
 * ```
 * main.ts, launch.ts, permissions.ts, cli/  composition root: every folder (through mod.ts)
 * lib/         nothing of ours
 * config/      lib                       (the configuration model: types, defaults, validation)
 * modules/     lib
 * pki/         lib
 * protocol/    modules, lib
 * kube/        modules, lib, config
 * hub/         modules, lib, protocol, pki, kube, config
 * controllers/ modules, lib, kube, config   (controllers/<x>/ enter each other through mod.ts)
 * apiserver/   lib, pki
 * ha/          kube, modules, lib, config
 * edge/        modules, protocol, pki, lib
 * ```
 *
 * tests/, bench/ and scripts/ are not product code and are not checked. Imports that go against
 * the table today and could not be fixed yet are in {@link ALLOWED} as exact (file, import)
 * pairs, each with the reason; anything else fails, so no new violation can land.
 */
import { assertEquals } from "./assert.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** Folder → the folders it may import (besides itself). */
const LAYERS: Record<string, readonly string[]> = {
  lib: [],
  config: ["lib"],
  modules: ["lib"],
  pki: ["lib"],
  protocol: ["modules", "lib"],
  kube: ["modules", "lib", "config"],
  hub: ["modules", "lib", "protocol", "pki", "kube", "config"],
  controllers: ["modules", "lib", "kube", "config"],
  apiserver: ["lib", "pki"],
  ha: ["kube", "modules", "lib", "config"],
  edge: ["modules", "protocol", "pki", "lib"],
};

/** The composition root: may import any folder, but only through its mod.ts. */
const ROOT_FOLDERS = ["cli"];
const ROOT_FILES = ["main.ts", "launch.ts", "permissions.ts"];

/**
 * Known violations, `"<file> -> <imported file>"` (paths from the repository root). Remove an
 * entry when its import is fixed; the test also fails on an entry that no longer occurs.
 */
const ALLOWED: ReadonlySet<string> = new Set<string>([]);

/** Folders whose exported interfaces (type-only imports of their mod.ts) a folder may use. */
const TYPES_ONLY: Record<string, readonly string[]> = {
  ha: ["hub", "controllers"],
};

/** One import of one file. */
interface Edge {
  from: string;
  to: string;
  /** `import type` / `export type`: erased, names an interface only. */
  typeOnly?: boolean;
  /** `export ... from`: a re-export. */
  reexport?: boolean;
}

/** One import specifier of a file. */
export interface ImportRef {
  spec: string;
  typeOnly: boolean;
  reexport: boolean;
}

const SPEC =
  /(?:^|[\s;}])(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']|(?:^|[\s;}])import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** Imports of `text` (block and line comments removed first, so examples in docs do not count). */
export function importsOf(text: string): string[] {
  return importRefsOf(text).map((r) => r.spec);
}

/** Imports of `text` with whether each is type-only. */
export function importRefsOf(text: string): ImportRef[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  const out: ImportRef[] = [];
  for (const m of code.matchAll(SPEC)) {
    const spec = m[1] ?? m[2] ?? m[3];
    out.push({
      spec,
      typeOnly: /^\s*[;}]?\s*(?:import|export)\s+type\s/.test(m[0]),
      reexport: /^\s*[;}]?\s*export\s/.test(m[0]),
    });
  }
  return out;
}

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(`${ROOT}/${dir}`)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* tsFiles(path);
    else if (e.isFile && e.name.endsWith(".ts")) yield path;
  }
}

function normalize(path: string): string {
  const parts: string[] = [];
  for (const p of path.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") parts.pop();
    else parts.push(p);
  }
  return parts.join("/");
}

async function productEdges(): Promise<Edge[]> {
  const files: string[] = [...ROOT_FILES];
  for (const dir of [...Object.keys(LAYERS), ...ROOT_FOLDERS]) {
    for await (const f of tsFiles(dir)) files.push(f);
  }
  const edges: Edge[] = [];
  for (const from of files.sort()) {
    for (const ref of importRefsOf(await Deno.readTextFile(`${ROOT}/${from}`))) {
      const { spec, typeOnly, reexport } = ref;
      if (!spec.startsWith(".")) continue; // npm:, node:, import-map names
      const dir = from.includes("/") ? from.slice(0, from.lastIndexOf("/")) : "";
      edges.push({ from, to: normalize(`${dir}/${spec}`), typeOnly, reexport });
    }
  }
  return edges;
}

const top = (path: string) => path.includes("/") ? path.slice(0, path.indexOf("/")) : "";

/**
 * The unit a file belongs to for the mod.ts rule: its folder, or controllers/<x>; main.ts,
 * permissions.ts and cli/ are one unit, the composition root.
 */
function unit(path: string): string {
  const parts = path.split("/");
  if (parts.length === 1 || ROOT_FOLDERS.includes(parts[0])) return "";
  if (parts[0] === "controllers" && parts.length > 2) return `controllers/${parts[1]}`;
  return parts[0];
}

/** Why `edge` goes against the table, or null. */
export function violation({ from, to, typeOnly, reexport }: Edge): string | null {
  const src = top(from), dst = top(to);
  if (reexport && unit(from) !== unit(to)) {
    return `${from} re-exports ${to}: one door per folder, import it from there`;
  }
  const srcIsRoot = src === "" || ROOT_FOLDERS.includes(src);
  if (dst === "") {
    return srcIsRoot ? null : `${src}/ imports the composition root`;
  }
  if (src !== dst) {
    if (!srcIsRoot) {
      if (ROOT_FOLDERS.includes(dst)) return `${src}/ imports the composition root`;
      const viaInterface = typeOnly && (TYPES_ONLY[src] ?? []).includes(dst) &&
        to.endsWith("/mod.ts");
      if (!(LAYERS[src] ?? []).includes(dst) && !viaInterface) {
        return `${src}/ may not import ${dst}/ (allowed: ${
          (LAYERS[src] ?? []).join(", ") || "none"
        })`;
      }
    }
  }
  if (unit(from) !== unit(to) && !to.endsWith("/mod.ts")) {
    return `${to} is not ${unit(to)}'s door (mod.ts)`;
  }
  return null;
}

Deno.test("layers: the import-graph reader sees static, re-export, side-effect and dynamic imports, not comments", () => {
  const text = [
    '/** import { a } from "./doc_example.ts"; */',
    'import { b } from "./b.ts";',
    'import type {\n  C,\n} from "../c.ts";',
    'export { d } from "./d.ts";',
    'export * from "./e.ts";',
    'import "./f.ts";',
    'const g = await import("./g.ts");',
    'import h from "./h.proto" with { type: "text" };',
    '// import { i } from "./i.ts";',
    'import x from "npm:x";',
  ].join("\n");
  assertEquals(importsOf(text), [
    "./b.ts",
    "../c.ts",
    "./d.ts",
    "./e.ts",
    "./f.ts",
    "./g.ts",
    "./h.proto",
    "npm:x",
  ]);
  assertEquals(violation({ from: "hub/a.ts", to: "controllers/edge/mod.ts" }) !== null, true);
  assertEquals(violation({ from: "controllers/edge/a.ts", to: "hub/mod.ts" }) !== null, true);
  assertEquals(violation({ from: "edge/a.ts", to: "pki/ca.ts" }) !== null, true);
  assertEquals(violation({ from: "edge/a.ts", to: "pki/mod.ts" }), null);
  assertEquals(violation({ from: "lib/a.ts", to: "modules/mod.ts" }) !== null, true);
  assertEquals(violation({ from: "cli/a.ts", to: "hub/quic.ts" }) !== null, true);
  assertEquals(violation({ from: "cli/a.ts", to: "hub/certs/mod.ts" }), null);
  assertEquals(
    violation({ from: "controllers/edge/a.ts", to: "controllers/device/x.ts" }) !== null,
    true,
  );
  assertEquals(violation({ from: "hub/certs/server.ts", to: "hub/transport.ts" }), null);
  assertEquals(violation({ from: "ha/a.ts", to: "hub/mod.ts", typeOnly: true }), null);
  assertEquals(violation({ from: "kube/mod.ts", to: "lib/mod.ts", reexport: true }) !== null, true);
  assertEquals(violation({ from: "kube/mod.ts", to: "kube/rv.ts", reexport: true }), null);
  assertEquals(violation({ from: "ha/a.ts", to: "hub/mod.ts" }) !== null, true);
  assertEquals(
    violation({ from: "ha/a.ts", to: "hub/cloudhub.ts", typeOnly: true }) !== null,
    true,
  );
  assertEquals(
    importRefsOf('import type { A } from "./a.ts";\nimport { type B } from "./b.ts";'),
    [
      { spec: "./a.ts", typeOnly: true, reexport: false },
      { spec: "./b.ts", typeOnly: false, reexport: false },
    ],
  );
});

Deno.test("layers: every product import follows the layer table (issue 18)", async () => {
  const found: string[] = [];
  const seen = new Set<string>();
  for (const e of await productEdges()) {
    const key = `${e.from} -> ${e.to}`;
    const why = violation(e);
    if (!why) continue;
    seen.add(key);
    if (!ALLOWED.has(key)) found.push(`${key}: ${why}`);
  }
  const stale = [...ALLOWED].filter((k) => !seen.has(k));
  if (found.length > 0) console.log(`layer violations:\n${found.join("\n")}`);
  assertEquals({ violations: found, staleAllowlistEntries: stale }, {
    violations: [],
    staleAllowlistEntries: [],
  });
});

Deno.test("tests and benchmarks share harness/, and tests never import bench/", async () => {
  const offenders: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(`${ROOT}/${dir}`)) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(rel);
      else if (e.name.endsWith(".ts")) {
        const text = await Deno.readTextFile(`${ROOT}/${rel}`);
        for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
          if (/(^|\/)bench\//.test(m[1])) offenders.push(`${rel} -> ${m[1]}`);
        }
      }
    }
  };
  await walk("tests");
  await walk("harness");
  assertEquals(offenders, []);
});
