import { assertEquals, assertStringIncludes } from "../assert.ts";
import { buildMessage } from "../../modules/message.ts";
import { HubMetrics } from "../../hub/metrics.ts";
import { startMonitor } from "../../hub/monitor.ts";
import { startHub, until } from "./hub_fixture.ts";

Deno.test("/metrics, /healthz and /readyz", async () => {
  const t = await startHub();
  try {
    const edge = await t.connect("n1");
    await edge.sendKeepalive();
    await t.hub.dispatcher.downstream(
      buildMessage({
        source: "edgecontroller",
        group: "resource",
        operation: "insert",
        resource: "node/n1/default/pod/p",
      }, {
        kind: "Pod",
        apiVersion: "v1",
        metadata: { name: "p", namespace: "default", uid: "u", resourceVersion: "1" },
      }, { resourceVersion: "1" }),
    );
    await edge.waitFor((m) => m.route.resource === "default/pod/p");
    await until(() => t.hub.pools.get("n1").ack.depth === 0);
    const base = `http://127.0.0.1:${t.hub.ports.monitor}`;
    const res = await fetch(`${base}/metrics`);
    assertEquals(res.status, 200);
    assertStringIncludes(res.headers.get("content-type") ?? "", "text/plain");
    const text = await res.text();
    assertStringIncludes(text, "KubeEdge_CloudHub_connected_nodes 1");
    assertStringIncludes(text, "edgecloud_cloudhub_connected_nodes 1");
    assertStringIncludes(text, 'edgecloud_cloudhub_messages_in_total{operation="keepalive"} 1');
    assertStringIncludes(
      text,
      'edgecloud_cloudhub_messages_out_total{operation="insert",path="ack"} 1',
    );
    assertStringIncludes(text, 'edgecloud_cloudhub_queue_depth{queue="ack"} 0');
    assertStringIncludes(text, "edgecloud_cloudhub_ack_latency_seconds_count 1");
    assertStringIncludes(text, "edgecloud_cloudhub_resends_total 0");
    assertStringIncludes(text, "# TYPE edgecloud_cloudhub_closed_connections_total counter");
    assertStringIncludes(text, "# TYPE edgecloud_event_loop_lag_seconds histogram");
    assertEquals((await (await fetch(`${base}/healthz`)).text()).trim(), "ok");
    assertEquals((await fetch(`${base}/readyz`)).status, 200);
    const missing = await fetch(`${base}/nope`);
    await missing.body?.cancel();
    assertEquals(missing.status, 404);
  } finally {
    await t.close();
  }
});

Deno.test("/readyz follows the readiness callback", async () => {
  let ready = false;
  const monitor = await startMonitor({
    metrics: new HubMetrics(),
    hostname: "127.0.0.1",
    port: 0,
    ready: () => ready,
  });
  try {
    const r1 = await fetch(`http://127.0.0.1:${monitor.port}/readyz`);
    await r1.body?.cancel();
    assertEquals(r1.status, 503);
    ready = true;
    const r2 = await fetch(`http://127.0.0.1:${monitor.port}/readyz`);
    await r2.body?.cancel();
    assertEquals(r2.status, 200);
  } finally {
    await monitor.close();
  }
});
