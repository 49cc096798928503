import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { buildMessage, emptyMessage, type Message } from "../../modules/message.ts";
import { QuicServer } from "../../hub/quic.ts";
import { QuicAuthHeader, signQuicAuth, StreamIo, UseType } from "../../protocol/mod.ts";
import { QuicAuthenticator } from "../../hub/quic_auth.ts";
import { encodeFrame } from "../../protocol/viaduct.ts";
import { QuicEdgeClient, QuicRefusedError } from "../../edge/quic_client.ts";
import { importEcPrivateKeyPem } from "../../pki/mod.ts";
import { type EdgePems, makeEdge, makePki, RecordingAcceptor, tlsOf } from "./quic_fixture.ts";
import { clientCert, startHub, until } from "./hub_fixture.ts";
import { Bus } from "../../modules/bus.ts";

async function withHub(
  fn: (ctx: {
    server: QuicServer;
    acceptor: RecordingAcceptor;
    pki: Awaited<ReturnType<typeof makePki>>;
    connect: (
      nodeId: string,
      creds: EdgePems,
      extra?: Record<string, string[]>,
    ) => Promise<QuicEdgeClient>;
  }) => Promise<void>,
): Promise<void> {
  const pki = await makePki();
  const acceptor = new RecordingAcceptor();
  const server = new QuicServer({ hostname: "127.0.0.1", port: 0, tls: pki.tls, acceptor });
  await server.start();
  const clients: QuicEdgeClient[] = [];
  const connect = async (
    nodeId: string,
    credentials: EdgePems,
    extra?: Record<string, string[]>,
  ) => {
    const c = await QuicEdgeClient.connect({
      hostname: "127.0.0.1",
      port: server.addr.port,
      nodeId,
      credentials,
      heartbeat: 0,
      extraHeaders: extra,
    });
    clients.push(c);
    return c;
  };
  try {
    await fn({ server, acceptor, pki, connect });
  } finally {
    for (const c of clients) await c.close();
    await server.stop();
  }
}

const pod = (name: string): Message =>
  buildMessage(
    {
      source: "edgecontroller",
      group: "resource",
      operation: "insert",
      resource: `default/pod/${name}`,
    },
    { kind: "Pod", apiVersion: "v1", metadata: { name, namespace: "default" } },
    { resourceVersion: "7" },
  );

Deno.test("QUIC: node joins, keeps alive, receives a pod and ACKs it", async () => {
  await withHub(async ({ server, acceptor, pki, connect }) => {
    const creds = await makeEdge(pki.ca, "edge-1");
    const edge = await connect("edge-1", creds);
    const conn = await acceptor.until(() => acceptor.conns[0]);
    assertEquals(conn.nodeId, "edge-1");
    assertEquals(conn.transport, "quic");
    assertEquals(conn.projectId, "e632aba927ea4ac2b575ec1603d56f10");

    await edge.sendKeepalive();
    const ka = await acceptor.until(() =>
      acceptor.messages.find((m) => m.route.operation === "keepalive")
    );
    assertEquals(ka.route, {
      source: "websocket",
      group: "resource",
      operation: "keepalive",
      resource: "node",
    });
    assertEquals(ka.content, "ping");

    const msg = pod("nginx");
    await conn.write(msg);
    const got = await edge.waitFor((m) => m.route.resource === "default/pod/nginx");
    assertEquals(got.header.id, msg.header.id);
    assertEquals((got.content as { kind: string }).kind, "Pod");
    const ack = await acceptor.until(() =>
      acceptor.messages.find((m) => m.header.parentId === msg.header.id)
    );
    assertEquals(ack.route.operation, "response");
    assertEquals(ack.content, "OK");
    assertEquals(server.stats.accepted, 1);

    // Viaduct control operations are answered by the transport and never reach the session.
    const ping = buildMessage({ operation: "ping", resource: "x" }, "");
    await edge.send(ping);
    await edge.sendKeepalive();
    await acceptor.until(() =>
      acceptor.messages.filter((m) => m.route.operation === "keepalive").length === 2
    );
    assert(
      !acceptor.messages.some((m) => m.route.operation === "ping"),
      "ping reached the session",
    );

    // close() from the hub side ends the edge's connection with the reason.
    conn.close("replaced by a newer connection");
    assertEquals(await edge.closed, "replaced by a newer connection");
    assertEquals(await conn.closed, "replaced by a newer connection");
  });
});

