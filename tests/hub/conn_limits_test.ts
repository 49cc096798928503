/**
 * Idle and half-open connections (security issue #17, item 4) on CloudHub's listeners: the
 * WebSocket listener (:10000), the cert server (:10002), the monitor (:9091) and QUIC (:10001).
 * Each test shortens the limits; before the connection guard the WebSocket and cert servers
 * held a silent client for Node's 120 s TLS handshake timeout and the monitor forever.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { CertServer } from "../../hub/certs/mod.ts";
import { createCA, signServerCert } from "../../pki/mod.ts";
import { HubMetrics } from "../../hub/metrics.ts";
import { startMonitor } from "../../hub/monitor.ts";
import { QuicServer } from "../../hub/quic.ts";
import type { ConnLimits } from "../../lib/conn_guard.ts";
import { setLogLevel } from "../../lib/log.ts";
import { serverClosed, silentTcp, silentTls, slowHeadersClosed } from "../conn_probe.ts";
import { httpsRequest } from "./certs/https_client.ts";
import { clientCert, pingRoundTrip, startHub, until } from "./hub_fixture.ts";
import { makePki, RecordingAcceptor } from "./quic_fixture.ts";

setLogLevel("error");

/** Test limits: a silent client must be gone after 500 ms. */
const SHORT: ConnLimits = { handshakeTimeoutMs: 500, maxPending: 100, idleTimeoutMs: 500 };
/** How long a probe waits for the server to close (old code: 120 s or never). */
const WITHIN = 3_000;
/** Limits for the cap tests: the deadline is long, so only the cap can close quickly. */
const CAP2: ConnLimits = { handshakeTimeoutMs: 10_000, maxPending: 2, idleTimeoutMs: 5_000 };
/** An over-cap connection must be closed well before CAP2's deadline. */
const AT_ONCE = 1_000;

function dropLine(listener: string, reason: string, n: number): string {
  return `edgecloud_listener_dropped_connections_total{listener="${listener}",reason="${reason}"} ${n}`;
}

Deno.test("websocket :10000: silent TCP, silent TLS and slow headers are closed at the handshake timeout; nodes still join", async () => {
  const t = await startHub({
    websocket: { address: "127.0.0.1", port: 0, limits: SHORT },
    monitor: { enable: false },
  });
  try {
    const tls = { caPem: t.pki.ca.certPem, ...await clientCert(t.pki.ca, "n1") };
    const outcomes = await Promise.all([
      silentTcp(t.port).then((c) => serverClosed(c, WITHIN)),
      silentTls(t.port, tls).then((c) => serverClosed(c, WITHIN)),
      slowHeadersClosed(t.port, tls, WITHIN),
    ]);
    assertEquals(outcomes, ["closed", "closed", "closed"]);
    assertStringIncludes(
      await t.hub.metrics.render(),
      dropLine("websocket", "handshake_timeout", 3),
    );
    // A real node upgrades in time and is not cut by the deadline afterwards: once the guard
    // has let go of it (no connection pending), no handshake deadline applies to it any more.
    const edge = await t.connect("n1");
    await until(
      async () =>
        await t.hub.metrics.value("edgecloud_listener_pending_connections", {
          listener: "websocket",
        }) === 0,
      5_000,
      "the upgraded connection released by the guard",
    );
    await pingRoundTrip(edge);
    assert(edge.connected, "the upgraded connection was dropped");
  } finally {
    await t.close();
  }
});

Deno.test("websocket :10000: a connection over the pending cap is closed at once and counted", async () => {
  const t = await startHub({
    websocket: { address: "127.0.0.1", port: 0, limits: CAP2 },
    monitor: { enable: false },
  });
  try {
    const tls = { caPem: t.pki.ca.certPem, ...await clientCert(t.pki.ca, "n1") };
    // Handshakes done: the server has accepted both, and neither has upgraded.
    const held = [await silentTls(t.port, tls), await silentTls(t.port, tls)];
    assertEquals(await serverClosed(await silentTcp(t.port), AT_ONCE), "closed");
    assertStringIncludes(await t.hub.metrics.render(), dropLine("websocket", "over_capacity", 1));
    for (const c of held) c.close();
    // Once they are gone a node gets in again.
    await until(
      async () => {
        try {
          const edge = await t.connect("n1");
          return edge.connected;
        } catch {
          return false;
        }
      },
      5_000,
      "a node to join after the pending connections closed",
    );
  } finally {
    await t.close();
  }
});

/** A cert server on 127.0.0.1:0 with `limits`; drops are counted by reason. */
async function withCertServer(
  limits: ConnLimits,
  fn: (port: number, caPem: string, drops: Record<string, number>) => Promise<void>,
): Promise<void> {
  const ca = await createCA();
  const serverCert = await signServerCert(ca, { ips: ["127.0.0.1"], dnsNames: ["localhost"] });
  const drops: Record<string, number> = {};
  const server = new CertServer({
    address: "127.0.0.1",
    port: 0,
    ca,
    serverCert,
    limits,
    onConnectionDrop: (reason) => void (drops[reason] = (drops[reason] ?? 0) + 1),
  });
  const { port } = await server.start();
  try {
    await fn(port, ca.certPem, drops);
  } finally {
    await server.close();
  }
}

