/**
 * The nesting-depth limit on request bodies, checked before any recursive code sees them.
 *
 * kube-apiserver refuses deeply nested input (Go's decoders stop at 10,000 levels). Here the
 * recursive code paths overflow V8's stack far earlier — measured with Deno 2.9.6 on x86-64, from
 * a shallow stack: `structuredClone` at ~2,700 levels, `JSON.stringify` on its slow path (objects
 * in dictionary mode, which the REST layer produces) at ~2,700, strategic merge patch and
 * `jsonEqual` at ~2,700-3,100, yaml's composer at ~1,370 (it turns the overflow into a parse
 * error), merge patch at ~4,700, fast-json-patch at ~8,000 — and an overflow outside a `try` used
 * to wedge the store's write queue. {@link MAX_DEPTH} sits ten times below the weakest of them and
 * well above real objects: Pods reach ~15 levels, a CRD whose openAPIV3Schema embeds a PodSpec
 * ~30-50.
 *
 * Depth counts the arrays and objects open at the deepest point: `1` is 0, `{"a":[1]}` is 2.
 */
import { CST, Lexer } from "yaml";
import { type ApiError, badRequest } from "./errors.ts";

/** Deepest nesting accepted in a request body or a patched object (why 128: see above). */
export const MAX_DEPTH = 128;

/** 400 BadRequest naming the limit, e.g. "the request body nests deeper than 128 levels". */
export function tooDeep(what: string, max = MAX_DEPTH): ApiError {
  return badRequest(`${what} nests deeper than ${max} levels`);
}

/** True when JSON text nests deeper than `max`: one pass over brackets outside strings. */
export function jsonTextTooDeep(text: string, max = MAX_DEPTH): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === 0x5c /* \ */) i++;
        else if (s === 0x22) break;
      }
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return false;
}

/**
 * True when YAML text nests deeper than `max`, from yaml's lexer (linear, stops at the first
 * level too many) before its recursive composer runs. Block collections are tracked by the column
 * they start at, flow collections by their brackets. Aliases can nest deeper than the text shows:
 * check the parsed value with {@link valueTooDeep} as well.
 */
export function yamlTextTooDeep(text: string, max = MAX_DEPTH): boolean {
  const blocks: { col: number; seq: boolean }[] = []; // open block collections, innermost last
  let flow = 0; // open flow collections
  let col = 0; // column of the current token
  let lineStart = true; // nothing but indentation so far on this line
  let nodeCol = -1; // column where the current node (a key, say) starts on this line
  const open = (at: number, seq: boolean): boolean => {
    const top = blocks.at(-1);
    if (top?.col === at && top.seq === seq) return false;
    blocks.push({ col: at, seq });
    return blocks.length > max;
  };
  for (const tok of new Lexer().lex(text)) {
    const type = CST.tokenType(tok);
    if (type === "doc-mode" || type === "scalar" || type === "flow-error-end") continue;
    const at = col;
    const nl = tok.lastIndexOf("\n");
    col = nl >= 0 ? tok.length - nl - 1 : col + tok.length;
    if (type === "newline" || tok.endsWith("\n")) {
      if (flow === 0) lineStart = true;
      nodeCol = -1;
      continue;
    }
    if (type === "space" || type === "comment" || type === "byte-order-mark") continue;
    if (flow > 0) {
      if (type === "flow-map-start" || type === "flow-seq-start") {
        if (++flow + blocks.length > max) return true;
      } else if (type === "flow-map-end" || type === "flow-seq-end") flow--;
      continue;
    }
    if (type === "doc-start" || type === "doc-end") {
      blocks.length = 0;
      continue;
    }
    if (lineStart) {
      // A line's first token closes the collections indented deeper, and a sequence at its own
      // column unless it is another item of it.
      for (let top = blocks.at(-1); top; top = blocks.at(-1)) {
        if (top.col > at || (top.col === at && top.seq && type !== "seq-item-ind")) blocks.pop();
        else break;
      }
      lineStart = false;
    }
    if (type === "seq-item-ind" || type === "explicit-key-ind") {
      if (open(at, type === "seq-item-ind")) return true;
      nodeCol = -1;
    } else if (type === "map-value-ind") {
      if (open(nodeCol >= 0 ? nodeCol : at, false)) return true;
      nodeCol = -1;
    } else {
      if (nodeCol < 0) nodeCol = at;
      if (type === "flow-map-start" || type === "flow-seq-start") {
        flow = 1;
        if (blocks.length + 1 > max) return true;
      }
    }
  }
  return false;
}

/**
 * True when a parsed value nests deeper than `max`. Iterative; a container reached again at no
 * greater depth is not walked again, so values sharing subtrees (YAML aliases) cost at most `max`
 * visits per container, and a cycle counts as too deep.
 */
export function valueTooDeep(value: unknown, max = MAX_DEPTH): boolean {
  const reached = new Map<object, number>();
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, above] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    const depth = above + 1;
    if (depth > max) return true;
    if ((reached.get(v) ?? 0) >= depth) continue;
    reached.set(v, depth);
    for (const child of Object.values(v)) {
      if (child !== null && typeof child === "object") stack.push([child, depth]);
    }
  }
  return false;
}

/** Refuses (400) a request body nested too deep, before a recursive parser sees the text. */
export function checkBodyText(text: string, yaml: boolean): void {
  if (yaml ? yamlTextTooDeep(text) : jsonTextTooDeep(text)) throw tooDeep("the request body");
}

/** Refuses (400) a value nested too deep or cyclic; `what` names it in the message. */
export function checkValue(value: unknown, what: string): void {
  if (valueTooDeep(value)) throw tooDeep(what);
}
