/**
 * The kubelet's streaming endpoints on one upgraded connection (kubelet `server.go` paths):
 * `/exec/<ns>/<pod>[/<uid>]/<container>?command=...&input=1&output=1&error=1&tty=1`,
 * `/attach/...` and `/portForward/<ns>/<pod>[/<uid>]`. It negotiates the protocol from
 * `X-Stream-Protocol-Version` as httpstream's Handshake does (403 when none is shared), answers
 * `101 Switching Protocols` with `Upgrade: SPDY/3.1`, and serves the streams from a
 * {@link ContainerRuntime}. A request that is not a SPDY upgrade gets 400, an unknown path 404.
 */
import { SpdyConnection, type SpdyStream } from "../spdy/connection.ts";
import { headBytes, writeTextResponse } from "./http_head.ts";
import {
  exitStatus,
  failureStatus,
  PORTFORWARD_PROTOCOL,
  REMOTECOMMAND_PROTOCOLS,
  resizeEvents,
  StreamHeader,
  type StreamOptions,
  streamOptions,
  StreamType,
} from "./remotecommand.ts";
import type { ByteDuplex, ContainerRuntime, StreamIO, UpgradeRequest } from "./types.ts";

/** How long the client has to open the streams it announced (kubelet: 30 s). */
export const STREAM_CREATION_TIMEOUT_MS = 30_000;

const enc = new TextEncoder();

