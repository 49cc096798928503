import { assert, assertEquals, assertThrows } from "../assert.ts";
import { emptyMessage, type Message, sharedContentBytes } from "../../modules/message.ts";
import {
  contentFromBytes,
  decodeFrameHeader,
  decodeProtoMessage,
  encodeFrame,
  encodeFrameHeader,
  encodeProtoMessage,
  FRAME_HEADER_SIZE,
  FrameReader,
  MAX_FRAME_PAYLOAD,
  ViaductError,
} from "../../protocol/viaduct.ts";
import { MESSAGE_PROTO_SOURCE } from "../../protocol/proto/mod.ts";
import fc from "fast-check";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) =>
  new Uint8Array(s.replace(/\s+/g, "").match(/../g)!.map((x) => parseInt(x, 16)));

/** The fixed message of the golden vector. */
const golden: Message = {
  header: { id: "m1", parentId: "p1", timestamp: 1000, sync: true },
  route: { source: "s", group: "g", operation: "o", resource: "r" },
  content: "OK",
};

/*
 * Derived by hand from protocol/proto/message.proto (tag = field << 3 | wire type):
 *   header (1, LEN=2) -> 0a 0d
 *     ID (1, LEN) "m1"            0a 02 6d 31
 *     ParentID (2, LEN) "p1"      12 02 70 31
 *     Timestamp (3, VARINT) sint64 1000 -> zigzag 2000 = 0x7d0 -> d0 0f   18 d0 0f
 *     Sync (4, VARINT) true       20 01            (13 bytes)
 *   router (2, LEN) -> 12 0c
 *     Source "s" 0a 01 73, Group "g" 12 01 67, Operation "o" 1a 01 6f, Resouce "r" 22 01 72
 *   Content (3, LEN) "OK" -> 1a 02 4f 4b
 * Total 2 + 13 + 2 + 12 + 4 = 33 bytes.
 */
const GOLDEN_PROTO = "0a0d 0a026d31 12027031 18d00f 2001" +
  "120c 0a0173 120167 1a016f 220172" +
  "1a02 4f4b";

Deno.test("viaduct header golden bytes for a known length", () => {
  assertEquals(hex(encodeFrameHeader(33)), "01010100" + "01" + "00" + "00000021");
  assertEquals(hex(encodeFrameHeader(0x01020304)), "01010100010001020304");
  assertEquals(decodeFrameHeader(unhex("01010100010000000021")), {
    version: 0x01010100,
    type: 1,
    flags: 0,
    length: 33,
  });
});

Deno.test("protobuf golden bytes derived from the .proto", () => {
  assertEquals(hex(encodeProtoMessage(golden)), GOLDEN_PROTO.replace(/\s+/g, ""));
  assertEquals(decodeProtoMessage(unhex(GOLDEN_PROTO)), golden);
  assertEquals(
    hex(encodeFrame(golden)),
    "01010100010000000021" + GOLDEN_PROTO.replace(/\s+/g, ""),
  );
});

Deno.test("negative timestamps use zigzag (sint64)", () => {
  const msg: Message = { header: { id: "a", timestamp: -3 }, route: {}, content: "" };
  // header: 0a 01 61 (ID) 18 05 (zigzag(-3) = 5); router empty: 12 00; content empty: omitted
  assertEquals(hex(encodeProtoMessage(msg)), "0a050a01611805" + "1200");
  assertEquals(decodeProtoMessage(encodeProtoMessage(msg)), msg);
});

Deno.test("encode -> decode keeps the message (content kinds)", () => {
  const base = {
    header: { id: "8c4f3a2e-1", timestamp: 1722900000000, parentId: "x", type: "channel" },
    route: {
      source: "edgecontroller",
      group: "resource",
      operation: "insert",
      resource: "default/pod/nginx",
    },
  };
  const pod = { kind: "Pod", metadata: { name: "nginx", uid: "u<1>" }, spec: { a: [1, 2] } };
  for (const content of [pod, "OK", "not json {", null, 42, [1, "a"], true]) {
    const msg: Message = { ...base, content };
    assertEquals(decodeProtoMessage(encodeProtoMessage(msg)), msg);
  }
  // A string holding JSON comes back parsed (documented); raw bytes that are not UTF-8 stay bytes.
  const asString: Message = { ...base, content: JSON.stringify(pod) };
  assertEquals(decodeProtoMessage(encodeProtoMessage(asString)).content, pod);
  const bytes = new Uint8Array([0xff, 0xfe, 0x00]);
  assertEquals(decodeProtoMessage(encodeProtoMessage({ ...base, content: bytes })).content, bytes);
  assertEquals(contentFromBytes(new TextEncoder().encode("ping")), "ping");
});

