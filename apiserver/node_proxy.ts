/**
 * How the embedded API reaches a node's kubelet server for the subresources kube-apiserver proxies
 * to the kubelet: `pods/log`, `pods/exec`, `pods/attach`, `pods/portforward` and `nodes/proxy`.
 * With KubeEdge the kubelet is behind the node's CloudStream tunnel, so the hub implements this
 * (wired in by the composition root); without it these subresources answer 503.
 *
 * The kubelet paths and query parameters are the ones kube-apiserver builds (its
 * `LogLocation`, `ExecLocation`, `AttachLocation`, `PortForwardLocation`): docs/cloudstream.md.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";

/** What a proxied stream is, as the tunnel names it. */
export type KubeletStreamKind = "logs" | "metrics" | "exec" | "attach" | "portforward";

/** The hub side of node streams. */
export interface NodeProxy {
  /** True when `node` has a live stream tunnel. */
  connected(node: string): boolean;
  /**
   * A GET to the node's kubelet server (`/containerLogs/...`, `/stats/summary`, `/metrics/...`):
   * the response body as it streams. Throws when the node has no tunnel.
   */
  get(
    node: string,
    kind: "logs" | "metrics",
    kubeletPath: string,
    headers: Headers,
    signal: AbortSignal,
  ): ReadableStream<Uint8Array>;
  /**
   * Takes over an upgrade request (SPDY or WebSocket from kubectl) for `kubeletPath` on the node:
   * answers it and relays until either side ends.
   */
  upgrade(
    node: string,
    kind: "exec" | "attach" | "portforward",
    kubeletPath: string,
    req: IncomingMessage,
    socket: Duplex,
    head: Uint8Array,
  ): void;
}

/** `pods/log` options that kube-apiserver passes on to the kubelet (PodLogOptions). */
const LOG_PARAMS = [
  "follow",
  "previous",
  "sinceSeconds",
  "sinceTime",
  "timestamps",
  "tailLines",
  "limitBytes",
];

/** The kubelet path of a container's log with the caller's options. */
export function kubeletLogPath(
  ns: string,
  pod: string,
  container: string,
  q: URLSearchParams,
): string {
  const out = new URLSearchParams();
  for (const k of LOG_PARAMS) {
    const v = q.get(k);
    if (v !== null && v !== "" && v !== "false") out.set(k, v);
  }
  out.sort(); // Go's url.Values.Encode orders keys
  const query = out.toString();
  return `/containerLogs/${enc(ns)}/${enc(pod)}/${enc(container)}${query ? `?${query}` : ""}`;
}

/** kube-apiserver's `streamParams`: `stdin=true` → `input=1`, and so on. */
function streamParams(q: URLSearchParams, withCommand: boolean): string {
  const out = new URLSearchParams();
  const on = (k: string) => ["true", "1", "True"].includes(q.get(k) ?? "");
  if (on("stdin")) out.append("input", "1");
  if (on("stdout")) out.append("output", "1");
  if (on("stderr")) out.append("error", "1");
  if (on("tty")) out.append("tty", "1");
  if (withCommand) { for (const c of q.getAll("command")) out.append("command", c); }
  out.sort(); // Go's url.Values.Encode orders keys (values of one key keep their order)
  const s = out.toString();
  return s ? `?${s}` : "";
}

/** The kubelet path of an exec or attach. */
export function kubeletStreamPath(
  kind: "exec" | "attach",
  ns: string,
  pod: string,
  container: string,
  q: URLSearchParams,
): string {
  return `/${kind}/${enc(ns)}/${enc(pod)}/${enc(container)}${streamParams(q, kind === "exec")}`;
}

/** The kubelet path of a port-forward (`ports` query values pass as `port`). */
export function kubeletPortForwardPath(ns: string, pod: string, q: URLSearchParams): string {
  const out = new URLSearchParams();
  for (const p of q.getAll("ports")) out.append("port", p);
  out.sort();
  const s = out.toString();
  return `/portForward/${enc(ns)}/${enc(pod)}${s ? `?${s}` : ""}`;
}

function enc(s: string): string {
  return encodeURIComponent(s);
}
