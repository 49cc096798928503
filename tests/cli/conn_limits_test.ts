import { assertEquals } from "../assert.ts";
import { connLimitsOf } from "../../cli/wiring.ts";

const section = { handshakeTimeout: 10, idleTimeout: 5, maxPendingConnections: 1024 };

Deno.test("connectionLimits: seconds become ms; the configured pending cap stands alone", () => {
  assertEquals(connLimitsOf(section), {
    handshakeTimeoutMs: 10_000,
    idleTimeoutMs: 5_000,
    maxPending: 1024,
  });
});

Deno.test("connectionLimits: CloudHub's listeners let every node of nodeLimit reconnect at once", () => {
  assertEquals(connLimitsOf(section, 10_000).maxPending, 10_000);
  assertEquals(connLimitsOf(section, 500).maxPending, 1024);
  assertEquals(
    connLimitsOf({ ...section, maxPendingConnections: 50_000 }, 10_000).maxPending,
    50_000,
  );
});