Deno.test("cert server :10002: silent TCP, silent TLS and slow headers are closed at the handshake timeout; idle keep-alive too; /ca.crt still served", async () => {
  await withCertServer(SHORT, async (port, caPem, drops) => {
    const outcomes = await Promise.all([
      silentTcp(port).then((c) => serverClosed(c, WITHIN)),
      silentTls(port, { caPem }).then((c) => serverClosed(c, WITHIN)),
      slowHeadersClosed(port, { caPem }, WITHIN),
    ]);
    assertEquals(outcomes, ["closed", "closed", "closed"]);
    assertEquals(drops.handshake_timeout, 3);

    const res = await httpsRequest({ port, path: "/ca.crt", ca: caPem });
    assertEquals(res.status, 200);
    // A keep-alive connection idle after its request is closed after the idle timeout (node:http
    // adds a 1 s grace), not held.
    const conn = await silentTls(port, { caPem });
    await conn.write(new TextEncoder().encode("GET /ca.crt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    assertEquals(await serverClosed(conn, SHORT.idleTimeoutMs + 1_000 + WITHIN), "closed");
  });
});

Deno.test("cert server :10002: a connection over the pending cap is closed at once", async () => {
  await withCertServer(CAP2, async (port, caPem, drops) => {
    const held = [await silentTls(port, { caPem }), await silentTls(port, { caPem })];
    assertEquals(await serverClosed(await silentTcp(port), AT_ONCE), "closed");
    assertEquals(drops.over_capacity, 1);
    for (const c of held) c.close();
    await until(
      async () => {
        try {
          return (await httpsRequest({ port, path: "/ca.crt", ca: caPem })).status === 200;
        } catch {
          return false;
        }
      },
      5_000,
      "/ca.crt after the pending connections closed",
    );
  });
});

Deno.test("monitor :9091: a silent client is closed; over the cap at once; /healthz still served", async () => {
  const metrics = new HubMetrics();
  const monitor = await startMonitor({
    metrics,
    hostname: "127.0.0.1",
    port: 0,
    limits: { ...SHORT, maxPending: 2 },
  });
  try {
    const held = [await silentTcp(monitor.port), await silentTcp(monitor.port)];
    // The two are accepted in order (both pending); the third finds the cap full.
    await until(
      async () =>
        await metrics.value("edgecloud_listener_pending_connections", { listener: "monitor" }) ===
          2,
      5_000,
      "two pending monitor connections",
    );
    assertEquals(await serverClosed(await silentTcp(monitor.port), AT_ONCE), "closed");
    const outcomes = await Promise.all(held.map((c) => serverClosed(c, WITHIN)));
    assertEquals(outcomes, ["closed", "closed"]);
    const text = await metrics.render();
    assertStringIncludes(text, dropLine("monitor", "over_capacity", 1));
    assertStringIncludes(text, dropLine("monitor", "handshake_timeout", 2));
    const client = Deno.createHttpClient({});
    try {
      const res = await fetch(`http://127.0.0.1:${monitor.port}/healthz`, { client });
      assertEquals((await res.text()).trim(), "ok");
    } finally {
      client.close();
    }
  } finally {
    await monitor.close();
  }
});

Deno.test("QUIC :10001: connections not yet authenticated are capped; over the cap is refused at once", async () => {
  const pki = await makePki();
  const metrics = new HubMetrics();
  const server = new QuicServer({
    hostname: "127.0.0.1",
    port: 0,
    tls: pki.tls,
    acceptor: new RecordingAcceptor(),
    headerTimeoutMs: 10_000,
    maxPending: 1,
    metrics,
  });
  await server.start();
  const dial = async (): Promise<Deno.QuicConn> =>
    await Deno.connectQuic({
      hostname: "127.0.0.1",
      port: server.addr.port,
      alpnProtocols: ["kubeedge-viaduct"],
      caCerts: [pki.ca.certPem],
    });
  const held = await dial();
  try {
    // The held connection is handshaken but silent (no control stream): it stays pending.
    const start = performance.now();
    const refused = await dial().then(
      async (c: Deno.QuicConn) => {
        const info = await c.closed;
        return `closed: ${info.reason}`;
      },
      (err: Error) => `refused: ${err.message}`,
    );
    assert(performance.now() - start < AT_ONCE, `over-cap connection took ${refused}`);
    assertStringIncludes(await metrics.render(), dropLine("quic", "over_capacity", 1));
  } finally {
    held.close({ closeCode: 0, reason: "" });
    await server.stop();
  }
});
