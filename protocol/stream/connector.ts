/**
 * The data of a tunnel *connect* message (docs/protocol.md §10): KubeEdge's `EdgedLogsConnection`,
 * `EdgedExecConnection`, `EdgedAttachConnection` and `EdgedMetricsConnection` as Go's
 * encoding/json writes them — `MessID`, `url` (a Go `url.URL`, exported field names), `header`
 * (canonical name → values) and, for exec and attach, `method`. The edge requests that URL from
 * its local kubelet server (`http://127.0.0.1:10350`).
 */

/** Go's `url.URL` as encoding/json writes it. */
export interface GoUrl {
  Scheme: string;
  Opaque: string;
  User: null;
  Host: string;
  Path: string;
  RawPath: string;
  OmitHost: boolean;
  ForceQuery: boolean;
  RawQuery: string;
  Fragment: string;
  RawFragment: string;
}

/** A connect message's JSON. */
export interface EdgedConnector {
  MessID: number;
  url: GoUrl;
  header: Record<string, string[]>;
  method?: string;
}

/** Where edgecore's kubelet server listens (`constants.ServerPort`). */
export const KUBELET_SERVER = "127.0.0.1:10350";

/** Go's `http.CanonicalHeaderKey` for the usual ASCII names. */
export function canonicalHeaderKey(name: string): string {
  return name.toLowerCase().replace(
    /(^|-)([a-z])/g,
    (_m, dash: string, c: string) => dash + c.toUpperCase(),
  );
}

/** Headers as Go's `http.Header` map. */
export function goHeader(headers: Headers | Iterable<[string, string]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of headers) (out[canonicalHeaderKey(k)] ??= []).push(v);
  return out;
}

/** The connector for `pathAndQuery` (e.g. `/containerLogs/ns/pod/c?follow=true`). */
export function connector(
  id: number,
  pathAndQuery: string,
  headers: Headers | Iterable<[string, string]>,
  method?: string,
): EdgedConnector {
  const q = pathAndQuery.indexOf("?");
  const path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
  const rawQuery = q < 0 ? "" : pathAndQuery.slice(q + 1);
  const decoded = safeDecode(path);
  const url: GoUrl = {
    Scheme: "http",
    Opaque: "",
    User: null,
    Host: KUBELET_SERVER,
    Path: decoded,
    // Go keeps the escaped form only when it differs from the default escaping.
    RawPath: decoded === path ? "" : path,
    OmitHost: false,
    ForceQuery: false,
    RawQuery: rawQuery,
    Fragment: "",
    RawFragment: "",
  };
  return { MessID: id, url, header: goHeader(headers), ...(method ? { method } : {}) };
}

function safeDecode(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

/** Reads a connector (Go's decoder matches names case-insensitively; so do we). */
export function parseConnector(data: Uint8Array): EdgedConnector {
  const raw = JSON.parse(new TextDecoder().decode(data)) as Record<string, unknown>;
  const pick = (name: string): unknown => {
    const key = Object.keys(raw).find((k) => k.toLowerCase() === name.toLowerCase());
    return key === undefined ? undefined : raw[key];
  };
  const u = (pick("url") ?? {}) as Record<string, unknown>;
  const field = (n: string) => {
    const key = Object.keys(u).find((k) => k.toLowerCase() === n.toLowerCase());
    const v = key === undefined ? undefined : u[key];
    return typeof v === "string" ? v : "";
  };
  const header = (pick("header") ?? {}) as Record<string, unknown>;
  const h: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(header)) {
    if (Array.isArray(v)) h[k] = v.map(String);
  }
  const method = pick("method");
  return {
    MessID: Number(pick("MessID") ?? 0),
    url: {
      Scheme: field("Scheme"),
      Opaque: field("Opaque"),
      User: null,
      Host: field("Host"),
      Path: field("Path"),
      RawPath: field("RawPath"),
      OmitHost: false,
      ForceQuery: false,
      RawQuery: field("RawQuery"),
      Fragment: field("Fragment"),
      RawFragment: field("RawFragment"),
    },
    header: h,
    ...(typeof method === "string" && method ? { method } : {}),
  };
}

/** The request path and query a connector names (escaped as on the wire). */
export function connectorTarget(c: EdgedConnector): string {
  const path = c.url.RawPath || c.url.Path.split("/").map(encodeURIComponent).join("/");
  return c.url.RawQuery ? `${path}?${c.url.RawQuery}` : path;
}

/** A connector's headers as a `Headers`. */
export function connectorHeaders(c: EdgedConnector): Headers {
  const h = new Headers();
  for (const [k, vs] of Object.entries(c.header)) for (const v of vs) h.append(k, v);
  return h;
}
