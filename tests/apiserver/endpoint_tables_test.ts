/** `kubectl get` cells of Endpoints and EndpointSlices, as kube-apiserver's printers format them. */
import { assertEquals } from "../assert.ts";
import {
  formatEndpoints,
  formatSliceEndpoints,
  formatSlicePorts,
} from "../../apiserver/endpoint_tables.ts";

Deno.test("Endpoints cell: ip:port of ready addresses, three at most, headless without ports", () => {
  assertEquals(formatEndpoints({}), "<none>");
  assertEquals(formatEndpoints({ subsets: [{ notReadyAddresses: [{ ip: "10.0.0.1" }] }] }), "");
  assertEquals(
    formatEndpoints({
      subsets: [{
        addresses: [{ ip: "10.0.0.1" }, { ip: "fd00::1" }],
        ports: [{ port: 80 }, { port: 443 }],
      }],
    }),
    "10.0.0.1:80,[fd00::1]:80,10.0.0.1:443 + 1 more...",
  );
  assertEquals(
    formatEndpoints({ subsets: [{ addresses: [{ ip: "10.0.0.1" }, { ip: "10.0.0.2" }] }] }),
    "10.0.0.1,10.0.0.2",
  );
});

Deno.test("EndpointSlice cells: ports and addresses, three at most, <unset> when empty", () => {
  assertEquals(formatSlicePorts({ ports: null }), "<unset>");
  assertEquals(formatSliceEndpoints({ endpoints: [] }), "<unset>");
  assertEquals(
    formatSlicePorts({ ports: [{ port: 80 }, { name: "dns" }, {}, { port: 1 }, { port: 2 }] }),
    "80,dns,* + 2 more...",
  );
  assertEquals(
    formatSliceEndpoints({
      endpoints: [{ addresses: ["10.0.0.1", "10.0.0.2"] }, { addresses: ["10.0.0.3"] }],
    }),
    "10.0.0.1,10.0.0.2,10.0.0.3",
  );
});
