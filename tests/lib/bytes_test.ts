import { assertEquals } from "../assert.ts";
import { concat, decodeBase64, decodeBase64Url, encodeBase64 } from "../../lib/mod.ts";

Deno.test("bytes: base64 round-trips, including values past one 32 KiB slice", () => {
  for (const n of [0, 1, 2, 3, 0x8000, 0x8000 * 2 + 5]) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 31) & 0xff);
    const text = encodeBase64(bytes);
    if (n < 1000) assertEquals(text, btoa(String.fromCharCode(...bytes)));
    assertEquals(decodeBase64(text), bytes);
  }
  assertEquals(encodeBase64(new TextEncoder().encode("hello")), "aGVsbG8=");
});

Deno.test("bytes: base64url decodes without padding", () => {
  assertEquals(decodeBase64Url("-_8"), new Uint8Array([0xfb, 0xff]));
});

Deno.test("bytes: concat joins chunks in order", () => {
  assertEquals(concat([]), new Uint8Array(0));
  assertEquals(
    concat([new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3])]),
    new Uint8Array([1, 2, 3]),
  );
});
