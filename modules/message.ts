/**
 * KubeEdge's `model.Message` (beehive envelope) with its exact Go `encoding/json` wire form
 * (docs/protocol.md §1).
 *
 * The in-memory shape uses TypeScript names; {@link encodeMessage} and {@link decodeMessage}
 * translate to and from the wire keys (`msg_id`, `parent_msg_id`, `resourceversion`, ...).
 *
 * @example
 * ```ts
 * const msg = buildMessage(
 *   { source: "edgecontroller", group: "resource", operation: "insert", resource: "default/pod/nginx" },
 *   pod,
 *   { resourceVersion: "4711" },
 * );
 * const wire = encodeMessage(msg); // {"header":{"msg_id":...},"route":{...},"content":{...}}
 * ```
 */
import { v4 as uuidv4 } from "uuid";
import { MessageSuccessfulContent, Operation } from "./constants.ts";
import { encodeBase64, isRecord } from "../lib/mod.ts";

/** `model.MessageHeader`. */
export interface MessageHeader {
  /** `msg_id`: UUID v4, always present. */
  id: string;
  /** `parent_msg_id`: the id being answered (omitempty). */
  parentId?: string;
  /** `timestamp`: milliseconds since the epoch. */
  timestamp: number;
  /** `resourceversion`: the Kubernetes resourceVersion of the content (omitempty). */
  resourceVersion?: string;
  /** `sync`: set by sendSync (omitempty). */
  sync?: boolean;
  /** `type`: beehive context type, `channel` or `unixpacket` (omitempty). */
  type?: string;
}

/** `model.MessageRoute`. Every key is omitempty, but the route itself is always emitted. */
export interface MessageRoute {
  source?: string;
  destination?: string;
  group?: string;
  operation?: string;
  resource?: string;
}

/** `model.Message`. */
export interface Message {
  header: MessageHeader;
  route: MessageRoute;
  /** Any JSON value; `null` when absent. Strings may hold JSON documents (§1.2). */
  content: unknown;
}

/** Clock and id source, injectable so tests need no sleeps or random ids. */
export interface MessageEnv {
  now(): number;
  newId(): string;
}

/** The real clock and UUID v4 ids. */
export const defaultMessageEnv: MessageEnv = { now: () => Date.now(), newId: () => uuidv4() };

/** Thrown by {@link decodeMessage} when bytes are not a KubeEdge message. */
export class MessageDecodeError extends Error {
  override name = "MessageDecodeError";
}

/** `NewMessage(parentID)`: a fresh id, the parent id and the current time in ms. */
export function newMessage(parentId = "", env: MessageEnv = defaultMessageEnv): Message {
  const header: MessageHeader = { id: env.newId(), timestamp: env.now() };
  if (parentId) header.parentId = parentId;
  return { header, route: {}, content: null };
}

/** Builds a message in one call: route, content and optional resourceVersion. */
export function buildMessage(
  route: MessageRoute,
  content: unknown,
  opts: { parentId?: string; resourceVersion?: string; env?: MessageEnv } = {},
): Message {
  const msg = newMessage(opts.parentId, opts.env);
  msg.route = { ...route };
  msg.content = content === undefined ? null : content;
  if (opts.resourceVersion) msg.header.resourceVersion = opts.resourceVersion;
  return msg;
}

/**
 * `NewRespByMessage(req, content)`: new id, `parent_msg_id` = request id, source, group,
 * resource and header type copied from the request (not swapped), operation `response`.
 */
export function newRespByMessage(
  req: Message,
  content: unknown,
  env: MessageEnv = defaultMessageEnv,
): Message {
  const resp = newMessage(req.header.id, env);
  if (req.header.type) resp.header.type = req.header.type;
  resp.route = {
    source: req.route.source,
    group: req.route.group,
    operation: Operation.Response,
    resource: req.route.resource,
  };
  resp.content = content === undefined ? null : content;
  return resp;
}

/**
 * `NewErrorMessage(req, err)`: `parent_msg_id` = request id, operation `error`, same resource,
 * content the error text, and no source or group.
 */
export function newErrorMessage(
  req: Message,
  error: string,
  env: MessageEnv = defaultMessageEnv,
): Message {
  const resp = newMessage(req.header.id, env);
  if (req.header.type) resp.header.type = req.header.type;
  resp.route = { operation: Operation.Error, resource: req.route.resource };
  resp.content = error;
  return resp;
}

