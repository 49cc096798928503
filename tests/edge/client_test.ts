import { assert, assertEquals, assertRejects } from "../assert.ts";
import { CertServer } from "../../hub/certs/mod.ts";
import { createToken } from "../../pki/mod.ts";
import { bootstrap, BootstrapError } from "../../edge/bootstrap.ts";
import { edgeAcks, EdgeClient } from "../../edge/client.ts";
import { Bus } from "../../modules/bus.ts";
import { buildMessage } from "../../modules/message.ts";
import { startHub, until } from "../hub/hub_fixture.ts";

Deno.test("edge joins like edgecore: token → /ca.crt → CSR → /edge.crt → mTLS WebSocket → keepalive → ACK", async () => {
  const bus = new Bus();
  bus.addModule("edgecontroller");
  const t = await startHub({ bus });
  const certServer = new CertServer({
    address: "127.0.0.1",
    port: 0,
    ca: t.pki.ca,
    serverCert: t.pki.server,
  });
  const { port } = await certServer.start();
  let edge: EdgeClient | undefined;
  try {
    const token = await createToken(t.pki.ca, 12);
    // a forged token is refused by the cert server
    const forged = token.replace(/\.[^.]+$/, ".AAAA");
    await assertRejects(
      () => bootstrap({ server: `127.0.0.1:${port}`, token: forged, nodeName: "edge-1" }),
      BootstrapError,
    );

    // so is an expired one (made 2 days ago, valid 12 h)
    const expired = await createToken(t.pki.ca, 12, new Date(Date.now() - 48 * 3600_000));
    const err = await assertRejects(
      () => bootstrap({ server: `127.0.0.1:${port}`, token: expired, nodeName: "edge-1" }),
      BootstrapError,
    ) as BootstrapError;
    assertEquals(err.status, 401);
    const creds = await bootstrap({ server: `127.0.0.1:${port}`, token, nodeName: "edge-1" });
    edge = new EdgeClient({
      server: t.server,
      nodeName: "edge-1",
      caPem: creds.caPem,
      certPem: creds.certPem,
      keyPem: creds.keyPem,
      heartbeat: 0.05, // every 50 ms, so the test sees several
    });
    await edge.connect();
    const connected = await bus.receive("edgecontroller");
    assertEquals(connected.route.operation, "connected");
    await until(
      async () =>
        (await t.hub.metrics.value("edgecloud_cloudhub_messages_in_total", {
          operation: "keepalive",
        })) >= 2,
      5_000,
      "keepalives",
    );

    await t.hub.dispatcher.downstream(buildMessage({
      source: "edgecontroller",
      group: "resource",
      operation: "insert",
      resource: "node/edge-1/default/pod/nginx",
    }, {
      kind: "Pod",
      apiVersion: "v1",
      metadata: { name: "nginx", namespace: "default", uid: "u-1", resourceVersion: "4711" },
    }, { resourceVersion: "4711" }));
    const pod = await edge.waitFor((m) => m.route.resource === "default/pod/nginx");
    assertEquals(pod.header.resourceVersion, "4711");
    await until(() => t.hub.pools.get("edge-1").ack.depth === 0, 5_000, "ACK processed");
    assertEquals(
      (await t.hub.syncStore.get({ namespace: "default", name: "edge-1.u-1" }))?.resourceVersion,
      "4711",
    );
    assert(edge.acksSent >= 1);
  } finally {
    await edge?.close();
    await certServer.close();
    await t.close();
    bus.close();
  }
});

Deno.test("edgeAcks follows metamanager: resource-group changes and object responses", () => {
  const m = (group: string, operation: string, content: unknown = {}) =>
    buildMessage(
      { source: "edgecontroller", group, operation, resource: "default/pod/p" },
      content,
    );
  assertEquals(edgeAcks(m("resource", "insert")), true);
  assertEquals(edgeAcks(m("resource", "update")), true);
  assertEquals(edgeAcks(m("resource", "delete")), true);
  assertEquals(edgeAcks(m("resource", "response", { kind: "ConfigMap" })), true);
  assertEquals(edgeAcks(m("resource", "response", "OK")), false);
  assertEquals(edgeAcks(m("twin", "update")), false);
  assertEquals(edgeAcks(m("user", "update")), false);
});

Deno.test("edge client wire shape: keepalive as in §1.8 and ACK with source/group copied", () => {
  const edge = new EdgeClient({ server: "127.0.0.1:1", nodeName: "n", caPem: "" });
  const ka = edge.keepaliveMessage();
  assertEquals(ka.route, {
    source: "websocket",
    group: "resource",
    operation: "keepalive",
    resource: "node",
  });
  assertEquals(ka.content, "ping");
});

Deno.test("messages() iterates received messages until the client closes", async () => {
  const t = await startHub();
  try {
    const edge = await t.connect("it-1");
    await until(() => t.hub.sessions.get("it-1"));
    const seen: string[] = [];
    const done = (async () => {
      for await (const m of edge.messages()) seen.push(m.route.resource ?? "");
    })();
    for (const name of ["a", "b"]) {
      await t.hub.dispatcher.downstream(buildMessage({
        source: "edgecontroller",
        group: "resource",
        operation: "insert",
        resource: `node/it-1/null/node/${name}`,
      }, { kind: "Node" }));
    }
    await until(() => seen.length === 2);
    await edge.close();
    await done;
    assertEquals(seen, ["null/node/a", "null/node/b"]);
  } finally {
    await t.close();
  }
});
