/**
 * Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`, client-go's
 * default for built-in types: kubectl's typed clients, cloudcore, controllers) into the JSON form
 * the rest of the API works on. Responses stay JSON, which those clients also accept.
 *
 * A body is `k8s\0` + a runtime.Unknown envelope (typeMeta = 1 {apiVersion = 1, kind = 2}, raw =
 * 2, contentEncoding = 3, contentType = 4) whose raw bytes are the object. The object's field
 * tables come from protobuf_schema.ts, generated from the struct tags of k8s.io/api and
 * k8s.io/apimachinery; every kind registered in core/v1, apps/v1, batch/v1, coordination/v1,
 * events.k8s.io/v1, certificates/v1, authentication/v1, authorization/v1, discovery/v1, policy/v1,
 * rbac/v1, storage/v1 and meta/v1 (DeleteOptions and the other options, Status) is known. Other
 * kinds, custom resources among them (JSON only, as in kube-apiserver), are refused with 415.
 *
 * The result is what kube-apiserver would see: the Go object client-go marshalled, as Go's
 * encoding/json writes it. So a field Go always writes (a non-pointer scalar) is dropped when it
 * is zero and `omitempty`, and written otherwise, even when absent from the wire; a pointer field
 * keeps a zero that was sent (`*int32 replicas = 0`); an absent slice, map or pointer without
 * `omitempty` is `null`, and a non-pointer struct is always written (ObjectMeta's
 * `"creationTimestamp": null`). Repeated scalars are read packed or not; a map is its repeated
 * {key = 1, value = 2} entries. Field numbers the table does not know are skipped (Go's decoder
 * would fail on them; skipping keeps a newer client working where the field is not needed).
 *
 * Limits: the body's wire nesting is bounded by the schema, and embedded JSON (RawExtension,
 * FieldsV1) is checked against {@link MAX_DEPTH} before it is parsed; groups (wire types 3/4,
 * unused by Kubernetes) are refused; the decoded value may have at most two JSON nodes per body
 * byte (plus a constant), so a small body of empty messages cannot expand into a huge object.
 * Anything malformed is a 400.
 */
import { badRequest, unsupportedMediaType } from "./errors.ts";
import { jsonTextTooDeep, MAX_DEPTH, tooDeep } from "./depth.ts";
import { type JsonObject, setOwn } from "./own.ts";
import {
  type Field,
  protobufType,
  SCALARS,
  SPECIALS,
  struct,
  type Type,
} from "./protobuf_types.ts";
import {
  Malformed,
  type Seg,
  Wire,
  WIRE_I32,
  WIRE_I64,
  WIRE_LEN,
  WIRE_VARINT,
} from "./protobuf_wire.ts";
import { encodeBase64 } from "../lib/mod.ts";

const MAGIC = [0x6b, 0x38, 0x73, 0x00]; // "k8s\0"

const UTF8 = new TextDecoder(); // invalid bytes become U+FFFD, as Go's JSON encoder writes them
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

function wireOf(t: Type): number {
  switch (t.k) {
    case "b":
    case "i32":
    case "i64":
    case "u32":
    case "u64":
      return WIRE_VARINT;
    case "f64":
      return WIRE_I64;
    case "f32":
      return WIRE_I32;
    default:
      return WIRE_LEN;
  }
}

/** A Go zero value for a scalar type. */
function zero(t: Type): unknown {
  return t.k === "s" ? "" : t.k === "b" ? false : t.k === "y" ? "" : 0;
}

/** The messages kinds: decoded from the (merged) occurrences of their field. */
function isMessage(t: Type): boolean {
  return t.k === "struct" || t.k === "wrap" || SPECIALS.has(t.k);
}

// ---- The decoder ----

class Decoder {
  #nodes = 0;
  readonly #maxNodes: number;

  constructor(readonly buf: Uint8Array) {
    this.#maxNodes = 2 * buf.length + 4096;
  }

  /** Counts a JSON value about to be placed at `depth` against the size and depth limits. */
  #node(depth: number, n = 1): void {
    if ((this.#nodes += n) > this.#maxNodes) {
      throw badRequest("the protobuf body decodes to too large an object");
    }
    if (depth > MAX_DEPTH) throw tooDeep("the request body");
  }