Deno.test("a frame built from a shared content's cached bytes is the frame built without", () => {
  const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p<1>", labels: { a: "&" } } };
  const msgs: Message[] = ["n1", "n2"].map((n) => ({
    header: { id: `id-${n}`, timestamp: 7, resourceVersion: "5" },
    route: {
      source: "edgecontroller",
      group: "resource",
      operation: "update",
      resource: "ns/pod/p",
    },
    content: pod,
  }));
  const bytes = sharedContentBytes(pod)!;
  assert(bytes === sharedContentBytes(pod), "encoded once per content object");
  for (const m of msgs) assertEquals(hex(encodeFrame(m, bytes)), hex(encodeFrame(m)));
  assertEquals(sharedContentBytes("OK"), undefined);
  assertEquals(sharedContentBytes(new Uint8Array([1])), undefined);
});

Deno.test("the checked-in .proto is the one loaded", async () => {
  const file = await Deno.readTextFile(
    new URL("../../protocol/proto/message.proto", import.meta.url),
  );
  assertEquals(MESSAGE_PROTO_SOURCE, file);
  assert(file.includes("string Resouce = 4;"));
});

Deno.test("FrameReader: partial reads and several frames per chunk", () => {
  const msgs: Message[] = Array.from({ length: 5 }, (_, i) => ({
    header: { id: `id-${i}`, timestamp: i },
    route: { operation: "keepalive", resource: "node" },
    content: "x".repeat(i * 100),
  }));
  const all = new Uint8Array(msgs.reduce((n, m) => n + encodeFrame(m).length, 0));
  let off = 0;
  for (const m of msgs) {
    const f = encodeFrame(m);
    all.set(f, off);
    off += f.length;
  }
  for (const step of [1, 3, 7, 10, 64, all.length]) {
    const reader = new FrameReader();
    const got: Message[] = [];
    for (let i = 0; i < all.length; i += step) got.push(...reader.push(all.subarray(i, i + step)));
    reader.end();
    assertEquals(got, msgs, `chunk size ${step}`);
  }
});

Deno.test("bad frames: wrong version, unknown type, over the cap, truncated protobuf", () => {
  const frame = encodeFrame(golden);
  const wrongVersion = frame.slice();
  wrongVersion[0] = 0x02;
  let err = assertThrows(() => new FrameReader().push(wrongVersion), ViaductError, "version");
  assertEquals((err as ViaductError).kind, "version");

  const wrongType = frame.slice();
  wrongType[4] = 0x02;
  err = assertThrows(() => new FrameReader().push(wrongType), ViaductError, "package type 0x02");
  assertEquals((err as ViaductError).kind, "type");

  // Only the header is needed to refuse an oversized frame.
  const huge = encodeFrameHeader(0).slice();
  new DataView(huge.buffer).setUint32(6, MAX_FRAME_PAYLOAD + 1);
  err = assertThrows(() => new FrameReader().push(huge), ViaductError, "cap");
  assertEquals((err as ViaductError).kind, "length");
  assertThrows(() => encodeFrameHeader(MAX_FRAME_PAYLOAD + 1), ViaductError, "cap");

  // A body cut short inside the protobuf, with a header claiming exactly that many bytes.
  const body = encodeProtoMessage(golden).subarray(0, 20);
  const cut = new Uint8Array(FRAME_HEADER_SIZE + body.length);
  cut.set(encodeFrameHeader(body.length));
  cut.set(body, FRAME_HEADER_SIZE);
  err = assertThrows(() => new FrameReader().push(cut), ViaductError, "invalid protobuf");
  assertEquals((err as ViaductError).kind, "protobuf");

  // A stream that ends inside a frame.
  const reader = new FrameReader();
  assertEquals(reader.push(frame.subarray(0, 15)), []);
  err = assertThrows(() => reader.end(), ViaductError, "stream ended inside a frame");
  assertEquals((err as ViaductError).kind, "truncated");
});

const hasProtoc = (() => {
  try {
    return new Deno.Command("protoc", { args: ["--version"] }).outputSync().success;
  } catch {
    return false;
  }
})();

