import fc from "fast-check";
import { stringify } from "yaml";
import {
  ConfigError,
  defaultConfig,
  parseConfig,
  renderConfig,
  validateConfig,
} from "../../config/mod.ts";
import { fuzzRuns } from "./runs.ts";

const fixture = await Deno.readTextFile(
  new URL("../config/fixtures/cloudcore-helm.yaml", import.meta.url),
);
const rendered = renderConfig(defaultConfig());

/** Parse and validate; only ConfigError may escape either step. */
function loadAndValidate(text: string): void {
  try {
    const { config } = parseConfig(text, "fuzz.yaml", { onWarning: () => {} });
    validateConfig(config, "fuzz.yaml");
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
  }
}

/** Random edits of a valid file: replace, insert or delete a span; swap or duplicate lines. */
function mutations(base: string): fc.Arbitrary<string> {
  const lines = base.split("\n");
  const edit = fc.oneof(
    fc.tuple(fc.nat({ max: base.length }), fc.nat({ max: 20 }), fc.string({ maxLength: 12 })).map(
      ([at, del, ins]) => (s: string) => s.slice(0, at) + ins + s.slice(at + del),
    ),
    fc.tuple(
      fc.nat({ max: base.length }),
      fc.constantFrom(
        ": ",
        "- ",
        "\t",
        "  ",
        "&a ",
        "*a",
        "!!binary ",
        "<<: ",
        "yes",
        "~",
        "0x1F",
        "1e400",
        "-1",
        '"',
        "'",
        "{",
        "[",
        "? ",
        "%YAML 1.2\n---\n",
      ),
    ).map(([at, ins]) => (s: string) => s.slice(0, at) + ins + s.slice(at)),
    fc.tuple(fc.nat({ max: lines.length - 1 }), fc.nat({ max: lines.length - 1 })).map(
      ([a, b]) => (s: string) => {
        const ls = s.split("\n");
        if (a < ls.length && b < ls.length) [ls[a], ls[b]] = [ls[b], ls[a]];
        return ls.join("\n");
      },
    ),
    fc.nat({ max: lines.length - 1 }).map((a) => (s: string) => {
      const ls = s.split("\n");
      if (a < ls.length) ls.splice(a, 0, ls[a]);
      return ls.join("\n");
    }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 5 }).map((edits) =>
    edits.reduce((s, f) => f(s), base)
  );
}

/** A valid document with a random value placed at a random known path. */
function replacedValue(base: string): fc.Arbitrary<string> {
  const paths: string[][] = [];
  const walk = (v: unknown, path: string[]) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      for (const [k, c] of Object.entries(v)) walk(c, [...path, k]);
    }
    paths.push(path);
  };
  const obj = parseConfig(base, "base.yaml", { onWarning: () => {} }).config;
  walk(obj, []);
  return fc.tuple(
    fc.constantFrom(...paths.filter((p) => p.length > 0)),
    fc.jsonValue({ maxDepth: 2 }),
  )
    .map(([path, value]) => {
      const copy = structuredClone(obj) as unknown as Record<string, unknown>;
      let at = copy;
      for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
      at[path[path.length - 1]] = value;
      return stringify(copy);
    });
}

Deno.test("fuzz: config loading of random text throws only ConfigError", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.string({ unit: "binary", maxLength: 300 }),
        fc.jsonValue().map((v) => stringify(v)),
        fc.object().map((v) =>
          stringify({
            apiVersion: "cloudcore.config.kubeedge.io/v1alpha2",
            kind: "CloudCore",
            modules: v,
          })
        ),
      ),
      loadAndValidate,
    ),
    { numRuns: fuzzRuns() },
  );
});

Deno.test("fuzz: config loading of mutated valid files throws only ConfigError", () => {
  fc.assert(
    fc.property(fc.oneof(mutations(fixture), mutations(rendered)), loadAndValidate),
    { numRuns: fuzzRuns() },
  );
});

Deno.test("fuzz: config loading with random values at known fields throws only ConfigError", () => {
  fc.assert(fc.property(replacedValue(rendered), loadAndValidate), { numRuns: fuzzRuns() });
});
