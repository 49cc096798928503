/**
 * Kind → API path mapping for objects named by an ObjectSync spec (`UnsafeKindToResource`:
 * lower-case kind, pluralised; `Endpoints` is already plural).
 */

/** `meta.UnsafeGuessKindToResource` plural of a kind. */
export function kindToResource(kind: string): string {
  const k = kind.toLowerCase();
  if (k === "endpoints") return k;
  if (k.endsWith("s")) return `${k}es`;
  if (k.endsWith("y")) return `${k.slice(0, -1)}ies`;
  return `${k}s`;
}

/** The API path of one object (`namespace` empty for cluster-scoped kinds). */
export function objectPath(
  apiVersion: string,
  kind: string,
  namespace: string,
  name: string,
): string {
  const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion || "v1"}`;
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  return `${base}${ns}/${kindToResource(kind)}/${encodeURIComponent(name)}`;
}
