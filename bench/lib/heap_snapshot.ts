/**
 * Reads a V8 `.heapsnapshot` (as written by {@link ./inspector.ts}) without `JSON.parse` of the
 * whole file (a hub with thousands of sessions writes more than V8's largest string) and
 * summarises it for bench/scenarios/heap.ts:
 *
 * - self size and count by class (constructor name for objects, function name for closures,
 *   `(type) name` for V8's internal arrays, strings, code, ...);
 * - "owned" size: every object is charged to its nearest ancestor of an owner class along the
 *   breadth-first retainer tree from the GC roots (the path DevTools shows first), so e.g. all
 *   that a `TLSSocket` holds alone is charged to `TLSSocket`;
 * - the commonest retainer paths of the largest classes.
 *
 * Two summaries at two fleet sizes, differenced and divided by the added nodes, say what each
 * added session or node costs in JS heap.
 */

/** Per class: instances and bytes. */
export interface ClassStat {
  count: number;
  size: number;
}

/** What {@link summarizeSnapshot} returns. */
export interface HeapSummary {
  nodes: number;
  totalSize: number;
  byClass: Record<string, ClassStat>;
  /** Owner class → bytes charged to it (see module docs); `(none)` for the rest. */
  owned: Record<string, ClassStat>;
  /** Class → its commonest retainer paths (`count  A.prop ← B.prop ← ...`). */
  retainers: Record<string, [string, number][]>;
}

/** A parsed snapshot: V8's flat arrays (see the `.heapsnapshot` format's `meta`). */
export interface Parsed {
  nodeFields: number;
  nodeTypes: string[];
  edgeFields: number;
  edgeTypes: string[];
  nodes: Float64Array;
  edges: Uint32Array;
  strings: string[];
}

function indexOf(bytes: Uint8Array, needle: string, from = 0): number {
  const n = new TextEncoder().encode(needle);
  outer: for (let i = from; i <= bytes.length - n.length; i++) {
    if (bytes[i] !== n[0]) continue;
    for (let k = 1; k < n.length; k++) if (bytes[i + k] !== n[k]) continue outer;
    return i;
  }
  return -1;
}

/** Parses a JSON array of non-negative integers starting at `start` (`[`). */
function parseInts<T extends Float64Array | Uint32Array>(
  bytes: Uint8Array,
  start: number,
  out: T,
): number {
  let i = start + 1;
  let k = 0;
  let cur = 0;
  let inNum = false;
  for (; i < bytes.length; i++) {
    const c = bytes[i];
    if (c >= 48 && c <= 57) {
      cur = cur * 10 + (c - 48);
      inNum = true;
    } else {
      if (inNum) {
        out[k++] = cur;
        cur = 0;
        inNum = false;
      }
      if (c === 93) break; // ]
    }
  }
  if (k !== out.length) throw new Error(`heap snapshot: read ${k} numbers, expected ${out.length}`);
  return i;
}

/** Parses a snapshot file's bytes. */
export function parse(bytes: Uint8Array): Parsed {
  const dec = new TextDecoder();
  const nodesAt = indexOf(bytes, '"nodes":[');
  if (nodesAt < 0) throw new Error("heap snapshot: no nodes");
  const head = JSON.parse(dec.decode(bytes.subarray(0, nodesAt)).replace(/,\s*$/, "") + "}") as {
    snapshot: {
      meta: {
        node_fields: string[];
        node_types: [string[]];
        edge_fields: string[];
        edge_types: [string[]];
      };
      node_count: number;
      edge_count: number;
    };
  };
  const meta = head.snapshot.meta;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const nodes = new Float64Array(head.snapshot.node_count * nodeFields);
  let at = parseInts(bytes, nodesAt + '"nodes":'.length, nodes);
  const edgesAt = indexOf(bytes, '"edges":[', at);
  const edges = new Uint32Array(head.snapshot.edge_count * edgeFields);
  at = parseInts(bytes, edgesAt + '"edges":'.length, edges);
  const stringsAt = indexOf(bytes, '"strings":[', at);
  let end = bytes.length - 1;
  while (bytes[end] !== 93) end--; // the strings array's closing ]
  const strings = JSON.parse(dec.decode(bytes.subarray(stringsAt + '"strings":'.length, end + 1)));
  return {
    nodeFields,
    nodeTypes: meta.node_types[0],
    edgeFields,
    edgeTypes: meta.edge_types[0],
    nodes,
    edges,
    strings,
  };
}

/** Options of {@link summarizeSnapshot}. */
export interface SummaryOptions {
  /** Classes objects are charged to (see module docs). */
  owners?: RegExp;
  /** Retainer paths for this many of the largest classes (default 25). */
  retainerClasses?: number;
  /** Path depth (default 5). */
  depth?: number;
}

