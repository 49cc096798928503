/**
 * Label and field selectors in the Kubernetes string syntax.
 *
 * Hand-written: the grammar is small (apimachinery `labels.Parse`/`fields.ParseSelector`) and no
 * maintained npm package implements it server-side.
 */
import { badRequest } from "./errors.ts";
import { getOwn, hasOwn, isJsonObject } from "./own.ts";
import type { KObject } from "./resources.ts";

/** A compiled selector. */
export type Predicate = (obj: KObject) => boolean;

type Requirement = (labels: Record<string, string>) => boolean;

/** The label `key`, own properties only (`constructor`, `toString`, … are keys like any other). */
function label(l: Record<string, string>, key: string): string | undefined {
  const v = getOwn(l, key);
  return typeof v === "string" ? v : undefined;
}

const KEY =
  /^([a-z0-9A-Z]([-a-z0-9A-Z.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]{0,61}[a-z0-9A-Z])?$/;
const VALUE = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]{0,61}[a-z0-9A-Z])?)?$/;

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "(") depth++;
    else if (s[i] === ")") depth--;
    else if (s[i] === "," && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out.map((x) => x.trim());
}

function checkKey(key: string, sel: string): void {
  if (!KEY.test(key)) {
    throw badRequest(
      `unable to parse requirement: invalid label key "${key}" in selector "${sel}"`,
    );
  }
}

function checkValue(v: string, sel: string): void {
  if (!VALUE.test(v)) {
    throw badRequest(
      `unable to parse requirement: invalid label value "${v}" in selector "${sel}"`,
    );
  }
}

/** Parses a label selector; throws a 400 ApiError on bad syntax. Empty matches everything. */
export function parseLabelSelector(sel: string): Predicate {
  const reqs: Requirement[] = [];
  if (sel.trim() !== "") {
    for (const part of splitTop(sel)) {
      if (part === "") {
        throw badRequest(`unable to parse requirement: empty term in selector "${sel}"`);
      }
      let m: RegExpExecArray | null;
      if ((m = /^(\S+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(part))) {
        const [, key, op, list] = m;
        checkKey(key, sel);
        const values = list.split(",").map((v) => v.trim());
        values.forEach((v) => checkValue(v, sel));
        const set = new Set(values);
        reqs.push((l) => {
          const v = label(l, key);
          return op === "in" ? v !== undefined && set.has(v) : v === undefined || !set.has(v);
        });
      } else if ((m = /^([^=!<>\s]+)\s*(==|=|!=|<|>)\s*([^=!<>\s]*)$/.exec(part))) {
        const [, key, op, value] = m;
        checkKey(key, sel);
        if (op === "<" || op === ">") {
          if (!/^-?\d+$/.test(value)) {
            throw badRequest(
              `unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer in selector "${sel}"`,
            );
          }
          const n = Number(value);
          reqs.push((l) => {
            const v = label(l, key);
            return v !== undefined && /^-?\d+$/.test(v) &&
              (op === "<" ? Number(v) < n : Number(v) > n);
          });
        } else {
          checkValue(value, sel);
          reqs.push(op === "!=" ? (l) => label(l, key) !== value : (l) => label(l, key) === value);
        }
      } else if ((m = /^!\s*(\S+)$/.exec(part))) {
        const key = m[1];
        checkKey(key, sel);
        reqs.push((l) => !hasOwn(l, key));
      } else if (KEY.test(part)) {
        reqs.push((l) => hasOwn(l, part));
      } else {
        throw badRequest(`unable to parse requirement: invalid selector "${sel}"`);
      }
    }
  }
  return (obj) => {
    const labels = obj.metadata?.labels;
    return reqs.every((r) => r(isJsonObject(labels) ? labels : {}));
  };
}

/** Reads a dotted field path (`spec.nodeName`) from an object as a string (own properties). */
function fieldValue(obj: KObject, path: string): string {
  // Events' field set names `source.component` just `source` (core/v1 EventToSelectableFields).
  if (path === "source" && isJsonObject(getOwn(obj, "source"))) path = "source.component";
  let cur: unknown = obj;
  for (const p of path.split(".")) cur = getOwn(cur, p);
  if (cur === undefined || cur === null) return "";
  return typeof cur === "object" ? JSON.stringify(cur) : String(cur);
}

/**
 * Parses a field selector (`a=b`, `a==b`, `a!=b`, comma-separated). Any dotted path is accepted;
 * real API servers allow only a per-type set (metadata.name, metadata.namespace, spec.nodeName,
 * status.phase, ...), a superset is harmless for clients.
 */
export function parseFieldSelector(sel: string): Predicate {
  const reqs: ((o: KObject) => boolean)[] = [];
  if (sel.trim() !== "") {
    for (const part of sel.split(",").map((s) => s.trim())) {
      const m = /^([A-Za-z0-9_.\-]+)\s*(==|=|!=)\s*([^,]*)$/.exec(part);
      if (!m) throw badRequest(`invalid selector: '${sel}'; can't understand '${part}'`);
      const [, path, op, value] = m;
      reqs.push(
        op === "!=" ? (o) => fieldValue(o, path) !== value : (o) => fieldValue(o, path) === value,
      );
    }
  }
  return (obj) => reqs.every((r) => r(obj));
}
