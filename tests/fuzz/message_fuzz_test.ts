import fc from "fast-check";
import { assertEquals } from "../assert.ts";
import {
  decodeMessage,
  encodeMessage,
  type Message,
  MessageDecodeError,
} from "../../modules/message.ts";
import { fuzzRuns } from "./runs.ts";

const optStr = fc.option(fc.string({ maxLength: 40 }), { nil: undefined });

const arbMessage: fc.Arbitrary<Message> = fc.record({
  header: fc.record({
    id: fc.uuid(),
    parentId: optStr,
    timestamp: fc.integer({ min: 0, max: 2 ** 52 }),
    resourceVersion: optStr,
    sync: fc.option(fc.boolean(), { nil: undefined }),
    type: optStr,
  }),
  route: fc.record({
    source: optStr,
    destination: optStr,
    group: optStr,
    operation: optStr,
    resource: optStr,
  }),
  content: fc.jsonValue(),
});

function normalise(m: Message): Message {
  const h = { ...m.header };
  for (const k of ["parentId", "resourceVersion", "type"] as const) if (!h[k]) delete h[k];
  if (!h.sync) delete h.sync;
  const r = { ...m.route };
  for (const k of Object.keys(r) as (keyof typeof r)[]) if (!r[k]) delete r[k];
  return { header: h, route: r, content: m.content };
}

Deno.test("fuzz: WS JSON message encode → decode → encode is stable", () => {
  fc.assert(
    fc.property(arbMessage, (m) => {
      const wire = encodeMessage(m);
      const back = decodeMessage(wire);
      assertEquals(encodeMessage(back), wire);
      assertEquals(back, normalise({ ...m, content: JSON.parse(JSON.stringify(m.content)) }));
    }),
    { numRuns: fuzzRuns() },
  );
});

Deno.test("fuzz: the WS message decoder throws only MessageDecodeError", () => {
  const inputs = fc.oneof(
    fc.string(),
    fc.uint8Array({ maxLength: 256 }),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.record({ header: fc.jsonValue(), route: fc.jsonValue(), content: fc.jsonValue() }).map((v) =>
      JSON.stringify(v)
    ),
    arbMessage.map((m) => encodeMessage(m)).chain((s) =>
      fc.nat({ max: Math.max(0, s.length - 1) }).map((cut) => s.slice(0, cut))
    ),
  );
  fc.assert(
    fc.property(inputs, (input) => {
      try {
        decodeMessage(input);
      } catch (err) {
        if (!(err instanceof MessageDecodeError)) throw err;
      }
    }),
    { numRuns: fuzzRuns() },
  );
});
