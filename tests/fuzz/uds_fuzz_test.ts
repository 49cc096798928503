import fc from "fast-check";
import { assert, assertEquals } from "../assert.ts";
import type { Bus } from "../../modules/bus.ts";
import { encodeMessage, type Message, newMessage } from "../../modules/message.ts";
import { MAX_UDS_REQUEST, UdsServer } from "../../hub/uds.ts";
import { getLogLevel, setLogLevel } from "../../lib/log.ts";
import { fuzzRuns } from "./runs.ts";

/** A connection whose one read returns `bytes` (what a CSI driver wrote). */
function fakeConn(bytes: Uint8Array): Deno.Conn {
  return {
    read(buf: Uint8Array): Promise<number | null> {
      const n = Math.min(buf.length, bytes.length);
      buf.set(bytes.subarray(0, n));
      return Promise.resolve(n === 0 ? null : n);
    },
  } as unknown as Deno.Conn;
}

/** A bus whose sendSync answers at once (or fails), so no timers run. */
function fakeBus(fail: boolean): Bus {
  return {
    sendSync(_module: string, msg: Message): Promise<Message> {
      if (fail) return Promise.reject(new Error("edge did not answer"));
      const resp = newMessage();
      resp.header.parentId = msg.header.id;
      resp.route = { ...msg.route, operation: "response" };
      resp.content = "OK";
      return Promise.resolve(resp);
    },
  } as unknown as Bus;
}

const enc = new TextEncoder();
const csiLike = fc.record({
  header: fc.record({ msg_id: fc.string({ maxLength: 40 }), timestamp: fc.integer() }),
  route: fc.record({
    source: fc.constantFrom("csidriver", ""),
    group: fc.constantFrom("resource", "", "edgecontroller"),
    operation: fc.constantFrom("createvolume", "deletevolume", "", "x"),
    resource: fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ minLength: 1, maxLength: 10 }).map((n) => `node/${n}/default/volume/v1`),
    ),
  }),
  content: fc.jsonValue({ maxDepth: 2 }),
}).map((m) => enc.encode(JSON.stringify(m)));

Deno.test("fuzz: the UDS request decoder answers every input and never throws", async () => {
  const inputs = fc.oneof(
    fc.uint8Array({ maxLength: 400 }),
    fc.string({ maxLength: 300 }).map((s) => enc.encode(s)),
    fc.jsonValue().map((v) => enc.encode(JSON.stringify(v))),
    csiLike,
    csiLike.chain((b) => fc.nat({ max: b.length }).map((n) => b.slice(0, n))),
    fc.constant(new Uint8Array(MAX_UDS_REQUEST + 1).fill(0x20)),
  );
  // Every case logs a warning by design; keep the test output readable.
  const level = getLogLevel();
  setLogLevel("error");
  try {
    await fc.assert(
      fc.asyncProperty(inputs, fc.boolean(), fc.boolean(), async (bytes, fail, online) => {
        const uds = new UdsServer({
          address: "unix:///nonexistent/fuzz.sock",
          bus: fakeBus(fail),
          nodeOnline: () => online,
        });
        const reply = await uds.handle(fakeConn(bytes));
        // The reply must itself be encodable: it goes back on the socket as JSON.
        assert(encodeMessage(reply).length > 0);
        if (reply.route.operation !== "response") assertEquals(reply.route.operation, "error");
      }),
      { numRuns: fuzzRuns() },
    );
  } finally {
    setLogLevel(level);
  }
});
