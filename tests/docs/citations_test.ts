/**
 * The repository stands on its own: code and docs cite docs/protocol.md and docs/design.md (in
 * the repo), never a file outside it, and every `docs/protocol.md §N.M` they cite exists.
 */
import { assertEquals } from "../assert.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SKIP_DIRS = /\/(\.git|node_modules|dist|\.edgecloud|\.scratch|bench\/results)$/;

/** Files that name the shared CRD folder as the default of KUBEEDGE_CRDS_DIR, on purpose. */
const SHARED_CRDS_DEFAULT = new Set([
  "tests/kubeedge_crds.ts",
  "docs/compatibility.md",
]);

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) {
      if (!SKIP_DIRS.test(path)) out.push(...await walk(path));
    } else if (/\.(ts|md|sh)$/.test(e.name)) out.push(path);
  }
  return out;
}

const files = (await walk(ROOT.replace(/\/$/, ""))).map((p) => p.slice(ROOT.length));
const self = "tests/docs/citations_test.ts";

Deno.test("no file cites PROTOCOL.md, DESIGN.md or a path outside the repository", async () => {
  const offenders: string[] = [];
  for (const file of files) {
    if (file === self) continue;
    const text = await Deno.readTextFile(ROOT + file);
    if (/(?<![\w/.])(PROTOCOL|DESIGN)\.md|PROTOCOL §/.test(text)) {
      offenders.push(`${file}: PROTOCOL/DESIGN`);
    }
    if (/\/work\/shared|(?:\.\.\/)+shared\//.test(text) && !SHARED_CRDS_DEFAULT.has(file)) {
      offenders.push(`${file}: a path outside the repository`);
    }
  }
  assertEquals(offenders, []);
});

Deno.test("every docs/protocol.md § cited exists as a section", async () => {
  const doc = await Deno.readTextFile(`${ROOT}docs/protocol.md`);
  const sections = new Set([...doc.matchAll(/^#{2,3} (\d+(?:\.\d+)?)\.? /gm)].map((m) => m[1]));
  const missing: string[] = [];
  for (const file of files) {
    const text = await Deno.readTextFile(ROOT + file);
    for (const m of text.matchAll(/docs\/protocol\.md ?((?:§ ?\d+(?:\.\d+)*(?:, ?)?)+)/g)) {
      for (const n of m[1].matchAll(/§ ?(\d+(?:\.\d+)*)/g)) {
        if (!sections.has(n[1])) missing.push(`${file}: §${n[1]}`);
      }
    }
  }
  assertEquals(missing, []);
});