  /** Reads one scalar of type `t` at `w`, whose wire type was checked. */
  #scalar(w: Wire, t: Type): unknown {
    switch (t.k) {
      case "s": {
        const [a, b] = w.len();
        return UTF8.decode(this.buf.subarray(a, b));
      }
      case "y": {
        const [a, b] = w.len();
        return encodeBase64(this.buf.subarray(a, b));
      }
      case "b":
        w.varint();
        return (w.lo | w.hi) !== 0;
      case "i32":
        w.varint();
        return w.lo | 0;
      case "u32":
        w.varint();
        return w.lo;
      case "i64":
        w.varint();
        return w.int64();
      case "u64":
        w.varint();
        return w.hi * 0x1_0000_0000 + w.lo;
      case "f64": {
        const at = w.fixed(8);
        return new DataView(this.buf.buffer, this.buf.byteOffset + at, 8).getFloat64(0, true);
      }
      case "f32": {
        const at = w.fixed(4);
        return new DataView(this.buf.buffer, this.buf.byteOffset + at, 4).getFloat32(0, true);
      }
    }
    throw new Error(`not a scalar: ${t.k}`);
  }

  /** Decodes a struct from the occurrences of its field (concatenated, they merge). */
  struct(ref: string, segs: Seg[], depth: number): JsonObject {
    const s = struct(ref);
    // Per field: the last scalar, the list or map built so far, or a message's occurrences.
    const vals = new Map<Field, unknown>();
    for (const [start, end] of segs) {
      const w = new Wire(this.buf, start, end);
      while (w.pos < w.end) {
        const [num, wire] = w.tag();
        const f = s.byNum.get(num);
        if (!f) {
          w.skip(wire);
          continue;
        }
        this.#field(w, f, wire, vals, depth + 1);
      }
    }
    const out: JsonObject = {};
    for (const f of s.fields) {
      const v = vals.get(f);
      if (f.inline) {
        const inner = this.struct((f.t as { ref: string }).ref, (v ?? []) as Seg[], depth);
        for (const [k, iv] of Object.entries(inner)) if (!s.names.has(k)) setOwn(out, k, iv);
        continue;
      }
      // Absent from the wire: a nil pointer, slice or map, or a Go zero scalar.
      let json: unknown;
      let nil = false;
      if (v === undefined && (f.ptr || f.t.k === "wrap" || !isMessage(f.t))) {
        if (!f.ptr && SCALARS.has(f.t.k) && f.t.k !== "y") json = zero(f.t);
        else nil = true;
      } else if (isMessage(f.t)) json = this.message(f.t, (v ?? []) as Seg[], depth + 1);
      else json = v;
      if (nil ? f.omit : f.omit && !f.ptr && isEmpty(json, f.t)) continue;
      if (nil) json = null;
      this.#node(depth + 1);
      setOwn(out, f.json, json);
    }
    return out;
  }

  /** Reads one occurrence of field `f` into `vals`; a list's or map's value sits at `depth`. */
  #field(w: Wire, f: Field, wire: number, vals: Map<Field, unknown>, depth: number): void {
    const t = f.t;
    if (t.k === "list") {
      let list = vals.get(f) as unknown[] | undefined;
      if (!list) vals.set(f, list = []);
      const elem = t.elem;
      const want = wireOf(elem);
      if (wire === WIRE_LEN && want !== WIRE_LEN) {
        // Packed scalars.
        const [a, b] = w.len();
        const packed = new Wire(this.buf, a, b);
        while (packed.pos < packed.end) {
          this.#node(depth + 1);
          list.push(this.#scalar(packed, elem));
        }
        return;
      }
      this.#checkWire(f, wire, want);
      this.#node(depth + 1);
      list.push(isMessage(elem) ? this.message(elem, [w.len()], depth + 1) : this.#scalar(w, elem));
      return;
    }
    if (t.k === "map") {
      this.#checkWire(f, wire, WIRE_LEN);
      let map = vals.get(f) as JsonObject | undefined;
      if (!map) vals.set(f, map = {});
      const [key, value] = this.#entry(w.len(), t.val, f, depth + 1);
      setOwn(map, key, value); // a "__proto__" key is data, not a prototype
      return;
    }
    this.#checkWire(f, wire, wireOf(t));
    if (isMessage(t)) {
      const segs = vals.get(f) as Seg[] | undefined;
      if (segs) segs.push(w.len());
      else vals.set(f, [w.len()]);
      return;
    }
    vals.set(f, this.#scalar(w, t));
  }

  #checkWire(f: Field, wire: number, want: number): void {
    if (wire !== want) {
      throw new Malformed(`field ${f.json || f.num} has wire type ${wire}, expected ${want}`);
    }
  }

  /** A map entry {key = 1, value = 2}; an absent part is Go's zero value. */
  #entry(seg: Seg, t: Type, f: Field, depth: number): [string, unknown] {
    const w = new Wire(this.buf, seg[0], seg[1]);
    let key = "";
    let value: unknown;
    const segs: Seg[] = [];
    while (w.pos < w.end) {
      const [num, wire] = w.tag();
      if (num === 1) {
        this.#checkWire(f, wire, WIRE_LEN);
        key = this.#scalar(w, { k: "s" }) as string;
      } else if (num === 2) {
        this.#checkWire(f, wire, wireOf(t));
        if (isMessage(t)) segs.push(w.len());
        else value = this.#scalar(w, t);
      } else w.skip(wire);
    }
    this.#node(depth);
    if (isMessage(t)) return [key, this.message(t, segs, depth)];
    return [key, value === undefined ? zero(t) : value];
  }

  /** Decodes a message-typed value from its occurrences (none: Go's zero value). */
  message(t: Type, segs: Seg[], depth: number): unknown {
    switch (t.k) {
      case "struct":
        return this.struct(t.ref, segs, depth);
      case "wrap": {
        const items: unknown[] = [];
        for (const [a, b] of segs) {
          const w = new Wire(this.buf, a, b);
          while (w.pos < w.end) {
            const [num, wire] = w.tag();
            if (num !== 1) w.skip(wire);
            else if (wire === WIRE_LEN && wireOf(t.elem) !== WIRE_LEN) {
              const [pa, pb] = w.len();
              const packed = new Wire(this.buf, pa, pb);
              while (packed.pos < packed.end) {
                this.#node(depth + 1);
                items.push(this.#scalar(packed, t.elem));
              }
            } else {
              if (wire !== wireOf(t.elem)) throw new Malformed(`items has wire type ${wire}`);
              this.#node(depth + 1);
              items.push(this.#scalar(w, t.elem));
            }
          }
        }
        return items; // present, even empty, is a non-nil slice in Go
      }
      case "time":
      case "mtime": {
        // Timestamp {seconds = 1, nanos = 2}; Go writes the zero time as an empty message.
        if (segs.every(([a, b]) => a === b)) return null;
        const ts = this.#fields(segs, { 1: "i64", 2: "i32" });
        return formatTime(Number(ts[1] ?? 0), Number(ts[2] ?? 0), t.k === "mtime");
      }
      case "dur": {
        const d = this.#fields(segs, { 1: "big" });
        return goDuration((d[1] as bigint | undefined) ?? 0n);
      }
      case "qty": {
        // Go writes the canonical string; an absent or empty one is the zero Quantity.
        const q = this.#fields(segs, { 1: "s" });
        return (q[1] as string | undefined) || "0";
      }
      case "intstr": {
        const v = this.#fields(segs, { 1: "i64", 2: "i32", 3: "s" });
        const type = v[1] ?? 0;
        if (type === 0) return v[2] ?? 0;
        if (type === 1) return v[3] ?? "";
        throw new Malformed(`IntOrString of type ${type}`);
      }
      case "raw":
      case "fieldsv1": {
        // RawExtension / FieldsV1 {raw = 1}: JSON text, written into the object as is.
        const r = this.#fields(segs, { 1: "bytes" });
        const bytes = r[1] as Uint8Array | undefined;
        if (!bytes?.length) return null;
        let text: string;
        try {
          text = STRICT_UTF8.decode(bytes);
        } catch {
          throw new Malformed("embedded JSON is not valid UTF-8");
        }
        // The value sits at `depth`, its own nesting adds to it.
        if (jsonTextTooDeep(text, MAX_DEPTH - depth + 1)) throw tooDeep("the request body");
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (e) {
          throw new Malformed(`embedded JSON: ${(e as Error).message}`);
        }
        this.#node(depth, Math.ceil(text.length / 2));
        return value;
      }
    }
    throw new Error(`not a message: ${t.k}`);
  }

  /** Reads the scalar fields of a small fixed message (last occurrence wins). */
  #fields(
    segs: Seg[],
    spec: Record<number, "i64" | "i32" | "s" | "big" | "bytes">,
  ): Record<number, unknown> {
    const out: Record<number, unknown> = {};
    for (const [a, b] of segs) {
      const w = new Wire(this.buf, a, b);
      while (w.pos < w.end) {
        const [num, wire] = w.tag();
        const kind = spec[num];
        if (!kind) {
          w.skip(wire);
          continue;
        }
        const want = kind === "s" || kind === "bytes" ? WIRE_LEN : WIRE_VARINT;
        if (wire !== want) throw new Malformed(`field ${num} has wire type ${wire}`);
        if (kind === "s" || kind === "bytes") {
          const [sa, sb] = w.len();
          const bytes = this.buf.subarray(sa, sb);
          out[num] = kind === "s" ? UTF8.decode(bytes) : bytes;
        } else {
          w.varint();
          out[num] = kind === "i32" ? w.lo | 0 : kind === "big" ? w.bigint64() : w.int64();
        }
      }
    }
    return out;
  }
}

