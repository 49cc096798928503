/**
 * Merges a parsed cloudcore.yaml over the defaults the way cloudcore does (sigs.k8s.io/yaml turns
 * YAML into JSON, then Go's encoding/json decodes it into the default struct):
 * - omitted fields and `null` keep their defaults;
 * - keys match exactly, else case-insensitively (encoding/json does the same);
 * - lists replace the default list wholesale; list items start from zero values, as in Go;
 * - a value of the wrong type is an error (Go's unmarshal fails too);
 * - unknown keys are reported as warnings, not errors (sigs.k8s.io/yaml is not strict).
 *
 * The schema is the default config itself: each field's default value gives its type.
 */
import { API_VERSION_V1ALPHA1, API_VERSION_V1ALPHA2, type CloudCoreConfig, KIND } from "./types.ts";
import { fieldError } from "./error.ts";

/** Fields holding a free-form `name: bool` map. */
const BOOL_MAPS = new Set(["featureGates"]);

/** Item kinds of list fields (keyed by canonical path without indexes). */
const LIST_ITEMS: Record<string, "string" | "authorizationMode"> = {
  "modules.cloudHub.advertiseAddress": "string",
  "modules.cloudHub.dnsNames": "string",
  "modules.cloudHub.authorization.modes": "authorizationMode",
};

type Obj = Record<string, unknown>;

function isMapping(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** Finds the canonical key for `key`: exact match first, then case-insensitive (as Go does). */
function matchKey(target: Obj, key: string): string | undefined {
  if (Object.hasOwn(target, key)) return key;
  const lower = key.toLowerCase();
  return Object.keys(target).find((k) => k.toLowerCase() === lower);
}

class Merger {
  readonly warnings: string[] = [];
  constructor(readonly file: string) {}

  warnUnknown(path: string, key: string): void {
    this.warnings.push(`${this.file}: unknown field ${join(path, key)} (ignored)`);
  }

  mergeObject(target: Obj, raw: unknown, path: string): void {
    if (raw === null || raw === undefined) return;
    if (!isMapping(raw)) {
      throw fieldError(this.file, path || "(top level)", raw, "is not a mapping");
    }
    for (const [rawKey, value] of Object.entries(raw)) {
      const key = matchKey(target, rawKey);
      if (key === undefined) {
        this.warnUnknown(path, rawKey);
        continue;
      }
      const fieldPath = join(path, key);
      const current = target[key];
      if (value === null || value === undefined) continue;
      if (BOOL_MAPS.has(fieldPath)) {
        target[key] = this.boolMap(current as Obj, value, fieldPath);
      } else if (Array.isArray(current)) {
        target[key] = this.list(value, fieldPath);
      } else if (isMapping(current)) {
        this.mergeObject(current, value, fieldPath);
      } else {
        target[key] = this.scalar(current, value, fieldPath);
      }
    }
  }

  scalar(current: unknown, value: unknown, path: string): unknown {
    switch (typeof current) {
      case "boolean":
        if (typeof value !== "boolean") {
          throw fieldError(this.file, path, value, "is not a boolean");
        }
        return value;
      case "number":
        if (typeof value !== "number" || !Number.isFinite(value)) {
          throw fieldError(this.file, path, value, "is not a number");
        }
        if (!Number.isInteger(value)) throw fieldError(this.file, path, value, "is not an integer");
        return value;
      default:
        if (typeof value !== "string") throw fieldError(this.file, path, value, "is not a string");
        return value;
    }
  }

  boolMap(current: Obj, value: unknown, path: string): Obj {
    if (!isMapping(value)) throw fieldError(this.file, path, value, "is not a mapping");
    // encoding/json decodes into the existing map, so default entries survive.
    const out: Obj = { ...current };
    for (const [k, v] of Object.entries(value)) {
      if (v === null || v === undefined) continue;
      if (typeof v !== "boolean") throw fieldError(this.file, join(path, k), v, "is not a boolean");
      out[k] = v;
    }
    return out;
  }

  list(value: unknown, path: string): unknown[] {
    if (!Array.isArray(value)) throw fieldError(this.file, path, value, "is not a list");
    const kind = LIST_ITEMS[path] ?? "string";
    return value.map((item, i) => {
      const itemPath = `${path}[${i}]`;
      if (kind === "string") {
        if (typeof item !== "string") {
          throw fieldError(this.file, itemPath, item, "is not a string");
        }
        return item;
      }
      return this.authorizationMode(item, itemPath);
    });
  }

  authorizationMode(item: unknown, path: string): Obj {
    const mode: Obj = {};
    if (item === null || item === undefined) return mode;
    if (!isMapping(item)) throw fieldError(this.file, path, item, "is not a mapping");
    for (const [rawKey, value] of Object.entries(item)) {
      if (rawKey.toLowerCase() !== "node") {
        this.warnUnknown(path, rawKey);
        continue;
      }
      if (value === null || value === undefined) continue;
      // Go zero value: a listed `node: {}` mode is disabled unless it says enable: true.
      const node: Obj = { enable: false };
      this.mergeObject(node, value, join(path, "node"));
      mode.node = node;
    }
    return mode;
  }
}

/** The result of merging a document over the defaults. */
export interface MergeResult {
  config: CloudCoreConfig;
  /** One line each, e.g. `cloudcore.yaml: unknown field modules.foo (ignored)`. */
  warnings: string[];
}

/**
 * Merges `raw` (the parsed YAML document) over `base` and returns a new config; `base` is not
 * modified. Throws {@link ConfigError} for a value of the wrong type.
 */
export function mergeConfig(base: CloudCoreConfig, raw: unknown, file: string): MergeResult {
  const config = structuredClone(base);
  const merger = new Merger(file);
  merger.mergeObject(config as unknown as Obj, raw, "");
  if (isMapping(raw)) {
    if (
      raw.apiVersion !== undefined && raw.apiVersion !== API_VERSION_V1ALPHA1 &&
      raw.apiVersion !== API_VERSION_V1ALPHA2
    ) {
      merger.warnings.push(
        `${file}: apiVersion ${
          JSON.stringify(raw.apiVersion)
        } is neither ${API_VERSION_V1ALPHA1} nor ${API_VERSION_V1ALPHA2} (loaded anyway)`,
      );
    }
    if (raw.kind !== undefined && raw.kind !== KIND) {
      merger.warnings.push(
        `${file}: kind ${JSON.stringify(raw.kind)} is not ${KIND} (loaded anyway)`,
      );
    }
  }
  return { config, warnings: merger.warnings };
}
