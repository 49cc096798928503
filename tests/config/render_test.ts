import { assertEquals } from "../assert.ts";
import fc from "fast-check";
import { defaultConfig } from "../../config/defaults.ts";
import { parseConfig } from "../../config/load.ts";
import { renderConfig } from "../../config/render.ts";
import type { CloudCoreConfig } from "../../config/types.ts";

const opts = { hostAddresses: ["192.0.2.10"] };

/** Every leaf path of the default config with its value's type. */
function leaves(obj: unknown, path: string[] = []): Array<[string[], string]> {
  if (Array.isArray(obj)) return [[path, "array"]];
  if (typeof obj === "object" && obj !== null) {
    const entries = Object.entries(obj);
    if (entries.length === 0) return [];
    return entries.flatMap(([k, v]) => leaves(v, [...path, k]));
  }
  return [[path, typeof obj]];
}

function setIn(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string, unknown>;
  cur[path[path.length - 1]] = value;
}

// Strings that YAML 1.1 would read as something else if written plain.
const tricky = fc.constantFrom(
  "yes",
  "no",
  "on",
  "off",
  "y",
  "N",
  "~",
  "null",
  "0777",
  "0x1F",
  "1e3",
  "10:00",
  "190:20:30",
  ".inf",
  "2001-12-14",
  "",
  " lead",
  "trail ",
  "a: b",
  "#x",
  "- x",
  'quote"s',
  "multi\nline",
  "unix:///var/lib/kubeedge/kubeedge.sock",
);

Deno.test("rendered configs parse back identically (property)", () => {
  const base = defaultConfig(opts);
  const paths = leaves(base).filter(([p]) => p[0] !== "apiVersion" && p[0] !== "kind");
  const scalar = fc.constantFrom(...paths.filter(([, t]) => t !== "array"));
  const edit = scalar.chain(([path, type]) => {
    const value = type === "number"
      ? fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })
      : type === "boolean"
      ? fc.boolean()
      : fc.oneof(tricky, fc.string());
    return value.map((v) => [path, v] as const);
  });
  const lists = fc.record({
    advertiseAddress: fc.array(fc.oneof(tricky, fc.string()), { maxLength: 3 }),
    dnsNames: fc.array(fc.oneof(tricky, fc.string()), { maxLength: 3 }),
    featureGates: fc.dictionary(fc.constantFrom("requireAuthorization", "on", "x-y"), fc.boolean()),
  });
  fc.assert(
    fc.property(fc.array(edit, { maxLength: 8 }), lists, (edits, extra) => {
      const cfg = structuredClone(base) as CloudCoreConfig;
      for (const [path, value] of edits) {
        setIn(cfg as unknown as Record<string, unknown>, path, value);
      }
      cfg.modules.cloudHub.advertiseAddress = extra.advertiseAddress;
      cfg.modules.cloudHub.dnsNames = extra.dnsNames;
      cfg.featureGates = { ...extra.featureGates };
      const back = parseConfig(renderConfig(cfg), "r.yaml", opts);
      assertEquals(back.warnings, []);
      assertEquals(back.config, cfg);
    }),
    { numRuns: 300 },
  );
});