/** Go's `omitempty`: false, 0, "", and empty slices and maps (never a struct). */
function isEmpty(v: unknown, t: Type): boolean {
  if (SCALARS.has(t.k)) return v === "" || v === 0 || v === false;
  if (t.k === "list" || t.k === "wrap") return v === null || (v as unknown[]).length === 0;
  if (t.k === "map") return Object.keys(v as object).length === 0;
  return false;
}

// ---- Hand-marshalled types ----

const ZERO_TIME_SECONDS = -62135596800; // 0001-01-01T00:00:00Z, Go's zero time.Time

/**
 * metav1.Time as JSON: RFC 3339 in UTC, whole seconds (`2006-01-02T15:04:05Z`), or null for the
 * zero time; metav1.MicroTime with 6 fractional digits. Nanos out of range carry into seconds, as
 * in Go's time.Unix.
 */
function formatTime(seconds: number, nanos: number, micro: boolean): string | null {
  const sec = seconds + Math.floor(nanos / 1e9);
  const ns = ((nanos % 1e9) + 1e9) % 1e9;
  if (!Number.isSafeInteger(sec)) throw new Malformed("timestamp out of range");
  if (sec === ZERO_TIME_SECONDS && ns === 0) return null;
  // Go's Time.MarshalJSON refuses years outside 0..9999, so kube-apiserver could not store one.
  const iso = Math.abs(sec) <= 8.64e12 ? new Date(sec * 1000).toISOString() : "";
  if (!/^\d{4}-/.test(iso)) throw new Malformed("timestamp year outside 0..9999");
  const frac = micro ? `.${String(Math.floor(ns / 1000)).padStart(6, "0")}` : "";
  return `${iso.slice(0, 19)}${frac}Z`;
}