/** Reads and summarises one snapshot file; see module docs. */
export async function summarizeSnapshot(
  file: string,
  opts: SummaryOptions = {},
): Promise<HeapSummary> {
  const p = parse(await Deno.readFile(file));
  const { nodeFields: NF, edgeFields: EF, nodes, edges, strings } = p;
  const n = nodes.length / NF;
  const T_TYPE = 0, T_NAME = 1, T_SIZE = 3, T_EDGES = 4;
  const E_TYPE = 0, E_NAME = 1, E_TO = 2;
  const weak = p.edgeTypes.indexOf("weak");
  const shortcut = p.edgeTypes.indexOf("shortcut");
  const classOf = new Int32Array(n);
  const classNames: string[] = [];
  const classIds = new Map<string, number>();
  const firstEdge = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) firstEdge[i + 1] = firstEdge[i] + nodes[i * NF + T_EDGES] * EF;
  let totalSize = 0;
  const byClass: Record<string, ClassStat> = {};
  for (let i = 0; i < n; i++) {
    const type = p.nodeTypes[nodes[i * NF + T_TYPE]];
    const name = strings[nodes[i * NF + T_NAME]];
    let key: string;
    if (type === "object" || type === "closure" || type === "native") {
      key = type === "closure" ? `${name || "(anonymous)"}()` : name;
      if (type === "native") key = `(native) ${name}`;
    } else if (type === "string" || type === "concatenated string" || type === "sliced string") {
      key = "(string)";
    } else if (type === "hidden" || type === "array" || type === "synthetic") {
      key = `(${type}) ${name.replace(/ \/ .*$/, "").slice(0, 60)}`;
    } else key = `(${type})`;
    let id = classIds.get(key);
    if (id === undefined) {
      id = classNames.length;
      classNames.push(key);
      classIds.set(key, id);
    }
    classOf[i] = id;
    const size = nodes[i * NF + T_SIZE];
    totalSize += size;
    const s = byClass[key] ??= { count: 0, size: 0 };
    s.count++;
    s.size += size;
  }
  // Breadth-first retainer tree from the root (node 0), weak and shortcut edges left out.
  const parent = new Int32Array(n).fill(-1);
  const parentEdge = new Int32Array(n).fill(-1);
  const order = new Uint32Array(n);
  let head = 0, tail = 0;
  order[tail++] = 0;
  parent[0] = 0;
  while (head < tail) {
    const u = order[head++];
    for (let e = firstEdge[u]; e < firstEdge[u + 1]; e += EF) {
      const t = edges[e + E_TYPE];
      if (t === weak || t === shortcut) continue;
      const v = edges[e + E_TO] / NF;
      if (parent[v] !== -1) continue;
      parent[v] = u;
      parentEdge[v] = e;
      order[tail++] = v;
    }
  }
  // Owners: each reachable object is charged to its nearest owner-class ancestor (or itself).
  const owners = opts.owners;
  const owned: Record<string, ClassStat> = {};
  if (owners) {
    const isOwner = classNames.map((c) => owners.test(c));
    const owner = new Int32Array(n).fill(-1);
    for (let k = 0; k < tail; k++) {
      const v = order[k];
      owner[v] = isOwner[classOf[v]] ? classOf[v] : (v === 0 ? -1 : owner[parent[v]]);
      const key = owner[v] < 0 ? "(none)" : classNames[owner[v]];
      const s = owned[key] ??= { count: 0, size: 0 };
      if (owner[v] === classOf[v] && isOwner[classOf[v]]) s.count++;
      s.size += nodes[v * NF + T_SIZE];
    }
  }
  // Retainer paths of the largest classes.
  const edgeName = (e: number) => {
    const t = p.edgeTypes[edges[e + E_TYPE]];
    const nm = edges[e + E_NAME];
    return t === "element" || t === "hidden" ? `[${nm}]` : String(strings[nm]);
  };
  const top = Object.entries(byClass).sort((a, b) => b[1].size - a[1].size).slice(
    0,
    opts.retainerClasses ?? 25,
  ).map(([k]) => classIds.get(k)!);
  const wanted = new Set(top);
  const paths = new Map<number, Map<string, number>>();
  const depth = opts.depth ?? 5;
  for (let v = 0; v < n; v++) {
    if (!wanted.has(classOf[v]) || parent[v] < 0) continue;
    const parts: string[] = [];
    let u = v;
    for (let d = 0; d < depth && u !== 0; d++) {
      const e = parentEdge[u];
      const pu = parent[u];
      parts.push(`${classNames[classOf[pu]]}.${edgeName(e)}`);
      u = pu;
    }
    const key = parts.join(" ← ").replace(/\[\d+\]/g, "[i]");
    const m = paths.get(classOf[v]) ?? new Map<string, number>();
    paths.set(classOf[v], m);
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  const retainers: Record<string, [string, number][]> = {};
  for (const [c, m] of paths) {
    retainers[classNames[c]] = [...m].sort((a, b) => b[1] - a[1]).slice(0, 4);
  }
  return { nodes: n, totalSize, byClass, owned, retainers };
}

/** `b − a` per class, divided by `per`, largest first: bytes and instances per added unit. */
export function diffPer(
  a: Record<string, ClassStat>,
  b: Record<string, ClassStat>,
  per: number,
  top = 30,
): { cls: string; bytes: number; count: number }[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].map((cls) => ({
    cls,
    bytes: ((b[cls]?.size ?? 0) - (a[cls]?.size ?? 0)) / per,
    count: ((b[cls]?.count ?? 0) - (a[cls]?.count ?? 0)) / per,
  })).sort((x, y) => Math.abs(y.bytes) - Math.abs(x.bytes)).slice(0, top);
}
