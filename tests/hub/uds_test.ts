import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../assert.ts";
import { Bus } from "../../modules/bus.ts";
import { BusClosedError } from "../../modules/inbox.ts";
import {
  buildMessage,
  decodeMessage,
  encodeMessage,
  type Message,
  newRespByMessage,
} from "../../modules/message.ts";
import {
  defaultUdsAddress,
  MAX_UDS_REQUEST,
  parseUnixAddress,
  UdsAddressError,
  UdsServer,
} from "../../hub/uds.ts";
import { QuicServer } from "../../hub/quic.ts";
import { QuicEdgeClient } from "../../edge/quic_client.ts";
import { clientCert, startHub, until } from "./hub_fixture.ts";
import { tlsOf } from "./quic_fixture.ts";

/** What KubeEdge's csidriver writes (§6): route cloudhub/resource, content the jsonpb string. */
export function csiCreateVolume(nodeId: string, volumeId: string): Message {
  return buildMessage(
    {
      source: "cloudhub",
      group: "resource",
      operation: "createvolume",
      resource: `node/${nodeId}/default/volume/${volumeId}`,
    },
    JSON.stringify({
      name: volumeId,
      capacity_range: { required_bytes: 1073741824 },
      volume_capabilities: [{ mount: { fs_type: "ext4" }, access_mode: { mode: 1 } }],
    }),
  );
}

/** One CSI request: connect, one write, read to EOF, decode. */
export async function csiRequest(path: string, body: Uint8Array | string): Promise<Message> {
  const conn = await Deno.connect({ transport: "unix", path });
  try {
    const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
    let off = 0;
    while (off < bytes.length) off += await conn.write(bytes.subarray(off));
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    while (true) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    const all = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    return decodeMessage(all);
  } finally {
    conn.close();
  }
}

const b64 = (s: string) => btoa(s);

/** A stand-in "cloudhub" answering volume ops like an edge would, except for node "silent". */
function standInHub(bus: Bus): Promise<void> {
  bus.addModule("cloudhub");
  return (async () => {
    while (true) {
      let msg: Message;
      try {
        msg = await bus.receive("cloudhub");
      } catch (err) {
        if (err instanceof BusClosedError) return;
        throw err;
      }
      if (msg.route.resource?.startsWith("node/silent/")) continue;
      const resp = newRespByMessage(msg, b64(JSON.stringify({ volume: { volume_id: "v1" } })));
      resp.route.resource = msg.route.resource?.split("/").slice(2).join("/");
      bus.sendResp(resp);
    }
  })();
}

