/**
 * Label and field selectors of an edge's watch, matched against objects from the shared informer
 * (what cloudcore's LabelFieldSelector does): labels `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
 * `k notin (a,b)`, `k`, `!k`; fields `path=v`, `path==v`, `path!=v` on dotted paths
 * (`metadata.name`, `spec.nodeName`, ...). The API validated the syntax when the watch was listed.
 */
import type { KubeObject } from "../../kube/mod.ts";

/** Splits on commas outside parentheses. */
function terms(sel: string): string[] {
  const out: string[] = [];
  let depth = 0, cur = "";
  for (const c of sel) {
    if (c === "(") depth++;
    if (c === ")") depth--;
    if (c === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
    } else cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function labelTerm(t: string, labels: Record<string, string>): boolean {
  let m = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(t);
  if (m) {
    const set = m[3].split(",").map((s) => s.trim());
    const has = m[1] in labels && set.includes(labels[m[1]]);
    return m[2] === "in" ? has : !has;
  }
  m = /^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/.exec(t);
  if (m) {
    const v = labels[m[1]];
    return m[2] === "!=" ? v !== m[3] : v === m[3];
  }
  if (t.startsWith("!")) return !(t.slice(1).trim() in labels);
  return t in labels;
}

function fieldValue(o: KubeObject, path: string): string {
  let v: unknown = o;
  for (const p of path.split(".")) {
    v = typeof v === "object" && v !== null ? (v as Record<string, unknown>)[p] : undefined;
  }
  return v === undefined || v === null ? "" : String(v);
}

function fieldTerm(t: string, o: KubeObject): boolean {
  const m = /^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/.exec(t);
  if (!m) return true;
  const v = fieldValue(o, m[1]);
  return m[2] === "!=" ? v !== m[3] : v === m[3];
}

/** True when `o` matches both selectors (empty ones match everything). */
export function matchesSelectors(
  o: KubeObject,
  labelSelector: string,
  fieldSelector: string,
): boolean {
  const labels = (o.metadata?.labels ?? {}) as Record<string, string>;
  return terms(labelSelector).every((t) => labelTerm(t, labels)) &&
    terms(fieldSelector).every((t) => fieldTerm(t, o));
}
