/**
 * `npm:@kubernetes/client-node`, loaded when first needed instead of with the module graph. It is
 * the largest package edgecloud uses (some 800 files; ~160 ms of CPU to load, a third of a warm
 * `edgecloud serve` start), and the embedded API's hub needs none of it to serve: its calls are
 * raw JSON in process. Code that works with a real cluster's kubeconfig (exec or token-file users,
 * the typed APIs) awaits {@link loadClientNode} first, or uses {@link clientNode}, which loads it
 * synchronously when nothing has yet (tests and tools).
 */
import { createRequire } from "node:module";
import type * as ClientNode from "@kubernetes/client-node";

/** The package's exports. */
export type ClientNodeModule = typeof ClientNode;

let loaded: ClientNodeModule | undefined;
let loading: Promise<ClientNodeModule> | undefined;

/** Loads client-node (once) and resolves with it. */
export function loadClientNode(): Promise<ClientNodeModule> {
  loading ??= import("@kubernetes/client-node").then((m) => loaded = m);
  return loading;
}

/**
 * client-node now: the module {@link loadClientNode} loaded, else loaded synchronously (the same
 * module instance an `import` gets).
 */
export function clientNode(): ClientNodeModule {
  loaded ??= createRequire(import.meta.url)("@kubernetes/client-node") as ClientNodeModule;
  return loaded;
}
