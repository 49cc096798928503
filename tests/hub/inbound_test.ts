import { assert, assertEquals } from "../assert.ts";
import { buildMessage } from "../../modules/message.ts";
import { InboundQueue, ReadPause } from "../../hub/inbound.ts";

const msg = (operation: string, resource = "default/podstatus/p") =>
  buildMessage({ source: "edged", group: "meta", operation, resource }, {});

Deno.test("InboundQueue: in order behind a slow handler, keepalives and ACKs at once, reading paused and resumed at the marks", async () => {
  const seen: string[] = [];
  const flow: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const q = new InboundQueue(
    async (m) => {
      seen.push(`${m.route.operation} ${m.route.resource}`);
      if (m.route.resource === "default/podstatus/slow") await gate;
    },
    { pause: () => flow.push("pause"), resume: () => flow.push("resume") },
    (err) => {
      throw err;
    },
  );
  q.push(msg("update", "default/podstatus/slow"));
  for (let i = 0; i < ReadPause.pauseAbove; i++) q.push(msg("update", `default/podstatus/p${i}`));
  assert(q.paused, "reading not paused above the mark");
  assertEquals(flow, ["pause"]);
  q.push(msg("keepalive", "node"));
  q.push(msg("response", "default/pod/x"));
  assertEquals(seen, ["update default/podstatus/slow", "keepalive node", "response default/pod/x"]);
  release();
  while (q.paused) await new Promise((r) => setTimeout(r, 1));
  assertEquals(flow, ["pause", "resume"]);
  while (seen.length < ReadPause.pauseAbove + 3) await new Promise((r) => setTimeout(r, 1));
  assertEquals(
    seen.slice(3),
    Array.from({ length: ReadPause.pauseAbove }, (_, i) => `update default/podstatus/p${i}`),
  );
});
