import { assert } from "../assert.ts";
import { isIpLiteral } from "../../lib/mod.ts";

Deno.test("isIpLiteral: IPv4 and IPv6 literals, not host names", () => {
  for (const ip of ["127.0.0.1", "10.20.30.40", "::1", "fe80::1"]) assert(isIpLiteral(ip), ip);
  for (const host of ["localhost", "cloudcore.example.com", "edge-1"]) {
    assert(!isIpLiteral(host), host);
  }
});
