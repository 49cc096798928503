import { assertEquals, assertThrows } from "../assert.ts";
import { ApiError } from "../../apiserver/errors.ts";
import {
  allocateClusterIP,
  allocateNodePort,
  clusterIpOf,
  NODE_PORT_RANGE,
} from "../../apiserver/allocators.ts";

Deno.test("allocators: a free value anywhere in the range, scanning past used ones", () => {
  const range = { first: 100, size: 4 };
  // Starting at the last slot, wrapping around to the only free one.
  assertEquals(allocateNodePort(new Set([103, 100, 102]), range, () => 0.99), 101);
  const port = allocateNodePort(new Set());
  assertEquals(port >= NODE_PORT_RANGE.first && port < NODE_PORT_RANGE.first + 2768, true);
  assertEquals(
    allocateClusterIP(new Set([clusterIpOf(10)]), { first: 10, size: 2 }, () => 0),
    clusterIpOf(11),
  );
});

Deno.test("allocators: a full range is kube-apiserver's 500, never a placeholder", () => {
  const range = { first: 100, size: 2 };
  const e = assertThrows(() => allocateNodePort(new Set([100, 101]), range), ApiError) as ApiError;
  assertEquals([e.code, e.message], [
    500,
    "Internal error occurred: failed to allocate a nodePort: range is full",
  ]);
  const ips = new Set([clusterIpOf(10), clusterIpOf(11)]);
  const f = assertThrows(() => allocateClusterIP(ips, { first: 10, size: 2 }), ApiError);
  assertEquals(f.message, "Internal error occurred: failed to allocate a serviceIP: range is full");
});
