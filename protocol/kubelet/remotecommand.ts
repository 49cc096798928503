/**
 * The remotecommand protocol's shared facts (Kubernetes `apimachinery/pkg/util/remotecommand`):
 * protocol names, stream types, the error-stream Status of v4+, and resize messages.
 */
import type { TerminalSize } from "./types.ts";

/** remotecommand versions, newest first (what the kubelet negotiates). */
export const REMOTECOMMAND_PROTOCOLS = [
  "v5.channel.k8s.io",
  "v4.channel.k8s.io",
  "v3.channel.k8s.io",
  "v2.channel.k8s.io",
  "channel.k8s.io",
];

/** The port-forward protocol over SPDY. */
export const PORTFORWARD_PROTOCOL = "portforward.k8s.io";
/** kubectl's port-forward over WebSocket (SPDY frames tunnelled in binary messages). */
export const PORTFORWARD_WEBSOCKET_PROTOCOL = "SPDY/3.1+portforward.k8s.io";

/** SPDY stream header names and types. */
export const StreamHeader = { Type: "streamtype", Port: "port", RequestId: "requestid" };
export const StreamType = {
  Error: "error",
  Stdin: "stdin",
  Stdout: "stdout",
  Stderr: "stderr",
  Resize: "resize",
  Data: "data",
};

/** WebSocket channel numbers of `v4/v5.channel.k8s.io`, and v5's close signal. */
export const WsChannel = { Stdin: 0, Stdout: 1, Stderr: 2, Error: 3, Resize: 4, Close: 255 };

/** Which streams an exec or attach asked for (kubelet query: input, output, error, tty). */
export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** Reads the kubelet query's stream flags (`1` or `true`). */
export function streamOptions(q: URLSearchParams): StreamOptions {
  const on = (k: string) => ["1", "true", "True"].includes(q.get(k) ?? "");
  const tty = on("tty");
  // kubelet: with a tty, stderr is merged into stdout.
  return { stdin: on("input"), stdout: on("output"), stderr: on("error") && !tty, tty };
}

/** The error stream's Status after a command (v4+). */
export function exitStatus(exitCode: number, command: string[]): Record<string, unknown> {
  if (exitCode === 0) return { metadata: {}, status: "Success" };
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: error executing command [${
      command.join(" ")
    }], exit code ${exitCode}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
  };
}

/** The error stream's Status when the command could not run (v4+). */
export function failureStatus(message: string): Record<string, unknown> {
  return { metadata: {}, status: "Failure", message, reason: "InternalError", code: 500 };
}

/** Parses resize messages (JSON objects, one after another) from a byte stream. */
export async function* resizeEvents(
  readable: ReadableStream<Uint8Array>,
): AsyncGenerator<TerminalSize> {
  const dec = new TextDecoder();
  let buf = "";
  try {
    for await (const chunk of readable) {
      buf += dec.decode(chunk, { stream: true });
      for (;;) {
        const end = objectEnd(buf);
        if (end < 0) break;
        const text = buf.slice(0, end + 1).trim();
        buf = buf.slice(end + 1);
        try {
          const o = JSON.parse(text) as { Width?: number; Height?: number };
          yield { width: Number(o.Width ?? 0), height: Number(o.Height ?? 0) };
        } catch { /* kubelet skips what it cannot decode */ }
      }
    }
  } catch { /* the stream was reset */ }
}

/** Index of the `}` closing the first JSON object in `s`, or -1. */
function objectEnd(s: string): number {
  let depth = 0, inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i;
  }
  return -1;
}
