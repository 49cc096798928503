import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { buildMessage } from "../../modules/message.ts";
import { createCA } from "../../pki/mod.ts";
import { EdgeConnectError } from "../../edge/client.ts";
import { clientCert, pingRoundTrip, startHub, until } from "./hub_fixture.ts";
import { Bus } from "../../modules/bus.ts";

Deno.test("edge client joins over mTLS; keepalive reaches the session; config/ping answered with ack", async () => {
  const bus = new Bus();
  bus.addModule("edgecontroller");
  const t = await startHub({ bus });
  try {
    const edge = await t.connect("n1");
    const connected = await bus.receive("edgecontroller");
    assertEquals(connected.route, {
      source: "cloudhub",
      group: "resource",
      operation: "connected",
      resource: "node/n1",
    });
    const c = connected.content as Record<string, unknown>;
    assertEquals(c.event_type, "connected");
    assertEquals(c.client_id, "n1");
    assertEquals(typeof c.timestamp, "number");
    assertEquals(t.hub.sessions.nodeIds, ["n1"]);
    await edge.sendKeepalive();
    const ping = buildMessage({
      source: "websocket",
      group: "resource",
      operation: "ping",
      resource: "node",
    }, "x");
    await edge.send(ping);
    const ack = await edge.waitFor((m) => m.header.parentId === ping.header.id);
    assertEquals(ack.route.operation, "response");
    assertEquals(ack.content, "ack");
    const up = buildMessage({
      source: "edged",
      group: "meta",
      operation: "update",
      resource: "default/podstatus/p1",
    }, { a: 1 });
    await edge.send(up);
    const got = await bus.receive("edgecontroller");
    assertEquals(got.route.resource, "node/n1/default/podstatus/p1");
    assertEquals(
      await t.hub.metrics.value("edgecloud_cloudhub_messages_in_total", { operation: "keepalive" }),
      1,
    );
    await edge.close();
    const disc = await bus.receive("edgecontroller");
    assertEquals(disc.route.operation, "disconnected");
  } finally {
    await t.close();
    bus.close();
  }
});

Deno.test("refusals close only that connection, with a reason and a metric", async () => {
  const t = await startHub({ nodeLimit: 2 });
  try {
    const good = await t.connect("good");
    const m = (reason: string) =>
      t.hub.metrics.value("edgecloud_cloudhub_closed_connections_total", { reason });

    // wrong CA
    const other = await createCA();
    const wrongCa = await t.edge("n2", { ca: other });
    await assertRejects(() => wrongCa.connect(), EdgeConnectError);
    // no client cert
    const noCert = await t.edge("n3", { certPem: undefined, keyPem: undefined });
    await assertRejects(() => noCert.connect(), EdgeConnectError);
    await until(async () => (await m("tls_handshake")) >= 2, 5_000, "tls metric");

    // CN != node_id
    const forged = await t.edge("n4", { certNode: "someone-else" });
    const e1 = await assertRejects(() => forged.connect(), EdgeConnectError) as EdgeConnectError;
    assertEquals(e1.status, 403);
    assertStringIncludes(e1.body ?? "", "system:node:someone-else");
    assertEquals(await m("unauthorized"), 1);

    // missing ConnectionUse
    const noUse = await t.edge("n5", { headers: { ConnectionUse: undefined } });
    const e2 = await assertRejects(() => noUse.connect(), EdgeConnectError) as EdgeConnectError;
    assertEquals(e2.status, 400);
    assertStringIncludes(e2.body ?? "", "ConnectionUse");
    assertEquals(await m("missing_connection_use"), 1);

    // node limit (2): second node fits, third is refused with 503
    await t.connect("second");
    const third = await t.edge("third");
    const e3 = await assertRejects(() => third.connect(), EdgeConnectError) as EdgeConnectError;
    assertEquals(e3.status, 503);
    assertStringIncludes(e3.body ?? "", "node limit");
    assertEquals(await m("node_limit"), 1);

    // the good node still works
    const ping = buildMessage({
      source: "websocket",
      group: "resource",
      operation: "config",
      resource: "node",
    }, "x");
    await good.send(ping);
    await good.waitFor((x) => x.header.parentId === ping.header.id);
    assert(good.connected);
  } finally {
    await t.close();
  }
});

Deno.test("malformed frames close only that connection with a reason and a metric", async () => {
  const t = await startHub({ nodeLimit: 10 });
  try {
    const good = await t.connect("good");
    const cases: Array<[string, string | Uint8Array, number, string]> = [
      ["bad1", "this is not json", 1007, "malformed_not_json"],
      ["bad2", JSON.stringify({ hello: "world" }), 1007, "malformed_not_message"],
      ["bad3", new Uint8Array(10 * 1024 * 1024).fill(0x41), 1009, "frame_too_large"],
      ["bad4", crypto.getRandomValues(new Uint8Array(512)), 1007, "malformed_not_json"],
    ];
    for (const [node, payload, code, label] of cases) {
      const before = await t.hub.metrics.value("edgecloud_cloudhub_closed_connections_total", {
        reason: label,
      });
      const bad = await t.connect(node);
      await bad.sendRaw(payload).catch(() => {});
      const closed = await bad.waitClosed();
      // A 10 MiB sender may be cut off before it reads the 1009 close frame on a busy machine.
      const codes = code === 1009 ? [1009, 1006] : [code];
      assert(codes.includes(closed.code), `${node} close code ${closed.code}`);
      if (code === 1007) assertStringIncludes(closed.reason, "malformed message");
      const after = await t.hub.metrics.value("edgecloud_cloudhub_closed_connections_total", {
        reason: label,
      });
      assertEquals(after, before + 1, label);
    }
    await pingRoundTrip(good);
    await until(() => t.hub.sessions.nodeIds.length === 1, 5_000, "bad sessions gone");
    assertEquals(t.hub.sessions.nodeIds, ["good"]);
  } finally {
    await t.close();
  }
});