/** The protocols a client offers (`X-Stream-Protocol-Version`, repeated or comma-joined). */
export function offeredProtocols(h: Headers): string[] {
  return (h.get("x-stream-protocol-version") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

/** httpstream's Handshake: the first client protocol the server supports. */
export function negotiate(offered: string[], supported: string[]): string | undefined {
  return offered.find((p) => supported.includes(p));
}

interface Target {
  kind: "exec" | "attach" | "portforward";
  namespace: string;
  pod: string;
  uid?: string;
  container: string;
}

function parseTarget(path: string): Target | undefined {
  const seg = path.split("/").filter(Boolean).map(decodeURIComponent);
  const kind = seg[0] === "portForward" ? "portforward" : seg[0];
  if (kind === "portforward" && (seg.length === 3 || seg.length === 4)) {
    return { kind, namespace: seg[1], pod: seg[2], uid: seg[3], container: "" };
  }
  if ((kind === "exec" || kind === "attach") && (seg.length === 4 || seg.length === 5)) {
    const [namespace, pod] = [seg[1], seg[2]];
    return seg.length === 5
      ? { kind, namespace, pod, uid: seg[3], container: seg[4] }
      : { kind, namespace, pod, container: seg[3] };
  }
  return undefined;
}

/** Serves one upgrade request on `conn` (the bytes after the request head). */
export async function serveKubeletUpgrade(
  req: UpgradeRequest,
  conn: ByteDuplex,
  runtime: ContainerRuntime,
): Promise<void> {
  const url = new URL(req.url, "http://127.0.0.1:10350");
  const target = parseTarget(url.pathname);
  if (!target) {
    await conn.readable.cancel().catch(() => {});
    return writeTextResponse(conn.writable, 404, "Not Found", "404 page not found\n");
  }
  const upgrade = (req.headers.get("upgrade") ?? "").toLowerCase();
  const connection = (req.headers.get("connection") ?? "").toLowerCase();
  if (!upgrade.includes("spdy/3.1") || !connection.includes("upgrade")) {
    await conn.readable.cancel().catch(() => {});
    return writeTextResponse(
      conn.writable,
      400,
      "Bad Request",
      "unable to upgrade: missing upgrade headers in request\n",
    );
  }
  const supported = target.kind === "portforward"
    ? [PORTFORWARD_PROTOCOL]
    : REMOTECOMMAND_PROTOCOLS;
  const offered = offeredProtocols(req.headers);
  if (offered.length === 0) {
    await conn.readable.cancel().catch(() => {});
    return writeTextResponse(
      conn.writable,
      400,
      "Bad Request",
      "unable to upgrade: X-Stream-Protocol-Version is required\n",
    );
  }
  const protocol = negotiate(offered, supported);
  if (protocol === undefined) {
    await conn.readable.cancel().catch(() => {});
    return writeTextResponse(
      conn.writable,
      403,
      "Forbidden",
      `unable to upgrade: unable to negotiate protocol: client supports [${
        offered.join(" ")
      }], server accepts [${supported.join(" ")}]\n`,
    );
  }
  const head = headBytes("HTTP/1.1 101 Switching Protocols", [
    ["Connection", "Upgrade"],
    ["Upgrade", "SPDY/3.1"],
    ["X-Stream-Protocol-Version", protocol],
  ]);
  // The head goes first: write it before the SPDY connection takes the writable.
  const w = conn.writable.getWriter();
  await w.write(head);
  w.releaseLock();
  if (target.kind === "portforward") return servePortForward(conn, target, runtime);
  return serveRemoteCommand(conn, target, protocol, streamOptions(url.searchParams), url, runtime);
}

/** Waits for the streams a remotecommand client announced, replying to each. */
function collectStreams(
  wanted: Set<string>,
  onStream: (accept: (s: SpdyStream) => void) => void,
): Promise<Map<string, SpdyStream>> {
  return new Promise((resolve, reject) => {
    const got = new Map<string, SpdyStream>();
    const timer = setTimeout(
      () => reject(new Error("timed out waiting for client to create streams")),
      STREAM_CREATION_TIMEOUT_MS,
    );
    onStream((s) => {
      const type = s.header(StreamHeader.Type) ?? "";
      if (!wanted.has(type) || got.has(type)) return s.reset();
      void s.reply();
      got.set(type, s);
      if (got.size === wanted.size) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

function writerOf(s: SpdyStream | undefined): WritableStream<Uint8Array> | undefined {
  if (!s) return undefined;
  return new WritableStream({ write: (c) => s.write(c), close: () => s.close() });
}

async function serveRemoteCommand(
  conn: ByteDuplex,
  t: Target,
  protocol: string,
  o: StreamOptions,
  url: URL,
  runtime: ContainerRuntime,
): Promise<void> {
  const wanted = new Set([StreamType.Error]);
  if (o.stdin) wanted.add(StreamType.Stdin);
  if (o.stdout) wanted.add(StreamType.Stdout);
  if (o.stderr) wanted.add(StreamType.Stderr);
  const v3plus = protocol !== "" && protocol !== "channel.k8s.io" &&
    protocol !== "v2.channel.k8s.io";
  if (o.tty && v3plus) wanted.add(StreamType.Resize);
  let accept: ((s: SpdyStream) => void) | undefined;
  const early: SpdyStream[] = [];
  const spdy = new SpdyConnection(conn, {
    role: "server",
    onStream: (s) => accept ? accept(s) : early.push(s),
  });
  let streams: Map<string, SpdyStream>;
  try {
    streams = await collectStreams(wanted, (fn) => {
      accept = fn;
      for (const s of early.splice(0)) fn(s);
    });
  } catch {
    await spdy.close();
    return;
  }
  const errorStream = streams.get(StreamType.Error)!;
  const resize = streams.get(StreamType.Resize);
  const io: StreamIO = {
    stdin: streams.get(StreamType.Stdin)?.readable,
    stdout: writerOf(streams.get(StreamType.Stdout)),
    stderr: writerOf(streams.get(StreamType.Stderr)),
    tty: o.tty,
    resize: resize ? resizeEvents(resize.readable) : (async function* () {})(),
  };
  const command = url.searchParams.getAll("command");
  let status: Record<string, unknown> | undefined;
  try {
    const code = t.kind === "exec"
      ? await runtime.exec({ ...t, command }, io)
      : await runtime.attach(t, io);
    status = exitStatus(code, command);
  } catch (e) {
    status = failureStatus((e as Error).message);
  }
  for (const s of ["stdout", "stderr"]) await streams.get(s)?.close();
  const v4plus = protocol === "v4.channel.k8s.io" || protocol === "v5.channel.k8s.io";
  if (v4plus) await errorStream.write(enc.encode(JSON.stringify(status)));
  else if (status.status !== "Success") await errorStream.write(enc.encode(String(status.message)));
  await errorStream.close();
  await spdy.close();
}

async function servePortForward(
  conn: ByteDuplex,
  t: Target,
  runtime: ContainerRuntime,
): Promise<void> {
  const pairs = new Map<string, { error?: SpdyStream; data?: SpdyStream }>();
  const forwards: Promise<void>[] = [];
  const spdy = new SpdyConnection(conn, {
    role: "server",
    onStream: (s) => {
      const type = s.header(StreamHeader.Type);
      const id = s.header(StreamHeader.RequestId) ?? "";
      const port = Number(s.header(StreamHeader.Port));
      if ((type !== StreamType.Error && type !== StreamType.Data) || !Number.isInteger(port)) {
        return s.reset();
      }
      void s.reply();
      const pair = pairs.get(id) ?? {};
      pairs.set(id, pair);
      if (type === StreamType.Error) pair.error = s;
      else pair.data = s;
      if (pair.error && pair.data) {
        pairs.delete(id);
        forwards.push(forward(pair.error, pair.data, port, t, runtime));
      }
    },
  });
  await spdy.done;
  await Promise.allSettled(forwards);
}

async function forward(
  error: SpdyStream,
  data: SpdyStream,
  port: number,
  t: Target,
  runtime: ContainerRuntime,
): Promise<void> {
  try {
    await runtime.portForward({ namespace: t.namespace, pod: t.pod, uid: t.uid, port }, {
      readable: data.readable,
      writable: new WritableStream({ write: (c) => data.write(c), close: () => data.close() }),
    });
  } catch (e) {
    const msg = `error forwarding port ${port} to pod ${t.pod}, uid ${t.uid ?? ""}: ${
      (e as Error).message
    }`;
    await error.write(enc.encode(msg)).catch(() => {});
  }
  await data.close();
  await error.close();
}
