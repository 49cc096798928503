/**
 * `metav1.LabelSelector` (matchLabels + matchExpressions) as the API server and the workload
 * controllers read it: matching a label set, and the `k=v,k2 in (a,b)` string kubectl prints
 * (`metav1.FormatLabelSelector`) and list calls send as `labelSelector`.
 *
 * Hand-written: apimachinery's `LabelSelectorAsSelector` is Go; the rules are a few lines. Map
 * reads are own-property only, so a label named `constructor` is a label like any other.
 */

/** A `metav1.LabelSelectorRequirement`. */
export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist" | string;
  values?: string[];
}

/** A `metav1.LabelSelector`. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

function own(m: Record<string, string> | undefined, k: string): string | undefined {
  if (!m || typeof m !== "object" || !Object.hasOwn(m, k)) return undefined;
  const v = m[k];
  return typeof v === "string" ? v : undefined;
}

/** True when the selector has no requirement at all (it then selects everything). */
export function isEmptySelector(sel: LabelSelector | null | undefined): boolean {
  return !sel || (Object.keys(sel.matchLabels ?? {}).length === 0 &&
    (sel.matchExpressions ?? []).length === 0);
}

/**
 * True when `labels` satisfy `sel`. A missing selector matches nothing (upstream's
 * `labels.Nothing()` for a nil selector); an empty one matches everything.
 */
export function selectorMatches(
  sel: LabelSelector | null | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    if (own(labels, k) !== v) return false;
  }
  for (const r of sel.matchExpressions ?? []) {
    const v = own(labels, r.key);
    const values = r.values ?? [];
    switch (r.operator) {
      case "In":
        if (v === undefined || !values.includes(v)) return false;
        break;
      case "NotIn":
        if (v !== undefined && values.includes(v)) return false;
        break;
      case "Exists":
        if (v === undefined) return false;
        break;
      case "DoesNotExist":
        if (v !== undefined) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/**
 * The selector in the string syntax (`metav1.FormatLabelSelector`): requirements sorted by key,
 * `"<none>"` when there are none.
 */
export function formatLabelSelector(sel: LabelSelector | null | undefined): string {
  if (!sel) return "<none>";
  const parts: [string, string][] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push([k, `${k}=${v}`]);
  for (const r of sel.matchExpressions ?? []) {
    const values = [...(r.values ?? [])].sort().join(",");
    const text = r.operator === "In"
      ? `${r.key} in (${values})`
      : r.operator === "NotIn"
      ? `${r.key} notin (${values})`
      : r.operator === "Exists"
      ? r.key
      : r.operator === "DoesNotExist"
      ? `!${r.key}`
      : `${r.key} ${r.operator} (${values})`;
    parts.push([r.key, text]);
  }
  const out = parts.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0).map((p) => p[1])
    .join(",");
  return out || "<none>";
}

/** A label map as `k=v,k2=v2`, sorted by key (`labels.FormatLabels`); `"<none>"` when empty. */
export function formatLabels(labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${own(labels, k)}`).join(",") : "<none>";
}