/** `Clone`: a new id, keeping parent id, timestamp, route and content. */
export function cloneMessage(msg: Message, env: MessageEnv = defaultMessageEnv): Message {
  return {
    header: { ...msg.header, id: env.newId() },
    route: { ...msg.route },
    content: msg.content,
  };
}

/** A deep copy with the same id (used by the ack path, which keeps `msg_id` across resends). */
export function copyMessage(msg: Message): Message {
  return {
    header: { ...msg.header },
    route: { ...msg.route },
    content: msg.content === null || typeof msg.content !== "object"
      ? msg.content
      : structuredClone(msg.content),
  };
}

/** True when the content is the string `"OK"`. */
export function isSuccessContent(msg: Message): boolean {
  return msg.content === MessageSuccessfulContent;
}

// One of each for the process: a TextDecoder built per frame cost more than the decoding.
const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder("utf-8", { fatal: false });

/**
 * `GetContentData`: raw UTF-8 bytes of string content, bytes as-is, otherwise the JSON of
 * the content.
 */
export function getContentData(msg: Message): Uint8Array {
  const c = msg.content;
  if (c instanceof Uint8Array) return c;
  if (typeof c === "string") return UTF8_ENCODER.encode(c);
  return UTF8_ENCODER.encode(goJsonStringify(c ?? null));
}

/**
 * Returns the content as a parsed JSON value: a string holding JSON is parsed (§1.2: a JSON
 * document may arrive embedded or as a string), anything else is returned as is.
 * @throws MessageDecodeError when a string content is not JSON.
 */
export function getContentJson<T = unknown>(msg: Message): T {
  const c = msg.content;
  if (typeof c === "string") {
    try {
      return JSON.parse(c) as T;
    } catch (err) {
      throw new MessageDecodeError(`content is a string but not JSON: ${(err as Error).message}`);
    }
  }
  if (c instanceof Uint8Array) {
    try {
      return JSON.parse(UTF8_DECODER.decode(c)) as T;
    } catch (err) {
      throw new MessageDecodeError(`content bytes are not JSON: ${(err as Error).message}`);
    }
  }
  return c as T;
}

const GO_ESCAPES = /[<>&\u2028\u2029]/;

/**
 * `JSON.stringify` with Go `encoding/json`'s HTML escaping (`<`, `>`, `&`, U+2028, U+2029 as
 * `\u003c` ...), so our bytes match cloudcore's. A Uint8Array value (the whole value, or the
 * `content` of a wire object) becomes base64 like a Go []byte; content that came from JSON never
 * nests bytes deeper, so no per-key replacer runs on the hot path.
 */
export function goJsonStringify(value: unknown): string {
  const json = JSON.stringify(value instanceof Uint8Array ? encodeBase64(value) : value);
  if (json === undefined) return "null";
  return GO_ESCAPES.test(json) ? json.replace(GO_ESCAPES_ALL, goEscape) : json;
}

const GO_ESCAPES_ALL = /[<>&\u2028\u2029]/g;

function goEscape(c: string): string {
  return "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0");
}

/** The wire object for a message, keys in Go struct order with omitempty applied. */
export function toWireObject(msg: Message): Record<string, unknown> {
  const h = msg.header;
  const header: Record<string, unknown> = { msg_id: h.id };
  if (h.parentId) header.parent_msg_id = h.parentId;
  header.timestamp = h.timestamp;
  if (h.resourceVersion) header.resourceversion = h.resourceVersion;
  if (h.sync) header.sync = true;
  if (h.type) header.type = h.type;
  const r = msg.route;
  const route: Record<string, unknown> = {};
  if (r.source) route.source = r.source;
  if (r.destination) route.destination = r.destination;
  if (r.group) route.group = r.group;
  if (r.operation) route.operation = r.operation;
  if (r.resource) route.resource = r.resource;
  const c = msg.content;
  return {
    header,
    route,
    content: c === undefined ? null : c instanceof Uint8Array ? encodeBase64(c) : c,
  };
}

/**
 * `json.Marshal(msg)`: the exact wire bytes (as a string, without a trailing newline). Written
 * out field by field rather than through {@link toWireObject}: the same text without two
 * throw-away objects per frame (the hub encodes one per node per object change).
 *
 * `contentJson`, when given, is `goJsonStringify(msg.content)` computed by the caller (the hub
 * serialises an object shared by many nodes' messages once, escapes included).
 */
