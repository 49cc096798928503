import { assert, assertEquals, assertRejects } from "../assert.ts";
import { buildMessage } from "../../modules/message.ts";
import { QuicServer } from "../../hub/quic.ts";
import { QuicEdgeClient } from "../../edge/quic_client.ts";
import { WaitTimeoutError } from "../../edge/client.ts";
import { makeEdge, makePki, RecordingAcceptor } from "../hub/quic_fixture.ts";

async function withServer(
  fn: (
    s: {
      server: QuicServer;
      acceptor: RecordingAcceptor;
      pki: Awaited<ReturnType<typeof makePki>>;
    },
  ) => Promise<void>,
) {
  const pki = await makePki();
  const acceptor = new RecordingAcceptor();
  const server = new QuicServer({ hostname: "127.0.0.1", port: 0, tls: pki.tls, acceptor });
  await server.start();
  try {
    await fn({ server, acceptor, pki });
  } finally {
    await server.stop();
  }
}

Deno.test("QUIC edge client: heartbeat keepalives, metamanager ACK rule, waitFor, close", async () => {
  await withServer(async ({ server, acceptor, pki }) => {
    const edge = await QuicEdgeClient.connect({
      hostname: "127.0.0.1",
      port: server.addr.port,
      nodeId: "e1",
      credentials: await makeEdge(pki.ca, "e1"),
      heartbeat: 0.02,
    });
    try {
      await acceptor.until(() =>
        acceptor.messages.filter((m) => m.route.operation === "keepalive").length >= 2
      );
      assert(edge.keepalivesSent >= 2);
      const conn = acceptor.conns[0];
      // ACKed: resource insert. Not ACKed: a volume op, a twin message, a response "OK".
      const insert = buildMessage({
        source: "edgecontroller",
        group: "resource",
        operation: "insert",
        resource: "default/configmap/c",
      }, { a: 1 });
      const vol = buildMessage({
        source: "cloudhub",
        group: "resource",
        operation: "createvolume",
        resource: "default/volume/v",
      }, "{}");
      const twin = buildMessage({
        source: "devicecontroller",
        group: "twin",
        operation: "update",
        resource: "membership",
      }, {});
      for (const m of [vol, twin, insert]) await conn.write(m);
      const ack = await acceptor.until(() =>
        acceptor.messages.find((m) => m.route.operation === "response")
      );
      assertEquals(ack.header.parentId, insert.header.id);
      assertEquals(ack.route, {
        source: "edgecontroller",
        group: "resource",
        operation: "response",
        resource: "default/configmap/c",
      });
      assertEquals(ack.content, "OK");
      assertEquals(edge.acksSent, 1);
      assertEquals(edge.received.map((m) => m.header.id), [
        vol.header.id,
        twin.header.id,
        insert.header.id,
      ]);
      await assertRejects(
        () => edge.waitFor((m) => m.route.operation === "delete", 50),
        WaitTimeoutError,
      );
    } finally {
      await edge.close("bye");
    }
    assertEquals(await acceptor.conns[0].closed, "bye");
  });
});

Deno.test("QUIC edge client: a hub certificate from another CA is not trusted", async () => {
  await withServer(async ({ server, pki }) => {
    const other = await makePki();
    const creds = await makeEdge(pki.ca, "e1");
    await assertRejects(() =>
      QuicEdgeClient.connect({
        hostname: "127.0.0.1",
        port: server.addr.port,
        nodeId: "e1",
        credentials: { ...creds, caPem: other.ca.certPem },
        heartbeat: 0,
      })
    );
    assertEquals(server.stats.accepted, 0);
  });
});
