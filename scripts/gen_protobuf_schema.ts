/**
 * Generates `apiserver/protobuf_schema.ts`, the field tables apiserver/protobuf.ts decodes
 * Kubernetes protobuf request bodies with, from the struct tags of the Go API types:
 *
 * ```go
 * Replicas *int32 `json:"replicas,omitempty" protobuf:"varint,1,opt,name=replicas"`
 * ```
 *
 * gives field 1 of apps/v1 DeploymentSpec: JSON name `replicas`, Go type `*int32` (a pointer, so
 * a zero that was sent is kept), `omitempty`. The protobuf wire type follows from the Go type (the
 * tag's own wire word is wrong in places, e.g. `*bool` tagged `bytes`), as go-to-protobuf derives
 * it. Only the types reachable from the kinds each package registers (`register.go`) are written.
 *
 * Usage (the module directories as `go mod download -json` prints them):
 *
 * ```sh
 * GOFLAGS=-mod=mod GOPATH=/tmp/gp go mod download -json k8s.io/api@v0.32.13 k8s.io/apimachinery@v0.32.13
 * deno run --allow-read --allow-write=apiserver/protobuf_schema.ts --allow-run \
 *   scripts/gen_protobuf_schema.ts <k8s.io/api dir> <k8s.io/apimachinery dir>
 * ```
 *
 * The output grammar is documented in the generated file's header.
 */

interface Pkg {
  /** Short id used in the output (`core.Pod`). */
  id: string;
  module: "api" | "apimachinery";
  /** Directory inside the module, and the import path's tail. */
  dir: string;
  files: string[];
  /** Reads the kinds from `register.go`; meta/v1 registers through AddToGroupVersion instead. */
  register: boolean;
}

const PACKAGES: Pkg[] = [
  {
    id: "meta",
    module: "apimachinery",
    dir: "pkg/apis/meta/v1",
    files: ["types.go", "watch.go"],
    register: false,
  },
  ...[
    "core",
    "coordination",
    "events",
    "certificates",
    "authentication",
    "authorization",
    "apps",
    "batch",
    "discovery",
    "policy",
    "rbac",
    "storage",
  ].map((id): Pkg => ({
    id,
    module: "api",
    dir: `${id}/v1`,
    files: ["types.go"],
    register: true,
  })),
];

/**
 * Types whose Go code marshals by hand (time_proto.go, MarshalJSON): the decoder knows their wire
 * layout and JSON form by these names.
 */
const SPECIAL: Record<string, string> = {
  "k8s.io/apimachinery/pkg/apis/meta/v1.Time": "time",
  "k8s.io/apimachinery/pkg/apis/meta/v1.MicroTime": "mtime",
  "k8s.io/apimachinery/pkg/apis/meta/v1.Duration": "dur",
  "k8s.io/apimachinery/pkg/apis/meta/v1.FieldsV1": "fieldsv1",
  "k8s.io/apimachinery/pkg/api/resource.Quantity": "qty",
  "k8s.io/apimachinery/pkg/util/intstr.IntOrString": "intstr",
  "k8s.io/apimachinery/pkg/runtime.RawExtension": "raw",
  // Named strings of k8s.io/apimachinery/pkg/types.
  "k8s.io/apimachinery/pkg/types.UID": "s",
  "k8s.io/apimachinery/pkg/types.NodeName": "s",
};

/** Kinds AddToGroupVersion registers in every group version (meta/v1 register.go). */
const OPTIONS_KINDS = [
  "ListOptions",
  "GetOptions",
  "DeleteOptions",
  "CreateOptions",
  "UpdateOptions",
  "PatchOptions",
  "WatchEvent",
];
/** Registered in "v1" by AddToGroupVersion as unversioned. */
const UNVERSIONED_KINDS = ["Status", "APIVersions", "APIGroupList", "APIGroup", "APIResourceList"];
/** meta.k8s.io/v1 (AddMetaToScheme, and the option types). */
const META_KINDS = [
  ...OPTIONS_KINDS.filter((k) => k !== "WatchEvent"),
  "Table",
  "TableOptions",
  "PartialObjectMetadata",
  "PartialObjectMetadataList",
];

