import { assertEquals, assertThrows } from "../assert.ts";
import fc from "fast-check";
import {
  buildMessage,
  cloneMessage,
  decodeMessage,
  emptyMessage,
  encodeMessage,
  getContentData,
  getContentJson,
  goJsonStringify,
  isEmptyMessage,
  type Message,
  MessageDecodeError,
  type MessageEnv,
  newErrorMessage,
  newMessage,
  newRespByMessage,
  toWireObject,
} from "../../modules/message.ts";

function fixedEnv(ids: string[], now = 1722900000000): MessageEnv {
  let i = 0;
  return { now: () => now, newId: () => ids[i++] ?? `id-${i}` };
}

// docs/protocol.md §1.8 golden wire examples.
const KEEPALIVE =
  `{"header":{"msg_id":"u1","timestamp":1722900000000},"route":{"source":"websocket","group":"resource","operation":"keepalive","resource":"node"},"content":"ping"}`;
const POD_INSERT =
  `{"header":{"msg_id":"u2","timestamp":1722900000001,"resourceversion":"4711"},"route":{"source":"edgecontroller","group":"resource","operation":"insert","resource":"default/pod/nginx"},"content":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"nginx","namespace":"default","uid":"c7399134-f4fb-43e6-8088-c273bfffe7af","resourceVersion":"4711"},"spec":{"nodeName":"edge-1"},"status":{}}}`;
const POD_ACK =
  `{"header":{"msg_id":"u3","parent_msg_id":"u2","timestamp":1722900000002},"route":{"source":"edgecontroller","group":"resource","operation":"response","resource":"default/pod/nginx"},"content":"OK"}`;

Deno.test("golden: keepalive, pod insert and ACK round-trip byte for byte", () => {
  for (const wire of [KEEPALIVE, POD_INSERT, POD_ACK]) {
    assertEquals(encodeMessage(decodeMessage(wire)), wire);
  }
});

Deno.test("golden: the edge ACK built by newRespByMessage matches §1.8", () => {
  const insert = decodeMessage(POD_INSERT);
  const ack = newRespByMessage(insert, "OK", fixedEnv(["u3"], 1722900000002));
  assertEquals(encodeMessage(ack), POD_ACK);
});

Deno.test("encode: route is always emitted, content null when absent, omitempty header keys", () => {
  const msg = newMessage("", fixedEnv(["a"], 5));
  assertEquals(
    encodeMessage(msg),
    `{"header":{"msg_id":"a","timestamp":5},"route":{},"content":null}`,
  );
  msg.header.sync = true;
  msg.header.type = "channel";
  msg.header.parentId = "p";
  msg.header.resourceVersion = "9";
  msg.route = { source: "s", destination: "d", group: "g", operation: "o", resource: "r" };
  assertEquals(
    encodeMessage(msg),
    `{"header":{"msg_id":"a","parent_msg_id":"p","timestamp":5,"resourceversion":"9","sync":true,"type":"channel"},"route":{"source":"s","destination":"d","group":"g","operation":"o","resource":"r"},"content":null}`,
  );
});

Deno.test("encode: HTML characters escaped like Go encoding/json; bytes become base64", () => {
  assertEquals(goJsonStringify({ a: "<b>&\u2028" }), `{"a":"\\u003cb\\u003e\\u0026\\u2028"}`);
  assertEquals(goJsonStringify(new Uint8Array([1, 2, 3])), `"AQID"`);
  const msg = buildMessage({ operation: "x" }, new Uint8Array([104, 105]), {
    env: fixedEnv(["b"], 1),
  });
  assertEquals(
    encodeMessage(msg),
    `{"header":{"msg_id":"b","timestamp":1},"route":{"operation":"x"},"content":"aGk="}`,
  );
});

Deno.test("decode: keys match case-insensitively like Go; unknown keys ignored", () => {
  const msg = decodeMessage(
    `{"Header":{"MSG_ID":"x","Parent_Msg_Id":"p","TimeStamp":7,"ResourceVersion":"3","extra":1},"ROUTE":{"Source":"edged","Operation":"update"},"Content":{"a":1},"junk":true}`,
  );
  assertEquals(msg.header, { id: "x", parentId: "p", timestamp: 7, resourceVersion: "3" });
  assertEquals(msg.route, { source: "edged", operation: "update" });
  assertEquals(msg.content, { a: 1 });
});

Deno.test("decode: an exact key wins over a case-insensitive one, else the first such key", () => {
  const msg = decodeMessage(
    `{"header":{"MSG_ID":"a","msg_id":"b","Type":"t1","TYPE":"t2"},"Route":{"OPERATION":"x"},"route":{"operation":"y"}}`,
  );
  assertEquals(msg.header, { id: "b", timestamp: 0, type: "t1" });
  assertEquals(msg.route, { operation: "y" });
});

