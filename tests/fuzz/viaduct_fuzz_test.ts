import fc from "fast-check";
import { assertEquals } from "../assert.ts";
import {
  decodeFrameHeader,
  decodeProtoMessage,
  encodeFrame,
  encodeProtoMessage,
  FRAME_HEADER_SIZE,
  FrameReader,
  VIADUCT_VERSION,
  ViaductError,
} from "../../protocol/viaduct.ts";
import type { Message } from "../../modules/message.ts";
import { fuzzRuns } from "./runs.ts";

function onlyViaductError(err: unknown): void {
  if (!(err instanceof ViaductError)) throw err;
}

const optStr = fc.option(fc.string({ minLength: 1, maxLength: 30 }), { nil: undefined });
const arbMessage: fc.Arbitrary<Message> = fc.record({
  header: fc.record({
    id: fc.uuid(),
    parentId: optStr,
    timestamp: fc.integer({ min: 0, max: 2 ** 52 }),
    sync: fc.option(fc.constant(true), { nil: undefined }),
    type: optStr,
  }, { requiredKeys: ["id", "timestamp"] }),
  route: fc.record({ source: optStr, group: optStr, operation: optStr, resource: optStr }, {
    requiredKeys: [],
  }),
  content: fc.oneof(
    fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })),
    fc.array(fc.integer()),
  ),
});

/** Drops keys whose value is undefined (they do not travel). */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Splits bytes into chunks at random cut points. */
function chunked(bytes: Uint8Array): fc.Arbitrary<Uint8Array[]> {
  return fc.uniqueArray(fc.nat({ max: Math.max(0, bytes.length) }), { maxLength: 8 }).map(
    (cuts) => {
      const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
      const out: Uint8Array[] = [];
      for (let i = 1; i < points.length; i++) out.push(bytes.subarray(points[i - 1], points[i]));
      return out;
    },
  );
}

Deno.test("fuzz: viaduct frames round-trip through FrameReader under any chunking", () => {
  const frames = fc.array(arbMessage, { minLength: 1, maxLength: 4 }).chain((msgs) => {
    const parts = msgs.map((m) => encodeFrame(m));
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    return chunked(all).map((chunks) => ({ msgs, chunks }));
  });
  fc.assert(
    fc.property(frames, ({ msgs, chunks }) => {
      const reader = new FrameReader();
      const got = chunks.flatMap((c) => reader.push(c));
      reader.end();
      assertEquals(got.length, msgs.length);
      for (let i = 0; i < msgs.length; i++) {
        assertEquals(got[i].header.id, msgs[i].header.id);
        assertEquals(got[i].route, compact(msgs[i].route));
        assertEquals(got[i].content, JSON.parse(JSON.stringify(msgs[i].content)));
      }
    }),
    { numRuns: fuzzRuns() },
  );
});

Deno.test("fuzz: decodeFrameHeader throws only ViaductError", () => {
  const versioned = fc.tuple(fc.uint8Array({ minLength: 6, maxLength: 6 })).map(([rest]) => {
    const b = new Uint8Array(FRAME_HEADER_SIZE);
    new DataView(b.buffer).setUint32(0, VIADUCT_VERSION);
    b.set(rest, 4);
    return b;
  });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 16 }), versioned), (bytes) => {
      try {
        const h = decodeFrameHeader(bytes);
        assertEquals(h.version, VIADUCT_VERSION);
      } catch (err) {
        onlyViaductError(err);
      }
    }),
    { numRuns: fuzzRuns() },
  );
});

Deno.test("fuzz: the protobuf decoder throws only ViaductError", () => {
  const mutated = arbMessage.map((m) => encodeProtoMessage(m)).chain((b) =>
    fc.oneof(
      fc.nat({ max: Math.max(0, b.length - 1) }).map((n) => b.slice(0, n)),
      fc.array(
        fc.tuple(fc.nat({ max: Math.max(0, b.length - 1) }), fc.integer({ min: 1, max: 255 })),
        {
          minLength: 1,
          maxLength: 4,
        },
      ).map((flips) => {
        const c = b.slice();
        for (const [i, x] of flips) if (i < c.length) c[i] ^= x;
        return c;
      }),
    )
  );
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated), (bytes) => {
      try {
        decodeProtoMessage(bytes);
      } catch (err) {
        onlyViaductError(err);
      }
    }),
    { numRuns: fuzzRuns() },
  );
});

Deno.test("fuzz: FrameReader on garbage streams throws only ViaductError", () => {
  const garbage = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    // A valid header followed by random body bytes of the announced (small) length.
    fc.uint8Array({ maxLength: 200 }).map((body) => {
      const b = new Uint8Array(FRAME_HEADER_SIZE + body.length);
      const v = new DataView(b.buffer);
      v.setUint32(0, VIADUCT_VERSION);
      b[4] = 1;
      v.setUint32(6, body.length);
      b.set(body, FRAME_HEADER_SIZE);
      return b;
    }),
    arbMessage.map((m) => encodeFrame(m)).chain((f) =>
      fc.nat({ max: f.length }).map((n) => f.slice(0, n))
    ),
  );
  fc.assert(
    fc.property(garbage.chain(chunked), (chunks) => {
      const reader = new FrameReader();
      try {
        for (const c of chunks) reader.push(c);
        reader.end();
      } catch (err) {
        onlyViaductError(err);
      }
    }),
    { numRuns: fuzzRuns() },
  );
});