async function protoc(args: string[], input: Uint8Array): Promise<Uint8Array> {
  const protoDir = new URL("../../protocol/proto/", import.meta.url).pathname;
  const child = new Deno.Command("protoc", {
    args: [`--proto_path=${protoDir}`, ...args, "message.proto"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(input);
  await w.close();
  const out = await child.output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return out.stdout;
}

Deno.test({
  name: "protoc (a real peer) agrees with our bytes",
  ignore: !hasProtoc,
  async fn() {
    const text =
      'header { ID: "x" Timestamp: -5 Sync: true } router { Resouce: "r" } Content: "OK"';
    const theirs = await protoc(["--encode=message.Message"], new TextEncoder().encode(text));
    const ours = encodeProtoMessage({
      header: { id: "x", timestamp: -5, sync: true },
      route: { resource: "r" },
      content: "OK",
    });
    assertEquals(hex(ours), hex(theirs));
    const decoded = new TextDecoder().decode(
      await protoc(["--decode=message.Message"], unhex(GOLDEN_PROTO)),
    );
    for (
      const line of [
        'ID: "m1"',
        'ParentID: "p1"',
        "Timestamp: 1000",
        'Resouce: "r"',
        'Content: "OK"',
      ]
    ) {
      assert(decoded.includes(line), `protoc output lacks ${line}:\n${decoded}`);
    }
  },
});

const word = fc.stringMatching(/^[a-z][a-z0-9/_.-]{0,15}$/);
const arbContent = fc.oneof(
  fc.constant(null),
  fc.dictionary(
    fc.stringMatching(/^[a-z]{1,8}$/),
    fc.oneof(fc.string(), fc.integer(), fc.boolean()),
    { noNullPrototype: true },
  ),
  fc.array(fc.integer(), { maxLength: 5 }),
  // Strings that are not JSON stay strings (JSON-looking strings come back parsed, documented).
  fc.string().filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  }),
);
const arbMessage: fc.Arbitrary<Message> = fc.record({
  id: word,
  parentId: fc.option(word, { nil: undefined }),
  timestamp: fc.integer({ min: -(2 ** 50), max: 2 ** 50 }),
  sync: fc.option(fc.constant(true), { nil: undefined }),
  source: fc.option(word, { nil: undefined }),
  group: fc.option(word, { nil: undefined }),
  operation: fc.option(word, { nil: undefined }),
  resource: fc.option(word, { nil: undefined }),
  content: arbContent,
}).map((r) => {
  const msg: Message = {
    header: { id: r.id, timestamp: r.timestamp },
    route: {},
    content: r.content,
  };
  if (r.parentId) msg.header.parentId = r.parentId;
  if (r.sync) msg.header.sync = true;
  for (const k of ["source", "group", "operation", "resource"] as const) {
    if (r[k]) msg.route[k] = r[k];
  }
  return msg;
});

Deno.test("property: encode -> any chunking -> FrameReader gives the same messages", () => {
  fc.assert(
    fc.property(
      fc.array(arbMessage, { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 1, max: 97 }),
      (msgs, step) => {
        const frames = msgs.map((m) => encodeFrame(m));
        const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
        let at = 0;
        for (const f of frames) {
          all.set(f, at);
          at += f.length;
        }
        const reader = new FrameReader();
        const got: Message[] = [];
        for (let i = 0; i < all.length; i += step) {
          got.push(
            ...reader.push(all.subarray(i, i + step)),
          );
        }
        reader.end();
        assertEquals(got, msgs);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("property: garbage bodies fail only with ViaductError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (body) => {
      const frame = new Uint8Array(FRAME_HEADER_SIZE + body.length);
      frame.set(encodeFrameHeader(body.length));
      frame.set(body, FRAME_HEADER_SIZE);
      try {
        new FrameReader().push(frame);
      } catch (err) {
        assert(
          err instanceof ViaductError,
          `unexpected ${(err as Error).name}: ${(err as Error).message}`,
        );
      }
    }),
    { numRuns: 2000 },
  );
});

Deno.test("decodeProtoMessage: the all-zero message is the empty message; no ID otherwise refused", () => {
  assertEquals(decodeProtoMessage(new Uint8Array()), emptyMessage());
  assertEquals(decodeProtoMessage(encodeProtoMessage(emptyMessage())), emptyMessage());
  const routed = { ...emptyMessage(), route: { operation: "update" } };
  assertThrows(() => decodeProtoMessage(encodeProtoMessage(routed)), Error, "header has no ID");
});