/** Go's time.Duration.String: `1h0m0s`, `1.5s`, `100ms`, `2µs`, `0s`. */
export function goDuration(d: bigint): string {
  if (d === 0n) return "0s";
  let u = d < 0n ? -d : d;
  /** The fraction of u/10**prec without trailing zeros (and no point when it is 0). */
  const frac = (prec: number): string => {
    let digits = "";
    let print = false;
    for (let i = 0; i < prec; i++) {
      const digit = u % 10n;
      print ||= digit !== 0n;
      if (print) digits = `${digit}${digits}`;
      u /= 10n;
    }
    return print ? `.${digits}` : "";
  };
  let s: string;
  if (u < 1_000_000_000n) {
    const [unit, prec] = u < 1000n ? ["ns", 0] : u < 1_000_000n ? ["µs", 3] : ["ms", 6];
    const f = frac(prec as number);
    s = `${u}${f}${unit}`;
  } else {
    const f = frac(9);
    s = `${u % 60n}${f}s`;
    u /= 60n;
    if (u > 0n) {
      s = `${u % 60n}m${s}`;
      u /= 60n;
      if (u > 0n) s = `${u}h${s}`;
    }
  }
  return d < 0n ? `-${s}` : s;
}

// ---- The envelope ----

/** True when the body starts with the Kubernetes protobuf envelope magic. */
export function isK8sProtobuf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && MAGIC.every((b, i) => bytes[i] === b);
}

/** Decodes a `k8s\0` + runtime.Unknown envelope into the object's JSON form. */
export function decodeK8sProtobuf(bytes: Uint8Array): JsonObject {
  if (!isK8sProtobuf(bytes)) throw badRequest("protobuf body without the k8s envelope");
  try {
    const d = new Decoder(bytes);
    const env = new Wire(bytes, 4, bytes.length);
    let apiVersion = "", kind = "";
    let raw: Seg | undefined;
    while (env.pos < env.end) {
      const [num, wire] = env.tag();
      if (num === 1 && wire === WIRE_LEN) {
        const [a, b] = env.len();
        const tm = new Wire(bytes, a, b);
        while (tm.pos < tm.end) {
          const [n, w] = tm.tag();
          if ((n === 1 || n === 2) && w === WIRE_LEN) {
            const [sa, sb] = tm.len();
            const s = UTF8.decode(bytes.subarray(sa, sb));
            if (n === 1) apiVersion = s;
            else kind = s;
          } else tm.skip(w);
        }
      } else if (num === 2 && wire === WIRE_LEN) raw = env.len();
      else env.skip(wire);
    }
    const ref = protobufType(apiVersion, kind);
    if (!ref) {
      throw unsupportedMediaType(
        `protobuf bodies of kind ${kind || "(none)"} in ${
          apiVersion || "(no apiVersion)"
        } are not supported; send application/json`,
      );
    }
    const obj = d.struct(ref, raw ? [raw] : [], 1);
    const out: JsonObject = {};
    if (apiVersion) out.apiVersion = apiVersion;
    out.kind = kind;
    for (const [k, v] of Object.entries(obj)) setOwn(out, k, v);
    return out;
  } catch (e) {
    if (e instanceof Malformed) throw badRequest(`malformed protobuf body: ${e.message}`);
    throw e;
  }
}
