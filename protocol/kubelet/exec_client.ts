/**
 * The API side of a remotecommand session over SPDY (what kube-apiserver's stream translator and
 * client-go do towards the kubelet): read the kubelet's answer to the upgrade request, then open
 * the error, stdin, stdout, stderr and resize streams the options call for, in client-go's order,
 * each answered by the kubelet before the next.
 */
import { SpdyConnection, type SpdyStream } from "../spdy/mod.ts";
import { afterHead, readHead, statusOf } from "./http_head.ts";
import {
  PORTFORWARD_PROTOCOL,
  REMOTECOMMAND_PROTOCOLS,
  StreamHeader,
  type StreamOptions,
  StreamType,
} from "./remotecommand.ts";
import type { ByteDuplex } from "./types.ts";

/** The upgrade request headers for a remotecommand (exec, attach) or port-forward session. */
export function spdyUpgradeHeaders(kind: "remotecommand" | "portforward"): [string, string][] {
  const protocols = kind === "portforward"
    ? [PORTFORWARD_PROTOCOL]
    : REMOTECOMMAND_PROTOCOLS.slice(0, 2); // v5 and v4, as kube-apiserver's translator asks
  return [
    ["Connection", "Upgrade"],
    ["Upgrade", "SPDY/3.1"],
    ...protocols.map((p) => ["X-Stream-Protocol-Version", p] as [string, string]),
  ];
}

/** The kubelet refused the upgrade: its status and body. */
export interface UpgradeRefused {
  refused: true;
  status: number;
  body: string;
}

/** An upgraded SPDY connection. */
export interface UpgradedSpdy {
  refused: false;
  protocol: string;
  conn: SpdyConnection;
}

/** Reads the kubelet's answer on `pipe` (after the request went out) and starts SPDY. */
export async function upgradeSpdy(pipe: ByteDuplex): Promise<UpgradedSpdy | UpgradeRefused> {
  const head = await readHead(pipe.readable);
  const status = statusOf(head.start);
  if (status !== 101) {
    let body = new TextDecoder().decode(head.rest);
    try {
      for (;;) {
        const { done, value } = await head.reader.read();
        if (done || body.length > 4096) break;
        body += new TextDecoder().decode(value);
      }
    } catch { /* ended */ }
    await head.reader.cancel().catch(() => {});
    await pipe.writable.close().catch(() => {});
    return { refused: true, status, body: body.trim() || head.start };
  }
  const conn = new SpdyConnection(afterHead(head, pipe.writable), { role: "client" });
  return {
    refused: false,
    protocol: head.headers.get("x-stream-protocol-version") ?? "",
    conn,
  };
}

/** The streams of a remotecommand session. */
export interface RemoteCommandStreams {
  error: SpdyStream;
  stdin?: SpdyStream;
  stdout?: SpdyStream;
  stderr?: SpdyStream;
  resize?: SpdyStream;
}

/** Opens the session's streams (client-go's order: error, stdin, stdout, stderr, resize). */
export async function openRemoteCommandStreams(
  conn: SpdyConnection,
  o: StreamOptions,
): Promise<RemoteCommandStreams> {
  const open = (type: string) => conn.open(new Map([[StreamHeader.Type, [type]]]));
  const error = await open(StreamType.Error);
  const stdin = o.stdin ? await open(StreamType.Stdin) : undefined;
  const stdout = o.stdout ? await open(StreamType.Stdout) : undefined;
  const stderr = o.stderr ? await open(StreamType.Stderr) : undefined;
  const resize = o.tty ? await open(StreamType.Resize) : undefined;
  return { error, stdin, stdout, stderr, resize };
}
