/** Every folder's door (`mod.ts`) carries a module doc, so `deno doc` shows the architecture. */
import { assertEquals } from "../assert.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function mods(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory && !/^(\.|node_modules|tests|bench|dist)/.test(e.name)) {
      out.push(...await mods(path));
    } else if (e.name === "mod.ts") out.push(path.slice(ROOT.length));
  }
  return out;
}

Deno.test("every mod.ts starts with a JSDoc block tagged @module", async () => {
  const missing: string[] = [];
  for (const file of await mods(ROOT.replace(/\/$/, ""))) {
    const text = await Deno.readTextFile(ROOT + file);
    const first = /^\/\*\*([\s\S]*?)\*\//.exec(text)?.[1] ?? "";
    if (!/@module\b/.test(first)) missing.push(file);
  }
  assertEquals(missing, []);
});