export function encodeMessage(msg: Message, contentJson?: string): string {
  const h = msg.header;
  let out = `{"header":{"msg_id":${JSON.stringify(h.id)}`;
  if (h.parentId) out += `,"parent_msg_id":${JSON.stringify(h.parentId)}`;
  out += `,"timestamp":${JSON.stringify(h.timestamp)}`;
  if (h.resourceVersion) out += `,"resourceversion":${JSON.stringify(h.resourceVersion)}`;
  if (h.sync) out += `,"sync":true`;
  if (h.type) out += `,"type":${JSON.stringify(h.type)}`;
  const r = msg.route;
  let route = "";
  if (r.source) route += `,"source":${JSON.stringify(r.source)}`;
  if (r.destination) route += `,"destination":${JSON.stringify(r.destination)}`;
  if (r.group) route += `,"group":${JSON.stringify(r.group)}`;
  if (r.operation) route += `,"operation":${JSON.stringify(r.operation)}`;
  if (r.resource) route += `,"resource":${JSON.stringify(r.resource)}`;
  out += `},"route":{${route.slice(1)}},"content":`;
  // Escaping the envelope and the content apart gives the same text as escaping the whole
  // (no escaped character spans the seam) and lets a shared content be escaped once.
  if (GO_ESCAPES.test(out)) out = out.replace(GO_ESCAPES_ALL, goEscape);
  const c = msg.content;
  return out + (contentJson ?? (c === undefined ? "null" : goJsonStringify(c))) + "}";
}

const contentJsonCache = new WeakMap<object, string>();

/**
 * {@link goJsonStringify} of a message's object content, kept by identity: one object change
 * goes to every node that needs it as that many messages sharing one content object, so it is
 * serialised once, not once per node (a ConfigMap used by 1,000 nodes is stringified once per
 * change). For the hub's downstream messages, whose contents nothing mutates once sent; entries
 * go when the object does. Undefined for content that is not an object (encode it as usual).
 */
export function sharedContentJson(content: unknown): string | undefined {
  if (typeof content !== "object" || content === null || content instanceof Uint8Array) {
    return undefined;
  }
  let json = contentJsonCache.get(content);
  if (json === undefined) {
    json = goJsonStringify(content);
    contentJsonCache.set(content, json);
  }
  return json;
}

const contentBytesCache = new WeakMap<object, Uint8Array>();

/**
 * {@link getContentData}'s bytes for a shared object content, kept by identity like
 * {@link sharedContentJson}: the QUIC transport frames one object change for every node that
 * needs it, and each frame would otherwise serialise and UTF-8-encode the same content again.
 * Undefined for content that is not an object. Callers must not modify the bytes.
 */
export function sharedContentBytes(content: unknown): Uint8Array | undefined {
  const cached = typeof content === "object" && content !== null
    ? contentBytesCache.get(content)
    : undefined;
  if (cached) return cached;
  const json = sharedContentJson(content);
  if (json === undefined) return undefined;
  const bytes = UTF8_ENCODER.encode(json);
  contentBytesCache.set(content as object, bytes);
  return bytes;
}

/** The field names of one wire object, and each one's lower-case form. */
interface WireFields {
  readonly exact: ReadonlySet<string>;
  readonly byLower: ReadonlyMap<string, string>;
}

function wireFields(...names: string[]): WireFields {
  return { exact: new Set(names), byLower: new Map(names.map((n) => [n.toLowerCase(), n])) };
}

const MESSAGE_FIELDS = wireFields("header", "route", "content");
const HEADER_FIELDS = wireFields(
  "msg_id",
  "parent_msg_id",
  "timestamp",
  "resourceversion",
  "sync",
  "type",
);
const ROUTE_FIELDS = wireFields("source", "destination", "group", "operation", "resource");

/**
 * `obj` with its keys matched to `fields` the way Go's decoder does: an exact key first, else
 * the first key equal to it ignoring case; unknown keys are ignored. Returns `obj` itself when
 * nothing needs matching (every message a KubeEdge peer writes), so the common case costs one
 * pass over the keys and no copy: looking a missing optional field up key by key, lower-casing
 * every key each time, was most of an ACK's decoding in bench:fanout's profile.
 */