Deno.test("edgecore's zero-value message is dropped and counted; the session stays up", async () => {
  const t = await startHub();
  try {
    const edge = await t.connect("n1");
    // Exactly what a real edgecore v1.23 sent after an offline period.
    await edge.sendRaw('{"header":{"msg_id":"","timestamp":0},"route":{},"content":null}');
    await until(async () =>
      await t.hub.metrics.value("edgecloud_cloudhub_dropped_messages_total", {
        reason: "empty_message",
      }) === 1
    );
    await pingRoundTrip(edge);
    assertEquals(edge.connected, true);
    assertEquals(t.hub.sessions.nodeIds, ["n1"]);
  } finally {
    await t.close();
  }
});

Deno.test("authorization off: CN need not match node_id (KubeEdge's default)", async () => {
  const t = await startHub({ authorization: false });
  try {
    const edge = await t.connect("n1", { certNode: "someone-else" });
    const ping = buildMessage({
      source: "websocket",
      group: "resource",
      operation: "pong",
      resource: "node",
    }, "x");
    await edge.send(ping);
    await edge.waitFor((m) => m.header.parentId === ping.header.id);
  } finally {
    await t.close();
  }
});

Deno.test("a plain HTTPS request gets 400 like gorilla; the node_id header is required", async () => {
  const t = await startHub();
  try {
    const certs = await clientCert(t.pki.ca, "n1");
    const client = Deno.createHttpClient({
      caCerts: [t.pki.ca.certPem],
      cert: certs.certPem,
      key: certs.keyPem,
    });
    try {
      const res = await fetch(`https://${t.server}/anything`, { client });
      await res.body?.cancel();
      assertEquals(res.status, 400);
    } finally {
      client.close();
    }
    const noId = await t.edge("n1", { headers: { Node_id: undefined } });
    const err = await assertRejects(() => noId.connect(), EdgeConnectError) as EdgeConnectError;
    assertEquals(err.status, 400);
    assertStringIncludes(err.body ?? "", "node_id");
  } finally {
    await t.close();
  }
});

Deno.test("one object sent to many nodes is serialised once (content shared by their messages)", async () => {
  const t = await startHub();
  try {
    let serialised = 0;
    const content = {
      kind: "ConfigMap",
      apiVersion: "v1",
      metadata: { name: "shared", namespace: "default", uid: "uid-shared", resourceVersion: "7" },
      data: { k: "v" },
      toJSON() {
        serialised++;
        const { toJSON: _, ...rest } = this;
        return rest;
      },
    };
    const nodes = ["n1", "n2", "n3"];
    const edges = await Promise.all(nodes.map((n) => t.connect(n)));
    for (const n of nodes) {
      await t.hub.dispatcher.downstream(buildMessage(
        {
          source: "edgecontroller",
          group: "resource",
          operation: "update",
          resource: `node/${n}/default/configmap/shared`,
        },
        content,
        { resourceVersion: "7" },
      ));
    }
    const got = await Promise.all(
      edges.map((e) => e.waitFor((m) => m.route.resource === "default/configmap/shared")),
    );
    for (const m of got) {
      assertEquals((m.content as { data: unknown }).data, { k: "v" });
    }
    assertEquals(new Set(got.map((m) => m.header.id)).size, 3, "each node its own message id");
    assertEquals(serialised, 1);
  } finally {
    await t.close();
  }
});

Deno.test("the WebSocket listener's accept queue holds a reconnect storm while the hub is busy (backlog beyond Node's 511)", async () => {
  const t = await startHub();
  // A child process opens 800 TCP connections while this process, hub included, is blocked:
  // only the kernel's accept queue can take them. With Node's default backlog (511) the rest
  // are dropped and wait for a SYN retransmit (1 s), past the child's 900 ms; here all connect
  // at once.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `console.log("ready");
       await new Promise((r) => setTimeout(r, 100));
       const conns = [];
       let n = 0;
       const all = Array.from({ length: 800 }, () =>
         Deno.connect({ hostname: "127.0.0.1", port: ${t.port} }).then((c) => { n++; conns.push(c); }));
       await Promise.race([Promise.all(all), new Promise((r) => setTimeout(r, 900))]);
       console.log(n);
       for (const c of conns) c.close();
       Deno.exit(0);`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("ready")) out += (await reader.read()).value ?? "";
    const until = performance.now() + 400;
    while (performance.now() < until) {
      // busy: nothing is accepted meanwhile
    }
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    await child.status;
    assertEquals(out.trim().split("\n").at(-1), "800");
  } finally {
    await t.close();
  }
});