const BASIC: Record<string, string> = {
  string: "s",
  bool: "b",
  int32: "i32",
  int64: "i64",
  uint32: "u32",
  uint64: "u64",
  float64: "f64",
  float32: "f32",
  "time.Duration": "i64",
};

interface GoField {
  /** Go field name; empty for an embedded field. */
  name: string;
  type: string;
  json?: string;
  proto?: string;
}

type Decl =
  | { kind: "struct"; fields: GoField[]; doc: string; pkg: Pkg; imports: Map<string, string> }
  | { kind: "named"; underlying: string; doc: string; pkg: Pkg; imports: Map<string, string> };

const [apiDir, machineryDir] = Deno.args;
if (!apiDir || !machineryDir) {
  console.error("usage: gen_protobuf_schema.ts <k8s.io/api dir> <k8s.io/apimachinery dir>");
  Deno.exit(2);
}
const version = /@(v[\w.-]+)\/?$/.exec(apiDir)?.[1] ?? "(unknown version)";
const machineryVersion = /@(v[\w.-]+)\/?$/.exec(machineryDir)?.[1];
if (machineryVersion && machineryVersion !== version) {
  throw new Error(`k8s.io/api ${version} with k8s.io/apimachinery ${machineryVersion}`);
}

const importPath = (p: Pkg) =>
  p.module === "api" ? `k8s.io/api/${p.dir}` : `k8s.io/apimachinery/${p.dir}`;
const pkgByPath = new Map(PACKAGES.map((p) => [importPath(p), p]));
const sourceDir = (p: Pkg) => `${p.module === "api" ? apiDir : machineryDir}/${p.dir}`;

/** Declarations by `<pkg id>.<Name>`. */
const decls = new Map<string, Decl>();

function parseImports(src: string): Map<string, string> {
  const out = new Map<string, string>();
  const block = /^import \(([\s\S]*?)^\)/m.exec(src)?.[1] ?? "";
  const single = [...src.matchAll(/^import ((?:\w+ )?"[^"]+")$/gm)].map((m) => m[1]);
  for (const line of [...block.split("\n"), ...single]) {
    const m = /^\s*(?:(\w+)\s+)?"([^"]+)"/.exec(line);
    if (m) out.set(m[1] ?? m[2].split("/").at(-1)!, m[2]);
  }
  return out;
}

