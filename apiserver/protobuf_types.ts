/**
 * The field tables of protobuf_schema.ts, parsed on first use into types the decoder walks: a
 * struct's fields by number, each with its JSON name, type, pointer and omitempty flags; and the
 * registered kinds of each group version.
 */
import { KINDS, TYPES } from "./protobuf_schema.ts";

export type Scalar = "s" | "b" | "i32" | "i64" | "u32" | "u64" | "f32" | "f64" | "y";
export type Special = "time" | "mtime" | "dur" | "qty" | "intstr" | "raw" | "fieldsv1";
export type Type =
  | { k: Scalar }
  | { k: Special }
  | { k: "struct"; ref: string }
  | { k: "wrap"; elem: Type } // a named slice sent as a message {repeated elem items = 1}
  | { k: "list"; elem: Type }
  | { k: "map"; val: Type };

export interface Field {
  num: number;
  json: string;
  t: Type;
  ptr: boolean;
  omit: boolean;
  inline: boolean;
}

export interface Struct {
  ref: string;
  fields: Field[];
  byNum: Map<number, Field>;
  /** JSON names of the struct's own (not inlined) fields: they win over inlined ones. */
  names: Set<string>;
}

export const SCALARS = new Set(["s", "b", "i32", "i64", "u32", "u64", "f32", "f64", "y"]);
export const SPECIALS = new Set(["time", "mtime", "dur", "qty", "intstr", "raw", "fieldsv1"]);

function parseType(text: string, pkg: string): Type {
  if (text.startsWith("[]")) return { k: "list", elem: parseType(text.slice(2), pkg) };
  if (text.startsWith("{s:")) return { k: "map", val: parseType(text.slice(3, -1), pkg) };
  if (text.startsWith("(")) return { k: "wrap", elem: parseType(text.slice(1, -1), pkg) };
  if (SCALARS.has(text)) return { k: text as Scalar };
  if (SPECIALS.has(text)) return { k: text as Special };
  return { k: "struct", ref: text.includes(".") ? text : `${pkg}.${text}` };
}

const structs = new Map<string, Struct>();

export function struct(ref: string): Struct {
  let s = structs.get(ref);
  if (s) return s;
  const text = TYPES[ref];
  if (text === undefined) throw new Error(`protobuf schema: no type ${ref}`);
  const pkg = ref.slice(0, ref.indexOf("."));
  const fields = text === "" ? [] : text.split(" ").map((f): Field => {
    const [num, json, type, flags = ""] = f.split(",");
    const ptr = type.startsWith("*");
    return {
      num: Number(num),
      json,
      t: parseType(ptr ? type.slice(1) : type, pkg),
      ptr,
      omit: flags.includes("o"),
      inline: flags.includes("i"),
    };
  });
  s = {
    ref,
    fields,
    byNum: new Map(fields.map((f) => [f.num, f])),
    names: new Set(fields.filter((f) => !f.inline).map((f) => f.json)),
  };
  structs.set(ref, s);
  return s;
}

let kinds: Map<string, string> | undefined;

/** The root type of `kind` in `apiVersion`, or undefined when it has no protobuf form here. */
export function protobufType(apiVersion: string, kind: string): string | undefined {
  if (!kinds) {
    kinds = new Map();
    for (const [gv, list] of Object.entries(KINDS)) {
      for (const item of list.split(" ")) {
        const eq = item.indexOf("=");
        const name = eq >= 0 ? item.slice(0, eq) : item.slice(item.indexOf(".") + 1);
        kinds.set(`${gv} ${name}`, eq >= 0 ? item.slice(eq + 1) : item);
      }
    }
  }
  return kinds.get(`${apiVersion} ${kind}`);
}
