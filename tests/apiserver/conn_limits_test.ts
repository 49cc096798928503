/**
 * Idle and half-open connections (security issue #17, item 4) on the embedded API (:6443). Under
 * `Deno.serve` a client that connected and sent nothing, or stopped halfway through its headers,
 * was never dropped; now such connections get the (here shortened) handshake timeout, at most
 * `maxPending` are held, idle keep-alive connections are closed, and a watch that streams
 * nothing for longer than all of these is still served.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { serverClosed, silentTcp, silentTls, slowHeadersClosed } from "../conn_probe.ts";
import { kubectlOk, startTestApi } from "./helpers.ts";

const SHORT = { handshakeTimeoutMs: 500, maxPending: 100, idleTimeoutMs: 500 };
/** How long a probe waits for the server to close (old code: never). */
const WITHIN = 3_000;

Deno.test("apiserver :6443: silent TCP, silent TLS and slow headers are closed at the handshake timeout; idle keep-alive too", async () => {
  const drops: string[] = [];
  const api = await startTestApi({ limits: SHORT, onConnectionDrop: (r) => drops.push(r) });
  try {
    const tls = { caPem: api.caPem };
    const outcomes = await Promise.all([
      silentTcp(api.port).then((c) => serverClosed(c, WITHIN)),
      silentTls(api.port, tls).then((c) => serverClosed(c, WITHIN)),
      slowHeadersClosed(api.port, tls, WITHIN),
    ]);
    assertEquals(outcomes, ["closed", "closed", "closed"]);
    assertEquals(drops, ["handshake_timeout", "handshake_timeout", "handshake_timeout"]);
    // After one request, an idle keep-alive connection is closed (node:http adds a 1 s grace).
    const conn = await silentTls(api.port, tls);
    await conn.write(new TextEncoder().encode("GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    assertEquals(await serverClosed(conn, SHORT.idleTimeoutMs + 1_000 + WITHIN), "closed");
  } finally {
    await api.dispose();
  }
});

Deno.test("apiserver :6443: a connection over the pending cap is closed at once; kubectl works again after", async () => {
  const drops: string[] = [];
  const api = await startTestApi({
    limits: { handshakeTimeoutMs: 10_000, maxPending: 2 },
    onConnectionDrop: (r) => drops.push(r),
  });
  try {
    const held = [
      await silentTls(api.port, { caPem: api.caPem }),
      await silentTls(api.port, { caPem: api.caPem }),
    ];
    assertEquals(await serverClosed(await silentTcp(api.port), 1_000), "closed");
    assertEquals(drops, ["over_capacity"]);
    for (const c of held) c.close();
    assertStringIncludes(await kubectlOk(api, ["get", "ns", "-o", "name"]), "namespace/default");
  } finally {
    await api.dispose();
  }
});

Deno.test("apiserver :6443: a watch that streams nothing for longer than every timeout stays open", async () => {
  const api = await startTestApi({ limits: SHORT });
  const client = Deno.createHttpClient({ caCerts: [api.caPem] });
  const headers = { authorization: `Bearer ${api.token}`, "content-type": "application/json" };
  try {
    const base = `${api.url}/api/v1/namespaces/default/configmaps`;
    const watch = await fetch(`${base}?watch=true`, { headers, client });
    assertEquals(watch.status, 200);
    const reader = watch.body!.pipeThrough(new TextDecoderStream()).getReader();
    // Silent for four handshake timeouts and idle timeouts (plus node's 1 s keep-alive grace).
    await new Promise((r) => setTimeout(r, 4 * SHORT.idleTimeoutMs + 1_000));
    const created = await fetch(base, {
      method: "POST",
      headers,
      client,
      body: JSON.stringify({ metadata: { name: "late" }, data: { k: "v" } }),
    });
    await created.body?.cancel();
    assertEquals(created.status, 201);
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      assert(!done, "the watch ended before its first event");
      text += value;
    }
    const event = JSON.parse(text.split("\n")[0]);
    assertEquals([event.type, event.object.metadata.name], ["ADDED", "late"]);
    await reader.cancel();
  } finally {
    client.close();
    await api.dispose();
  }
});