function parseFile(pkg: Pkg, src: string): void {
  const imports = parseImports(src);
  const lines = src.split("\n");
  let doc: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith("//")) {
      doc.push(line);
      continue;
    }
    const struct = /^type (\w+) struct \{\s*$/.exec(line);
    const empty = /^type (\w+) struct\s*\{\s*\}\s*$/.exec(line);
    const named = /^type (\w+) (\S+)\s*(\/\/.*)?$/.exec(line);
    if (struct) {
      const fields: GoField[] = [];
      let inBlockComment = false;
      for (i++; !lines[i].startsWith("}"); i++) {
        const l = lines[i];
        if (inBlockComment) {
          if (l.includes("*/")) inBlockComment = false;
          continue;
        }
        if (/^\s*\/\*/.test(l)) {
          inBlockComment = !l.includes("*/");
          continue;
        }
        if (/^\s*(\/\/.*)?$/.test(l)) continue;
        const f = /^\t(?:(\w+)\s+)?(\*?[\w.\[\]{}*]+)\s*(?:`([^`]*)`)?\s*(?:\/\/.*)?$/.exec(l);
        if (!f) throw new Error(`${pkg.id}.${struct[1]}: cannot parse field line ${l}`);
        const tag = f[3] ?? "";
        fields.push({
          name: f[1] ?? "",
          type: f[2],
          json: /json:"([^"]*)"/.exec(tag)?.[1],
          proto: /protobuf:"([^"]*)"/.exec(tag)?.[1],
        });
      }
      decls.set(`${pkg.id}.${struct[1]}`, {
        kind: "struct",
        fields,
        doc: doc.join("\n"),
        pkg,
        imports,
      });
    } else if (empty) {
      decls.set(`${pkg.id}.${empty[1]}`, {
        kind: "struct",
        fields: [],
        doc: doc.join("\n"),
        pkg,
        imports,
      });
    } else if (named && named[2] !== "struct" && named[2] !== "interface") {
      decls.set(`${pkg.id}.${named[1]}`, {
        kind: "named",
        underlying: named[2],
        doc: doc.join("\n"),
        pkg,
        imports,
      });
    }
    doc = [];
  }
}

/** Registered kinds: group version → type refs. */
const kinds = new Map<string, string[]>();

function parseRegister(pkg: Pkg, src: string): void {
  const group = /const GroupName = "([^"]*)"/.exec(src)?.[1];
  const ver = /SchemeGroupVersion = schema\.GroupVersion\{Group: GroupName, Version: "(\w+)"\}/
    .exec(src)?.[1];
  const body = /func addKnownTypes\([^)]*\) error \{([\s\S]*?)^\}/m.exec(src)?.[1];
  if (group === undefined || !ver || !body) throw new Error(`${pkg.id}: unexpected register.go`);
  if (!body.includes("metav1.AddToGroupVersion(scheme, SchemeGroupVersion)")) {
    throw new Error(`${pkg.id}: register.go does not call metav1.AddToGroupVersion`);
  }
  const imports = parseImports(src);
  const refs: string[] = [];
  for (const m of body.matchAll(/&(?:(\w+)\.)?(\w+)\{\}/g)) {
    refs.push(m[1] ? `${pkgOf(imports, m[1]).id}.${m[2]}` : `${pkg.id}.${m[2]}`);
  }
  refs.push(...OPTIONS_KINDS.map((k) => `meta.${k}`));
  const gv = group ? `${group}/${ver}` : ver;
  kinds.set(gv, refs);
}

function pkgOf(imports: Map<string, string>, alias: string): Pkg {
  const path = imports.get(alias);
  const pkg = path && pkgByPath.get(path);
  if (!pkg) throw new Error(`package ${alias} (${path}) is not among the generated packages`);
  return pkg;
}

for (const pkg of PACKAGES) {
  for (const f of pkg.files) parseFile(pkg, await Deno.readTextFile(`${sourceDir(pkg)}/${f}`));
  if (pkg.register) parseRegister(pkg, await Deno.readTextFile(`${sourceDir(pkg)}/register.go`));
}
kinds.set("v1", [...kinds.get("v1")!, ...UNVERSIONED_KINDS.map((k) => `meta.${k}`)]);
kinds.set("meta.k8s.io/v1", META_KINDS.map((k) => `meta.${k}`));

// ---- Resolution of Go types to the output grammar ----

/** A type marked `+protobuf=false` (meta/v1 Table and its parts): kube-apiserver has no
 * protobuf form for it, so it is not among the kinds. */
function notProtobuf(ref: string): boolean {
  const d = decls.get(ref);
  return d?.kind === "struct" && /^\/\/ \+protobuf=false$/m.test(d.doc);
}

/** Struct refs reached so far, to be written. */
const reached = new Set<string>();
const queue: string[] = [];
function reach(ref: string): string {
  const d = decls.get(ref);
  if (!d || d.kind !== "struct") throw new Error(`${ref} is not a struct`);
  if (notProtobuf(ref)) throw new Error(`${ref} (+protobuf=false) is reached`);
  if (!reached.has(ref)) {
    reached.add(ref);
    queue.push(ref);
  }
  return ref;
}

/** Resolves a Go type name (no pointer, slice or map) seen in `pkg` to the output grammar. */
function resolveNamed(name: string, pkg: Pkg, imports: Map<string, string>): string {
  if (BASIC[name]) return BASIC[name];
  let ref: string;
  const dot = name.indexOf(".");
  if (dot >= 0) {
    const alias = name.slice(0, dot);
    const path = imports.get(alias);
    const special = path && SPECIAL[`${path}.${name.slice(dot + 1)}`];
    if (special) return special;
    ref = `${pkgOf(imports, alias).id}.${name.slice(dot + 1)}`;
  } else {
    const special = SPECIAL[`${importPath(pkg)}.${name}`];
    if (special) return special;
    ref = `${pkg.id}.${name}`;
  }
  const d = decls.get(ref);
  if (!d) throw new Error(`unknown type ${name} (${ref})`);
  if (d.kind === "struct") return reach(ref);
  const u = d.underlying;
  if (u.startsWith("[]") && u !== "[]byte") {
    // A named slice is a message with `repeated <elem> items = 1` (ExtraValue, Verbs).
    if (!d.doc.includes("+protobuf.nullable=true")) {
      throw new Error(`${ref}: a named slice without +protobuf.nullable=true`);
    }
    return `(${resolve(u.slice(2), d.pkg, d.imports)})`;
  }
  return resolve(u, d.pkg, d.imports);
}

/** Resolves any Go type expression to the output grammar. */
function resolve(t: string, pkg: Pkg, imports: Map<string, string>): string {
  if (t === "[]byte") return "y";
  if (t.startsWith("*")) return `*${resolve(t.slice(1), pkg, imports)}`;
  if (t.startsWith("[]")) return `[]${resolve(t.slice(2), pkg, imports)}`;
  const map = /^map\[([^\]]+)\](.+)$/.exec(t);
  if (map) return `{${resolve(map[1], pkg, imports)}:${resolve(map[2], pkg, imports)}}`;
  return resolveNamed(t, pkg, imports);
}

/**
 * The shapes the decoder handles: `T`, `*T`, `[]T`, `{s:T}`, with T a scalar, a hand-marshalled
 * type, a struct ref or `(scalar)`. Anything else stops the generator.
 */
function checkType(ref: string, f: GoField, type: string): void {
  const base = String.raw`(?:[a-z0-9]+|[a-z]+\.[A-Z]\w*|\([a-z0-9]+\))`;
  if (!new RegExp(String.raw`^(?:\*?${base}|\[\]${base}|\{s:${base}\})$`).test(type)) {
    throw new Error(`${ref}.${f.name}: unsupported type shape ${f.type} (${type})`);
  }
}

interface OutField {
  num: number;
  json: string;
  type: string;
  omitempty: boolean;
  inline: boolean;
}

function fieldsOf(ref: string): OutField[] {
  const d = decls.get(ref);
  if (!d || d.kind !== "struct") throw new Error(`${ref} is not a struct`);
  const out: OutField[] = [];
  for (const f of d.fields) {
    if (f.json === "-") continue;
    if (f.name && !/^[A-Z]/.test(f.name)) continue; // unexported: not in JSON
    const [jsonName = "", ...opts] = (f.json ?? "").split(",");
    for (const o of opts) {
      if (o !== "omitempty" && o !== "inline") throw new Error(`${ref}.${f.name}: json ${o}`);
    }
    // An embedded struct without a JSON name has its fields inlined by encoding/json.
    const inline = !f.name && jsonName === "";
    // Embedded TypeMeta carries no protobuf tag: apiVersion and kind travel in the envelope.
    if (inline && /(^|\.)TypeMeta$/.test(f.type)) continue;
    // The tag's wire word and "rep"/"opt" are not used: they are wrong in places (discovery/v1
    // EndpointSlice.AddressType, a string, says "rep"; Endpoint.Conditions.Ready, a *bool, says
    // "bytes"). The Go type decides, as it does for go-to-protobuf.
    const num = Number(f.proto?.split(",")[1]);
    if (!Number.isInteger(num) || num <= 0) {
      throw new Error(`${ref}.${f.name || f.type}: protobuf tag ${f.proto}`);
    }
    const type = resolve(f.type, d.pkg, d.imports);
    checkType(ref, f, type);
    if (inline && !/^[a-z]+\.[A-Z]\w*$/.test(type)) {
      throw new Error(`${ref}: inline ${f.type} is not a struct`);
    }
    const json = jsonName || f.name;
    out.push({ num, json, type, omitempty: opts.includes("omitempty"), inline });
  }
  const nums = out.map((f) => f.num);
  if (new Set(nums).size !== nums.length) throw new Error(`${ref}: duplicate field numbers`);
  return out;
}

// ---- Output ----

/** Drops the own package's prefix from struct refs inside a type. */
function local(type: string, pkgId: string): string {
  return type.replace(new RegExp(`(^|[^\\w.])${pkgId}\\.(?=[A-Z])`, "g"), "$1");
}

function fieldText(f: OutField, pkgId: string): string {
  const flags = (f.omitempty ? "o" : "") + (f.inline ? "i" : "");
  return [f.num, f.json, local(f.type, pkgId), ...(flags ? [flags] : [])].join(",");
}

// Kinds are keyed by their registered name, which for an alias (core/v1 List = meta/v1 List)
// differs from the type written.
const kindEntries: string[] = [];
for (const [gv, refs] of [...kinds].sort(([a], [b]) => a.localeCompare(b))) {
  const items = [...new Set(refs)].filter((r) => !notProtobuf(r)).sort((a, b) =>
    a.split(".")[1].localeCompare(b.split(".")[1])
  )
    .map((r) => {
      const [id, name] = r.split(".");
      const target = resolveNamed(name, PACKAGES.find((p) => p.id === id)!, new Map());
      return target === r ? r : `${name}=${target}`;
    });
  kindEntries.push(`  ${JSON.stringify(gv)}: ${JSON.stringify(items.join(" "))},`);
}
const tables = new Map<string, OutField[]>();
while (queue.length) {
  const ref = queue.shift()!;
  tables.set(ref, fieldsOf(ref));
}

const typeEntries = [...tables].sort(([a], [b]) => a.localeCompare(b)).map(([ref, fields]) => {
  const pkgId = ref.split(".")[0];
  return `  ${JSON.stringify(ref)}: ${
    JSON.stringify(fields.map((f) => fieldText(f, pkgId)).join(" "))
  },`;
});

const header =
  `// Generated by scripts/gen_protobuf_schema.ts from k8s.io/api and k8s.io/apimachinery
// ${version} struct tags; do not edit.
/**
 * Protobuf field tables of the built-in Kubernetes types, for apiserver/protobuf.ts.
 *
 * {@link KINDS}: group version → its registered kinds, each a type ref (\`core.Pod\`), or
 * \`Kind=ref\` where the kind names another type (core/v1 List is meta/v1 List).
 *
 * {@link TYPES}: type ref → its fields, space-separated, each \`number,jsonName,type[,flags]\`:
 * - number: the protobuf field number.
 * - type: \`s\` string, \`b\` bool, \`i32\` \`i64\` \`u32\` \`u64\` integers, \`f32\` \`f64\`,
 *   \`y\` bytes (base64 in JSON), \`any\` (an interface, never in protobuf); the hand-marshalled
 *   \`time\` (metav1.Time), \`mtime\` (metav1.MicroTime), \`dur\` (metav1.Duration), \`qty\`
 *   (resource.Quantity), \`intstr\` (intstr.IntOrString), \`raw\` (runtime.RawExtension),
 *   \`fieldsv1\` (metav1.FieldsV1); a struct ref, without its package inside the same package;
 *   \`*T\` a Go pointer, \`[]T\` a slice (repeated), \`{K:V}\` a map (repeated key=1/value=2
 *   entries), \`(T)\` a named slice sent as a message of \`repeated T items = 1\` (ExtraValue).
 * - flags: \`o\` omitempty, \`i\` an embedded struct whose fields JSON inlines.
 */
`;

const text = `${header}export const KINDS: Readonly<Record<string, string>> = {
${kindEntries.join("\n")}
};

export const TYPES: Readonly<Record<string, string>> = {
${typeEntries.join("\n")}
};
`;

const outPath = new URL("../apiserver/protobuf_schema.ts", import.meta.url).pathname;
await Deno.writeTextFile(outPath, text);
const fmt = await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", outPath] }).output();
if (!fmt.success) throw new Error(`deno fmt failed: ${new TextDecoder().decode(fmt.stderr)}`);
const written = await Deno.readTextFile(outPath);
console.log(
  `${outPath}: ${tables.size} types, ${
    [...tables.values()].reduce((n, f) => n + f.length, 0)
  } fields, ${written.split("\n").length - 1} lines, ${
    new TextEncoder().encode(written).length
  } bytes`,
);
