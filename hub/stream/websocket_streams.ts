/**
 * kubectl's WebSocket streams (kubectl ≥ 1.30 tries them first), translated towards the
 * kubelet's SPDY as kube-apiserver does: `v5.channel.k8s.io` exec and attach (each message's
 * first byte is the channel: 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize; 255 closes one) map
 * onto remotecommand streams; `SPDY/3.1+portforward.k8s.io` port-forward carries kubectl's own
 * SPDY frames in binary messages, so after the upgrade to the kubelet the bytes are relayed as
 * they are. A WebSocket request offering neither protocol gets 400, and kubectl falls back to
 * SPDY, which is relayed byte for byte (kubelet_proxy.ts).
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { createLogger } from "../../lib/mod.ts";
import {
  openRemoteCommandStreams,
  PORTFORWARD_WEBSOCKET_PROTOCOL,
  readHead,
  spdyUpgradeHeaders,
  statusOf,
  streamOptions,
  upgradeSpdy,
  WsChannel,
} from "../../protocol/kubelet/mod.ts";
import { wsFrameBytes } from "../../protocol/mod.ts";
import type { TunnelSession } from "./session.ts";

const log = createLogger("cloudstream");

/** The exec/attach protocol kubectl must offer (kube-apiserver translates v5 only). */
export const EXEC_WEBSOCKET_PROTOCOL = "v5.channel.k8s.io";

function refuse(socket: Duplex, why: string): void {
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${new TextEncoder().encode(why).length}\r\n\r\n${why}`,
  );
}

function send(ws: WebSocket, data: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState !== ws.OPEN) return resolve();
    ws.send(data, { binary: true }, () => resolve());
  });
}

function framed(channel: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + 1);
  out[0] = channel;
  out.set(data, 1);
  return out;
}

/** Takes a WebSocket upgrade for exec, attach or port-forward on `session`'s node. */
export function webSocketUpgrade(
  session: TunnelSession,
  kind: "exec" | "attach" | "portforward",
  kubeletPath: string,
  req: IncomingMessage,
  socket: Duplex,
  head: Uint8Array,
): void {
  const offered = String(req.headers["sec-websocket-protocol"] ?? "").split(",").map((s) =>
    s.trim()
  );
  const want = kind === "portforward" ? PORTFORWARD_WEBSOCKET_PROTOCOL : EXEC_WEBSOCKET_PROTOCOL;
  if (!offered.includes(want)) {
    return refuse(socket, `unable to upgrade: the WebSocket protocol ${want} is required\n`);
  }
  const server = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: () => want,
  });
  server.handleUpgrade(req, socket, Buffer.from(head), (ws) => {
    server.close();
    session.metrics.webSocketStreams.inc({ kind });
    ws.on("error", () => {});
    const task = kind === "portforward"
      ? tunnelPortForward(ws, session, kubeletPath)
      : translateExec(ws, session, kind, kubeletPath);
    task.catch((e) => {
      log.warn("stream translation failed", { node: session.node, error: (e as Error).message });
      ws.close(1011, "stream failed");
    });
  });
}

async function translateExec(
  ws: WebSocket,
  session: TunnelSession,
  kind: "exec" | "attach",
  kubeletPath: string,
): Promise<void> {
  // Messages may come before the kubelet answered: hold them.
  const early: Uint8Array[] = [];
  let onMessage = (m: Uint8Array) => void early.push(m);
  ws.on("message", (d: RawData) => onMessage(wsFrameBytes(d)));
  const closed = new Promise<void>((r) => ws.once("close", () => r()));
  const o = streamOptions(new URL(kubeletPath, "http://kubelet").searchParams);
  const pipe = session.open(kind, kubeletPath, spdyUpgradeHeaders("remotecommand"), "POST");
  closed.then(() => pipe.close());
  const up = await upgradeSpdy(pipe);
  if (up.refused) {
    const status = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: `the kubelet of node ${session.node} refused the stream: ${up.status} ${up.body}`,
      reason: "InternalError",
      code: 500,
    };
    await send(ws, framed(WsChannel.Error, new TextEncoder().encode(JSON.stringify(status))));
    ws.close(1000);
    return;
  }
  const streams = await openRemoteCommandStreams(up.conn, o);
  onMessage = (m) => {
    if (m.length === 0) return;
    const body = m.subarray(1);
    switch (m[0]) {
      case WsChannel.Stdin:
        void streams.stdin?.write(body).catch(() => {});
        break;
      case WsChannel.Resize:
        void streams.resize?.write(body).catch(() => {});
        break;
      case WsChannel.Close:
        if (body[0] === WsChannel.Stdin) void streams.stdin?.close();
        break;
    }
  };
  for (const m of early.splice(0)) onMessage(m);
  const pump = async (from: ReadableStream<Uint8Array> | undefined, channel: number) => {
    if (!from) return;
    try {
      for await (const c of from) await send(ws, framed(channel, c));
    } catch { /* reset */ }
  };
  await Promise.all([
    pump(streams.stdout?.readable, WsChannel.Stdout),
    pump(streams.stderr?.readable, WsChannel.Stderr),
  ]);
  const status: Uint8Array[] = [];
  try {
    for await (const c of streams.error.readable) status.push(c);
  } catch { /* reset */ }
  const all = new Uint8Array(status.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of status) {
    all.set(c, at);
    at += c.length;
  }
  if (all.length) await send(ws, framed(WsChannel.Error, all));
  ws.close(1000);
  await up.conn.close();
  pipe.close();
}

async function tunnelPortForward(
  ws: WebSocket,
  session: TunnelSession,
  kubeletPath: string,
): Promise<void> {
  const early: Uint8Array[] = [];
  let onMessage = (m: Uint8Array) => void early.push(m);
  ws.on("message", (d: RawData) => onMessage(wsFrameBytes(d)));
  const pipe = session.open("portforward", kubeletPath, spdyUpgradeHeaders("portforward"), "POST");
  ws.once("close", () => pipe.close());
  const head = await readHead(pipe.readable);
  if (statusOf(head.start) !== 101) {
    ws.close(1011, `kubelet refused port-forward: ${head.start}`.slice(0, 120));
    pipe.close();
    return;
  }
  onMessage = (m) => void pipe.write(m).catch(() => ws.close(1011));
  for (const m of early.splice(0)) onMessage(m);
  if (head.rest.length) await send(ws, head.rest);
  try {
    for (;;) {
      const { done, value } = await head.reader.read();
      if (done) break;
      await send(ws, value);
    }
  } catch { /* ended */ }
  ws.close(1000);
  pipe.close();
}