async function withUds(
  opts: { timeoutMs?: number; nodeOnline?: (id: string) => boolean },
  fn: (uds: UdsServer, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const bus = new Bus();
  const hub = standInHub(bus);
  const uds = new UdsServer({ address: `unix://${dir}/kubeedge.sock`, bus, ...opts });
  try {
    await uds.start();
    await fn(uds, dir);
  } finally {
    await uds.stop();
    bus.close();
    await hub;
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("UDS: a CreateVolume round trip, socket mode 0600, removed on stop", async () => {
  let path = "";
  await withUds({}, async (uds) => {
    path = uds.path;
    assertEquals((await Deno.stat(uds.path)).mode! & 0o777, 0o600);
    const req = csiCreateVolume("edge-1", "pvc-1");
    const reply = await csiRequest(uds.path, encodeMessage(req));
    assertEquals(reply.header.parentId, req.header.id);
    assertEquals(reply.route.operation, "response");
    assertEquals(JSON.parse(atob(reply.content as string)), { volume: { volume_id: "v1" } });
  });
  await assertRejects(() => Deno.stat(path), Deno.errors.NotFound);
});

Deno.test("UDS: bad requests get an error reply and do not disturb others", async () => {
  await withUds({ timeoutMs: 300 }, async (uds) => {
    const big = await csiRequest(uds.path, "x".repeat(MAX_UDS_REQUEST + 100));
    assertEquals(big.route, { source: "cloudhub", operation: "error" });
    assertStringIncludes(String(big.content), "larger than 10480 bytes");

    const notJson = await csiRequest(uds.path, "hello");
    assertEquals(notJson.route.operation, "error");
    assertStringIncludes(String(notJson.content), "not JSON");

    const noNode = buildMessage({
      source: "cloudhub",
      group: "resource",
      operation: "createvolume",
      resource: "default/volume/x",
    }, "{}");
    const r = await csiRequest(uds.path, encodeMessage(noNode));
    assertStringIncludes(String(r.content), "names no node");
    assertEquals(r.header.parentId, noNode.header.id);

    // Timeout path: the hub never answers for this node.
    const silent = csiCreateVolume("silent", "pvc-2");
    const timedOut = await csiRequest(uds.path, encodeMessage(silent));
    assertEquals(timedOut.route, {
      source: "cloudhub",
      group: "resource",
      operation: "error",
      resource: "node/silent/default/volume/pvc-2",
    });
    assertEquals(timedOut.header.parentId, silent.header.id);
    assertStringIncludes(String(timedOut.content), "no reply");

    // A request over the limit by exactly one byte still fails; at the limit it is read whole.
    const ok = csiCreateVolume("edge-1", "pvc-3");
    const padded = encodeMessage(ok);
    const atLimit = padded + " ".repeat(MAX_UDS_REQUEST - new TextEncoder().encode(padded).length);
    const good = await csiRequest(uds.path, atLimit);
    assertEquals(good.route.operation, "response");
    assertEquals(uds.stats.errors, 4);
  });
});

Deno.test("UDS: an offline node is refused at once", async () => {
  await withUds({ nodeOnline: (id) => id === "edge-1" }, async (uds) => {
    const reply = await csiRequest(uds.path, encodeMessage(csiCreateVolume("edge-off", "pvc")));
    assertEquals(reply.route.operation, "error");
    assertEquals(reply.route.source, "cloudhub");
    assertEquals(reply.route.group, "resource");
    assertEquals(reply.content, "node edge-off is not connected");
    const ok = await csiRequest(uds.path, encodeMessage(csiCreateVolume("edge-1", "pvc")));
    assertEquals(ok.route.operation, "response");
  });
});

Deno.test("UDS: a stale socket is replaced; other files are not deleted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/kubeedge.sock`;
    // A process that bound the socket and died without unlinking it (Deno's own close unlinks).
    const bind = `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(path)})`;
    const out = await new Deno.Command("python3", { args: ["-c", bind] }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    assert((await Deno.lstat(path)).isSocket);
    const bus = new Bus();
    const hub = standInHub(bus);
    const uds = new UdsServer({ address: `unix://${path}`, bus });
    await uds.start();
    const reply = await csiRequest(path, encodeMessage(csiCreateVolume("n", "v")));
    assertEquals(reply.route.operation, "response");
    await uds.stop();
    bus.close();
    await hub;

    await Deno.writeTextFile(path, "important");
    const other = new UdsServer({ address: `unix://${path}`, bus: new Bus() });
    await assertRejects(() => other.start(), UdsAddressError, "not a socket");
    assertEquals(await Deno.readTextFile(path), "important");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("UDS: address must start with unix://; defaults", () => {
  assertThrows(
    () => parseUnixAddress("/var/lib/kubeedge/kubeedge.sock"),
    UdsAddressError,
    "unix://",
  );
  assertThrows(() => new UdsServer({ address: "tcp://x", bus: new Bus() }), UdsAddressError);
  assertEquals(
    parseUnixAddress("unix:///var/lib/kubeedge/kubeedge.sock"),
    "/var/lib/kubeedge/kubeedge.sock",
  );
  assertEquals(defaultUdsAddress(), "unix:///var/lib/kubeedge/kubeedge.sock");
  assertEquals(defaultUdsAddress("/tmp/ec/"), "unix:///tmp/ec/kubeedge.sock");
});

Deno.test("UDS through CloudHub: CreateVolume answered by an edge over WebSocket and over QUIC", async () => {
  const t = await startHub();
  const dir = await Deno.makeTempDir();
  const quic = new QuicServer({
    hostname: "127.0.0.1",
    port: 0,
    tls: tlsOf(t.pki.ca, t.pki.server),
    acceptor: t.hub.acceptor,
  });
  const uds = new UdsServer({
    address: `unix://${dir}/kubeedge.sock`,
    bus: t.bus,
    timeoutMs: 500,
    nodeOnline: (id) => t.hub.sessions.get(id) !== undefined,
  });
  const csiReply = btoa(
    JSON.stringify({ volume: { capacity_bytes: 1073741824, volume_id: "pvc-1" } }),
  );
  let q: QuicEdgeClient | undefined;
  try {
    await quic.start();
    await uds.start();
    // Like edgecore's csidriver handler: answer with NewRespByMessage, content the CSI JSON bytes
    // (Go []byte, so base64 on the WebSocket wire).
    const ws = await t.connect("w1");
    ws.onMessage((m) => {
      if (m.route.operation === "createvolume") void ws.send(newRespByMessage(m, csiReply));
    });
    const req = csiCreateVolume("w1", "pvc-1");
    const reply = await csiRequest(uds.path, encodeMessage(req));
    assertEquals(reply.route.operation, "response");
    assertEquals(reply.header.parentId, req.header.id);
    assertEquals(reply.content, csiReply);
    const seen = ws.received.find((m) => m.route.operation === "createvolume")!;
    assertEquals(seen.route.resource, "default/volume/pvc-1");
    assertEquals(JSON.parse(seen.content as string).name, "pvc-1");

    const certs = await clientCert(t.pki.ca, "q1");
    q = await QuicEdgeClient.connect({
      hostname: "127.0.0.1",
      port: quic.addr.port,
      nodeId: "q1",
      credentials: { caPem: t.pki.ca.certPem, ...certs },
      heartbeat: 0,
    });
    await until(() => t.hub.sessions.get("q1"));
    const qreq = csiCreateVolume("q1", "pvc-9");
    const pending = csiRequest(uds.path, encodeMessage(qreq));
    const vol = await q.waitFor((m) => m.route.operation === "createvolume");
    await q.send(newRespByMessage(vol, csiReply));
    const qreply = await pending;
    assertEquals(qreply.header.parentId, qreq.header.id);
    assertEquals(qreply.content, csiReply);

    // Offline node: a clear error at once.
    const off = await csiRequest(uds.path, encodeMessage(csiCreateVolume("gone", "pvc-2")));
    assertEquals(off.route.operation, "error");
    assertEquals(off.content, "node gone is not connected");

    // Online node that never answers: the timeout error.
    const mute = await t.connect("m1");
    const timedOut = await csiRequest(uds.path, encodeMessage(csiCreateVolume("m1", "pvc-3")));
    assertEquals(timedOut.route.operation, "error");
    assertStringIncludes(String(timedOut.content), "no reply");
    await mute.close();
  } finally {
    await q?.close();
    await uds.stop();
    await quic.stop();
    await t.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("UDS through CloudHub: the dispatcher refuses a request for an offline node at once", async () => {
  const t = await startHub();
  const dir = await Deno.makeTempDir();
  // No nodeOnline shortcut and a timeout far beyond the test: only the dispatcher can answer.
  const uds = new UdsServer({
    address: `unix://${dir}/kubeedge.sock`,
    bus: t.bus,
    timeoutMs: 600_000,
  });
  try {
    await uds.start();
    const req = csiCreateVolume("gone", "pvc-7");
    const reply = await csiRequest(uds.path, encodeMessage(req));
    assertEquals(reply.route.operation, "error");
    assertEquals(reply.route.source, "cloudhub");
    assertEquals(reply.header.parentId, req.header.id);
    assertStringIncludes(String(reply.content), "node gone is not connected");
    // Nothing was queued for the node: a later connection does not get the stale createvolume.
    const late = await t.connect("gone");
    await late.sendKeepalive();
    await until(() => t.hub.sessions.get("gone"));
    assertEquals(late.received.filter((m) => m.route.operation === "createvolume").length, 0);
  } finally {
    await uds.stop();
    await t.close();
    await Deno.remove(dir, { recursive: true });
  }
});