Deno.test("QUIC: wrong credentials are refused with a reason", async () => {
  await withHub(async ({ server, acceptor, pki, connect }) => {
    // Certificate of another node.
    const other = await makeEdge(pki.ca, "edge-2");
    let err = await assertRejects(() => connect("edge-1", other), QuicRefusedError);
    assertStringIncludes(err.message, 'CN "system:node:edge-2" is not system:node:edge-1');

    // Certificate from a different CA.
    const foreign = await makePki();
    const stranger = await makeEdge(foreign.ca, "edge-1");
    err = await assertRejects(
      () => connect("edge-1", { ...stranger, caPem: pki.ca.certPem }),
      QuicRefusedError,
    );
    assertStringIncludes(err.message, "unknown authority");

    // No ClientAuth usage.
    const serverOnly = await makeEdge(pki.ca, "edge-1", [1]);
    err = await assertRejects(() => connect("edge-1", serverOnly), QuicRefusedError);
    assertStringIncludes(err.message, "key usage");

    // A bad signature (signed for another node id, header claims edge-1).
    const creds = await makeEdge(pki.ca, "edge-1");
    const { key } = await importEcPrivateKeyPem(creds.keyPem);
    const certDer = (await import("../../pki/mod.ts")).decodePem(creds.certPem)[0].der;
    const forged = await signQuicAuth({ nodeId: "edge-9", certDer, key, serverName: "127.0.0.1" });
    err = await assertRejects(
      () =>
        connect("edge-1", creds, { [QuicAuthHeader.Signature]: forged[QuicAuthHeader.Signature] }),
      QuicRefusedError,
    );
    assertStringIncludes(err.message, "signature does not verify");

    // Bound to a server name this hub does not have.
    const elsewhere = await signQuicAuth({
      nodeId: "edge-1",
      certDer,
      key,
      serverName: "10.9.9.9",
    });
    err = await assertRejects(() => connect("edge-1", creds, elsewhere), QuicRefusedError);
    assertStringIncludes(err.message, "not a name of this hub");

    // Stale timestamp.
    const old = await signQuicAuth({
      nodeId: "edge-1",
      certDer,
      key,
      serverName: "127.0.0.1",
      now: Date.now() - 10 * 60_000,
    });
    err = await assertRejects(() => connect("edge-1", creds, old), QuicRefusedError);
    assertStringIncludes(err.message, "outside");

    // Replay of a credential that was already accepted once.
    const fresh = await signQuicAuth({ nodeId: "edge-1", certDer, key, serverName: "127.0.0.1" });
    const first = await connect("edge-1", creds, fresh);
    err = await assertRejects(() => connect("edge-1", creds, fresh), QuicRefusedError);
    assertStringIncludes(err.message, "replay");

    // Missing credential entirely.
    err = await assertRejects(
      () => connect("edge-1", creds, { [QuicAuthHeader.Cert]: [] }),
      QuicRefusedError,
    );
    assertStringIncludes(err.message, "missing credential");

    assertEquals(server.stats.refused, 8);
    assertEquals(acceptor.conns.length, 1);
    // The accepted node is unaffected by the refusals.
    await first.sendKeepalive();
    await acceptor.until(() => acceptor.messages.length === 1);
  });
});

Deno.test("QUIC: the node limit (admit) refuses with nack", async () => {
  await withHub(async ({ acceptor, pki, connect }) => {
    acceptor.refuse = { status: 503, reason: "node limit 0 reached" };
    const creds = await makeEdge(pki.ca, "edge-1");
    const err = await assertRejects(() => connect("edge-1", creds), QuicRefusedError);
    assertStringIncludes(err.message, "node limit 0 reached");
    assertEquals(acceptor.conns.length, 0);
  });
});