function goFields(obj: Record<string, unknown>, fields: WireFields): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(obj)) {
    if (fields.exact.has(key)) continue;
    const name = fields.byLower.get(key.toLowerCase());
    if (name === undefined || Object.hasOwn(obj, name) || (out && Object.hasOwn(out, name))) {
      continue;
    }
    out ??= { ...obj };
    out[name] = obj[key];
  }
  return out ?? obj;
}

function optString(v: unknown, name: string, where: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") {
    throw new MessageDecodeError(`${where}.${name} must be a string, got ${typeof v}`);
  }
  return v === "" ? undefined : v;
}

/**
 * Decodes a wire message (text or bytes, one JSON document). Keys match case-insensitively as
 * in Go; unknown keys are ignored. A message needs a header object with a `msg_id` string and
 * a `route` object.
 * @throws MessageDecodeError with a reason for anything else.
 */
export function decodeMessage(data: string | Uint8Array): Message {
  const text = typeof data === "string" ? data : UTF8_DECODER.decode(data);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new MessageDecodeError(`not JSON: ${(err as Error).message}`);
  }
  return messageFromWire(raw);
}

/** A Go zero value on the wire: absent, null, "" or 0. */
function isUnset(v: unknown): boolean {
  return v === undefined || v === null || v === "" || v === 0;
}

/**
 * The zero-value message edgecore sometimes sends (`{"header":{"msg_id":"","timestamp":0},
 * "route":{},"content":null}`, seen after an offline period): no id, no route, no content.
 * cloudcore drops it and keeps the session, so decoders return it as a message (not an error)
 * and the hub drops it ({@link isEmptyMessage}); docs/compatibility.md, "Tolerated edge input".
 */
export function emptyMessage(): Message {
  return { header: { id: "", timestamp: 0 }, route: {}, content: null };
}

/** True for {@link emptyMessage}'s shape: no id, no parent, no route field, no content. */
export function isEmptyMessage(msg: Message): boolean {
  return msg.header.id === "" && !msg.header.parentId &&
    Object.values(msg.route).every(isUnset) && isUnset(msg.content);
}

/**
 * Validates an already-parsed wire object (see {@link decodeMessage}); the zero-value message is
 * returned as {@link emptyMessage}, not refused.
 */
export function messageFromWire(raw: unknown): Message {
  if (!isRecord(raw)) throw new MessageDecodeError("message must be a JSON object");
  const m = goFields(raw, MESSAGE_FIELDS);
  if (!isRecord(m.header)) throw new MessageDecodeError("message has no header object");
  if (!isRecord(m.route)) throw new MessageDecodeError("message has no route object");
  const h = goFields(m.header, HEADER_FIELDS);
  const r = goFields(m.route, ROUTE_FIELDS);
  const id = h.msg_id;
  if (
    isUnset(id) && isUnset(h.parent_msg_id) && Object.values(r).every(isUnset) && isUnset(m.content)
  ) {
    return emptyMessage();
  }
  if (typeof id !== "string" || id === "") {
    throw new MessageDecodeError("header.msg_id must be a non-empty string");
  }
  const ts = h.timestamp;
  let timestamp = 0;
  if (ts !== undefined && ts !== null) {
    if (typeof ts !== "number" || !Number.isInteger(ts)) {
      throw new MessageDecodeError("header.timestamp must be an integer");
    }
    timestamp = ts;
  }
  const header: MessageHeader = { id, timestamp };
  const parentId = optString(h.parent_msg_id, "parent_msg_id", "header");
  if (parentId) header.parentId = parentId;
  const rv = optString(h.resourceversion, "resourceversion", "header");
  if (rv) header.resourceVersion = rv;
  const sync = h.sync;
  if (sync !== undefined && sync !== null) {
    if (typeof sync !== "boolean") throw new MessageDecodeError("header.sync must be a boolean");
    if (sync) header.sync = true;
  }
  const type = optString(h.type, "type", "header");
  if (type) header.type = type;
  const route: MessageRoute = {};
  const source = optString(r.source, "source", "route");
  if (source) route.source = source;
  const destination = optString(r.destination, "destination", "route");
  if (destination) route.destination = destination;
  const group = optString(r.group, "group", "route");
  if (group) route.group = group;
  const operation = optString(r.operation, "operation", "route");
  if (operation) route.operation = operation;
  const resource = optString(r.resource, "resource", "route");
  if (resource) route.resource = resource;
  const content = m.content;
  return { header, route, content: content === undefined ? null : content };
}
