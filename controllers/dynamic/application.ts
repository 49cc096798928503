/**
 * KubeEdge's MetaServer `Application` (docs/protocol.md §11): what an edge's MetaServer sends the
 * cloud when its cache cannot answer, as Go's encoding/json writes the struct — exported field
 * names, `[]byte` fields (`Option`, `ReqBody`, `RespBody`) as base64 strings, `Error` a
 * `StatusError` (`{"ErrStatus": Status}`). The `Key` is `/<group>/<version>/<resource>/<ns>/<name>`
 * with `core` for the core group and `null` for no namespace or name.
 */

/** Application verbs. */
export const Verb = {
  Get: "get",
  List: "list",
  Watch: "watch",
  Create: "create",
  Delete: "delete",
  Update: "update",
  UpdateStatus: "updatestatus",
  Patch: "patch",
} as const;

/** Application statuses (the cloud answers Approved or Rejected). */
export const AppStatus = {
  PreApplying: "PreApplying",
  InApplying: "InApplying",
  InProcessing: "InProcessing",
  Approved: "Approved",
  Rejected: "Rejected",
  Failed: "Failed",
  Completed: "Completed",
} as const;

/** The resource of the edge's watch-application sync. */
export const WATCH_APP_SYNC = "watchapp/sync";

/** An Application as decoded (bytes fields decoded from base64). */
export interface Application {
  ID: string;
  Key: string;
  Verb: string;
  Nodename: string;
  Option: Uint8Array;
  ReqBody: Uint8Array;
  Subresource: string;
  RespBody: Uint8Array;
  Status: string;
  Reason: string;
  Error: { ErrStatus: Record<string, unknown> };
  Timestamp: string;
}

/** Where an Application points. */
export interface AppTarget {
  group: string;
  version: string;
  resource: string;
  namespace: string;
  name: string;
}

const ZERO_TIME = "0001-01-01T00:00:00Z";

function b64decode(v: unknown): Uint8Array {
  if (typeof v !== "string" || v === "") return new Uint8Array(0);
  try {
    return Uint8Array.from(atob(v), (c) => c.charCodeAt(0));
  } catch {
    return new Uint8Array(0);
  }
}

function b64encode(b: Uint8Array): string | null {
  if (b.length === 0) return null; // Go: a nil []byte is null
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) {
    s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** Decodes an Application from a message's content (an object or its JSON). */
export function decodeApplication(content: unknown): Application | undefined {
  let o = content;
  if (typeof o === "string") {
    try {
      o = JSON.parse(o);
    } catch {
      return undefined;
    }
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) return undefined;
  const r = o as Record<string, unknown>;
  const err = r.Error as { ErrStatus?: Record<string, unknown> } | undefined;
  return {
    ID: str(r.ID),
    Key: str(r.Key),
    Verb: str(r.Verb),
    Nodename: str(r.Nodename),
    Option: b64decode(r.Option),
    ReqBody: b64decode(r.ReqBody),
    Subresource: str(r.Subresource),
    RespBody: b64decode(r.RespBody),
    Status: str(r.Status),
    Reason: str(r.Reason),
    Error: { ErrStatus: err?.ErrStatus ?? { metadata: {} } },
    Timestamp: str(r.Timestamp) || ZERO_TIME,
  };
}

/** The Go JSON object of an Application. */
export function encodeApplication(a: Application): Record<string, unknown> {
  return {
    ID: a.ID,
    Key: a.Key,
    Verb: a.Verb,
    Nodename: a.Nodename,
    Option: b64encode(a.Option),
    ReqBody: b64encode(a.ReqBody),
    Subresource: a.Subresource,
    RespBody: b64encode(a.RespBody),
    Status: a.Status,
    Reason: a.Reason,
    Error: a.Error,
    Timestamp: a.Timestamp,
  };
}

/** Parses a JSON bytes field (Option, ReqBody); `{}` when empty. */
export function jsonOf<T>(b: Uint8Array): T {
  if (b.length === 0) return {} as T;
  return JSON.parse(new TextDecoder().decode(b)) as T;
}

/** `ParseKey`: the target of a key. */
export function parseKey(key: string): AppTarget | undefined {
  const s = key.replace(/\/+$/, "").split("/");
  if (s.length < 4 || s[0] !== "") return undefined;
  const part = (i: number) => (i < s.length ? s[i] : "");
  const group = part(1) === "core" ? "" : part(1);
  const ns = part(4) === "null" ? "" : part(4);
  const name = part(5) === "null" ? "" : part(5);
  if (!part(2) || !part(3)) return undefined;
  return { group, version: part(2), resource: part(3), namespace: ns, name };
}

/** The API path of a target (`name` for one object, none for the collection). */
export function apiPath(t: AppTarget, withName = true): string {
  const base = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
  const ns = t.namespace ? `/namespaces/${encodeURIComponent(t.namespace)}` : "";
  const name = withName && t.name ? `/${encodeURIComponent(t.name)}` : "";
  return `${base}${ns}/${t.resource}${name}`;
}