Deno.test("QUIC: a stream without the use type or with a bad frame closes only that stream", async () => {
  await withHub(async ({ server, acceptor, pki, connect }) => {
    const creds = await makeEdge(pki.ca, "edge-1");
    const edge = await connect("edge-1", creds);
    await acceptor.until(() => acceptor.conns[0]);

    // No use type: frames straight away.
    const raw = new StreamIo(await edge.conn.createBidirectionalStream());
    await raw.write(buildMessage({ operation: "keepalive", resource: "node" }, "ping"));
    const refusal = await raw.next();
    assertEquals(refusal?.route.operation, "error");
    assertStringIncludes(
      String(refusal?.content),
      'use type "\\u0001\\u0001\\u0001" is not supported',
    );
    assertEquals(await raw.next(), null);

    // "str" streams are not served either.
    const str = new StreamIo(await edge.conn.createBidirectionalStream());
    await str.writeRaw(new TextEncoder().encode(UseType.Stream));
    assertStringIncludes(String((await str.next())?.content), '"str" is not supported');

    // Wrong viaduct version on a msg stream.
    const bad = new StreamIo(await edge.conn.createBidirectionalStream());
    const frame = encodeFrame(buildMessage({ operation: "keepalive" }, "x"));
    frame[0] = 9;
    await bad.writeRaw(new TextEncoder().encode("msg"));
    await bad.writeRaw(frame);
    assertStringIncludes(String((await bad.next())?.content), "wrong viaduct version");

    // Length over the cap.
    const big = new StreamIo(await edge.conn.createBidirectionalStream());
    const huge = encodeFrame(buildMessage({ operation: "keepalive" }, "x")).slice(0, 10);
    new DataView(huge.buffer).setUint32(6, 0xffffffff);
    await big.writeRaw(new TextEncoder().encode("msg"));
    await big.writeRaw(huge);
    assertStringIncludes(String((await big.next())?.content), "cap");

    // Truncated protobuf: the header promises 5 bytes that are not a message.
    const cut = new StreamIo(await edge.conn.createBidirectionalStream());
    const half = encodeFrame(buildMessage({ operation: "keepalive" }, "x"));
    new DataView(half.buffer).setUint32(6, 5);
    await cut.writeRaw(new TextEncoder().encode("msg"));
    await cut.writeRaw(half.subarray(0, 15));
    assertStringIncludes(String((await cut.next())?.content), "invalid protobuf");

    assertEquals(server.stats.badStreams, 2);
    assertEquals(server.stats.badFrames, 3);
    // The connection and its message stream still work.
    await edge.sendKeepalive();
    await acceptor.until(() => acceptor.messages.some((m) => m.route.operation === "keepalive"));
    assertEquals(acceptor.messages.length, 1);
  });
});

Deno.test("QuicAuthenticator: server names come from the server certificate", async () => {
  const pki = await makePki();
  const auth = new QuicAuthenticator({
    caPem: pki.ca.certPem,
    serverCertPem: pki.serverCert.certPem,
  });
  assertEquals(auth.serverNames.sort(), ["127.0.0.1", "localhost"]);
});

Deno.test("QUIC into CloudHub: join, keepalive, pod + ACK, then reconnect over WebSocket gets what was pending", async () => {
  const bus = new Bus();
  bus.addModule("edgecontroller");
  const t = await startHub({ bus });
  const quic = new QuicServer({
    hostname: "127.0.0.1",
    port: 0,
    tls: tlsOf(t.pki.ca, t.pki.server),
    acceptor: t.hub.acceptor,
    metrics: t.hub.metrics,
  });
  await quic.start();
  const certs = await clientCert(t.pki.ca, "q1");
  const dial = (ack?: false) =>
    QuicEdgeClient.connect({
      hostname: "127.0.0.1",
      port: quic.addr.port,
      nodeId: "q1",
      credentials: { caPem: t.pki.ca.certPem, ...certs },
      heartbeat: 0,
      ack,
    });
  const kubePod = (name: string, uid: string, rv: string) =>
    buildMessage(
      {
        source: "edgecontroller",
        group: "resource",
        operation: "insert",
        resource: `node/q1/default/pod/${name}`,
      },
      {
        kind: "Pod",
        apiVersion: "v1",
        metadata: { name, namespace: "default", uid, resourceVersion: rv },
      },
      { resourceVersion: rv },
    );
  try {
    const edge = await dial();
    const connected = await bus.receive("edgecontroller");
    assertEquals(connected.route.operation, "connected");
    assertEquals(t.hub.sessions.nodeIds, ["q1"]);
    await edge.sendKeepalive();
    await until(async () =>
      await t.hub.metrics.value("edgecloud_cloudhub_messages_in_total", {
        operation: "keepalive",
      }) === 1
    );

    // Upstream goes through the same dispatcher as WebSocket (prefix node/<id>/).
    await edge.sendRoute({
      source: "edged",
      group: "meta",
      operation: "update",
      resource: "default/podstatus/p1",
    }, { a: 1 });
    assertEquals(
      (await bus.receive("edgecontroller")).route.resource,
      "node/q1/default/podstatus/p1",
    );

    // edgecore's zero-value message: dropped and counted; the stream and session stay up.
    await edge.send(emptyMessage());
    await until(async () =>
      await t.hub.metrics.value("edgecloud_cloudhub_dropped_messages_total", {
        reason: "empty_message",
      }) === 1
    );
    assertEquals(t.hub.sessions.nodeIds, ["q1"]);

    // Downstream pod on the ack path: the edge gets the trimmed resource and ACKs it.
    const p1 = kubePod("nginx", "uid-1", "10");
    await bus.send("cloudhub", p1);
    const got = await edge.waitFor((m) => m.route.resource === "default/pod/nginx");
    assertEquals(got.header.id, p1.header.id);
    await until(
      () => t.hub.pools.get("q1").ack.entry("uid-1")?.state === "delivered",
      5_000,
      "ACK",
    );
    await edge.close();
    assertEquals((await bus.receive("edgecontroller")).route.operation, "disconnected");

    // Over QUIC again without ACKing: the pod stays pending.
    const lazy = await dial(false);
    await bus.receive("edgecontroller");
    const p2 = kubePod("redis", "uid-2", "11");
    await bus.send("cloudhub", p2);
    await lazy.waitFor((m) => m.header.id === p2.header.id);
    await lazy.close();
    await bus.receive("edgecontroller");
    assert(t.hub.pools.get("q1").ack.entry("uid-2")?.state !== "delivered");

    // The node comes back over WebSocket and still gets it (same msg_id), then ACKs it.
    const ws = await t.connect("q1");
    const again = await ws.waitFor((m) => m.header.id === p2.header.id);
    assertEquals(again.route.resource, "default/pod/redis");
    await until(
      () => t.hub.pools.get("q1").ack.entry("uid-2")?.state === "delivered",
      5_000,
      "WS ACK",
    );

    // And back to QUIC while the WebSocket session is live: the newer connection replaces it.
    const back = await dial();
    const wsClose = await ws.waitClosed();
    assert(wsClose.code !== 0, "WebSocket connection was not closed");
    await until(() => t.hub.sessions.get("q1")?.conn.transport === "quic", 5_000, "QUIC session");
    await back.close();
  } finally {
    await quic.stop();
    await t.close();
    bus.close();
  }
});

