import { assertEquals, assertStringIncludes } from "../assert.ts";
import { HubMetrics } from "../../hub/metrics.ts";

Deno.test("per-message counts reach the exposition, and reading twice does not add them twice", async () => {
  const m = new HubMetrics();
  m.countIn("keepalive");
  m.countIn("keepalive");
  m.countIn("response");
  m.countOut("update", "ack");
  m.countOut("update", "ack");
  m.countOut("update", "noack");
  m.countOut("response", "control");
  for (let read = 0; read < 2; read++) {
    assertEquals(
      await m.value("edgecloud_cloudhub_messages_in_total", { operation: "keepalive" }),
      2,
    );
    assertEquals(await m.value("edgecloud_cloudhub_messages_in_total"), 3);
    assertEquals(
      await m.value("edgecloud_cloudhub_messages_out_total", { operation: "update", path: "ack" }),
      2,
    );
    assertEquals(await m.value("edgecloud_cloudhub_messages_out_total"), 4);
  }
  m.countIn("keepalive");
  const text = await m.render();
  assertStringIncludes(text, 'edgecloud_cloudhub_messages_in_total{operation="keepalive"} 3');
  assertStringIncludes(
    text,
    'edgecloud_cloudhub_messages_out_total{operation="response",path="control"} 1',
  );
});

Deno.test("queue depth follows the deltas of both queues", async () => {
  const m = new HubMetrics();
  m.addQueueDepth("ack", 3);
  m.addQueueDepth("ack", -1);
  m.addQueueDepth("noack", 5);
  assertEquals(await m.value("edgecloud_cloudhub_queue_depth", { queue: "ack" }), 2);
  assertEquals(await m.value("edgecloud_cloudhub_queue_depth", { queue: "noack" }), 5);
  m.addQueueDepth("noack", -5);
  assertStringIncludes(await m.render(), 'edgecloud_cloudhub_queue_depth{queue="noack"} 0');
});