Deno.test("decode: bytes input and missing content", () => {
  const msg = decodeMessage(new TextEncoder().encode(`{"header":{"msg_id":"x"},"route":{}}`));
  assertEquals(msg.content, null);
  assertEquals(msg.header.timestamp, 0);
});

Deno.test("decode: rejects what is not a message with a typed error", () => {
  const bad = [
    "not json",
    "[1,2]",
    "42",
    "null",
    `{"route":{}}`,
    `{"header":{"msg_id":""},"route":{"operation":"update"}}`,
    `{"header":{},"route":{},"content":"x"}`,
    `{"header":{"msg_id":"x"}}`,
    `{"header":{"msg_id":"x","timestamp":"now"},"route":{}}`,
    `{"header":{"msg_id":"x","timestamp":1.5},"route":{}}`,
    `{"header":{"msg_id":"x","sync":"yes"},"route":{}}`,
    `{"header":{"msg_id":"x"},"route":{"operation":5}}`,
    `{"header":{"msg_id":7},"route":{}}`,
  ];
  for (const b of bad) assertThrows(() => decodeMessage(b), MessageDecodeError);
});

Deno.test("decode: the zero-value message edgecore sends is returned as the empty message", () => {
  for (
    const zero of [
      `{"header":{"msg_id":"","timestamp":0},"route":{},"content":null}`,
      `{"header":{},"route":{}}`,
      `{"header":{"msg_id":""},"route":{"source":""}}`,
    ]
  ) {
    const msg = decodeMessage(zero);
    assertEquals(msg, emptyMessage());
    assertEquals(isEmptyMessage(msg), true);
  }
  assertEquals(isEmptyMessage(decodeMessage(`{"header":{"msg_id":"x"},"route":{}}`)), false);
});

Deno.test("builders: NewRespByMessage copies source/group/resource/type, NewErrorMessage drops source/group", () => {
  const req = buildMessage(
    { source: "edged", group: "meta", operation: "query", resource: "default/configmap/c" },
    null,
    { env: fixedEnv(["req"]) },
  );
  req.header.type = "channel";
  const resp = newRespByMessage(req, { x: 1 }, fixedEnv(["resp"], 2));
  assertEquals(resp.header, { id: "resp", parentId: "req", timestamp: 2, type: "channel" });
  assertEquals(resp.route, {
    source: "edged",
    group: "meta",
    operation: "response",
    resource: "default/configmap/c",
  });
  const err = newErrorMessage(req, "boom", fixedEnv(["err"], 3));
  assertEquals(err.route, { operation: "error", resource: "default/configmap/c" });
  assertEquals(err.content, "boom");
  assertEquals(err.header.parentId, "req");
  const clone = cloneMessage(resp, fixedEnv(["clone"]));
  assertEquals(clone.header.id, "clone");
  assertEquals(clone.header.parentId, "req");
  assertEquals(clone.route, resp.route);
});

Deno.test("content helpers: string JSON, object, bytes", () => {
  const m = buildMessage({}, `{"status":{"phase":"Running"}}`);
  assertEquals(getContentJson(m), { status: { phase: "Running" } });
  assertEquals(new TextDecoder().decode(getContentData(m)), `{"status":{"phase":"Running"}}`);
  m.content = { a: "<" };
  assertEquals(new TextDecoder().decode(getContentData(m)), `{"a":"\\u003c"}`);
  m.content = "not json";
  assertThrows(() => getContentJson(m), MessageDecodeError);
  m.content = new TextEncoder().encode(`[1]`);
  assertEquals(getContentJson(m), [1]);
});

Deno.test("newMessage uses UUID v4 ids and ms timestamps by default", () => {
  const before = Date.now();
  const m = newMessage();
  assertEquals(
    /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(m.header.id),
    true,
  );
  assertEquals(m.header.timestamp >= before && m.header.timestamp <= Date.now(), true);
});

Deno.test("encodeMessage writes exactly json.Marshal of the wire object, for any message", () => {
  const str = fc.oneof(fc.constant(""), fc.string(), fc.constantFrom("<a&b>", "\u2028", "é✓"));
  const content = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.string(),
    fc.uint8Array({ maxLength: 40 }),
    fc.jsonValue(),
    fc.record({ metadata: fc.record({ name: str, uid: str }), data: fc.dictionary(str, str) }),
  );
  fc.assert(
    fc.property(
      fc.record({
        id: str,
        parentId: str,
        timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
        resourceVersion: str,
        sync: fc.boolean(),
        type: str,
      }),
      fc.record({ source: str, destination: str, group: str, operation: str, resource: str }),
      content,
      (header, route, c) => {
        const msg = { header, route, content: c } as Message;
        const text = encodeMessage(msg);
        assertEquals(text, goJsonStringify(toWireObject(msg)));
        JSON.parse(text);
        // The hub passes a shared content's JSON, escaped once (hub/websocket.ts).
        assertEquals(encodeMessage(msg, goJsonStringify(c)), text);
      },
    ),
    { numRuns: 500 },
  );
});