Deno.test("QUIC: a first message that is not the header, or no header at all, is refused", async () => {
  const pki = await makePki();
  const acceptor = new RecordingAcceptor();
  const server = new QuicServer({
    hostname: "127.0.0.1",
    port: 0,
    tls: pki.tls,
    acceptor,
    headerTimeoutMs: 200,
  });
  await server.start();
  const dial = () =>
    Deno.connectQuic({
      hostname: "127.0.0.1",
      port: server.addr.port,
      alpnProtocols: ["kubeedge-viaduct"],
      caCerts: [pki.ca.certPem],
    });
  try {
    // A keepalive where the header message belongs.
    const c1 = await dial();
    const ctl = new StreamIo(await c1.createBidirectionalStream());
    const ka = buildMessage({ operation: "keepalive", resource: "node" }, "ping");
    await ctl.write(ka);
    const nack = await ctl.next();
    assertEquals(nack?.content, "nack");
    assertEquals(nack?.header.parentId, ka.header.id);
    const why = await ctl.next();
    assertEquals(why?.route.operation, "error");
    assertStringIncludes(String(why?.content), 'operation "header"');
    c1.close({ closeCode: 0, reason: "" });
    await c1.closed;

    // A header whose content is not a header map.
    const c2 = await dial();
    const ctl2 = new StreamIo(await c2.createBidirectionalStream());
    await ctl2.write(buildMessage({ operation: "header", resource: "header" }, "not a map"));
    assertEquals((await ctl2.next())?.content, "nack");
    assertStringIncludes(String((await ctl2.next())?.content), "not a header map");
    c2.close({ closeCode: 0, reason: "" });
    await c2.closed;

    // Connected but silent: closed by the hub after the header timeout, with the reason.
    const c3 = await dial();
    const info = await c3.closed;
    assertStringIncludes(info.reason, "no control stream within 200 ms");
    assertEquals(server.stats.refused, 3);
    assertEquals(acceptor.conns.length, 0);
  } finally {
    await server.stop();
  }
});

Deno.test("QUIC: a keepalive is handled while an earlier message's handler is still running", async () => {
  await withHub(async ({ acceptor, pki, connect }) => {
    const edge = await connect("edge-1", await makeEdge(pki.ca, "edge-1"));
    const conn = await acceptor.until(() => acceptor.conns[0]);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const seen: string[] = [];
    conn.onMessage(async (msg) => {
      seen.push(msg.route.operation ?? "");
      if (msg.route.operation === "update") await released;
    });
    await edge.send(buildMessage({ operation: "update", resource: "default/podstatus/p" }, {}));
    await acceptor.until(() => seen.includes("update"));
    await edge.sendKeepalive();
    await acceptor.until(() => seen.includes("keepalive"));
    // Enough messages behind the stalled handler pause reading; the keepalive deadline then waits.
    for (let i = 0; i < 100; i++) {
      await edge.send(
        buildMessage({ operation: "update", resource: `default/podstatus/p${i}` }, {}),
      );
    }
    await acceptor.until(() => conn.readPaused);
    release();
    await acceptor.until(() => !conn.readPaused && seen.length === 102);
    assertEquals(seen.slice(0, 2), ["update", "keepalive"]);
  });
});
