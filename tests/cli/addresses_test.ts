/**
 * cli/addresses.ts spells out the hub's default CSI socket rule so the launcher need not load the
 * hub (issue 23: every `deno task start` runs the launcher first); this keeps the two equal.
 */
import { assertEquals } from "../assert.ts";
import { splitHostPort, udsAddress } from "../../cli/addresses.ts";
import { DEFAULT_UNIX_SOCKET, defaultConfig } from "../../config/mod.ts";
import { DEFAULT_UDS_ADDRESS, defaultUdsAddress } from "../../hub/mod.ts";

Deno.test("addresses: the CSI socket default is the hub's, in the data dir without a config file", () => {
  assertEquals(DEFAULT_UNIX_SOCKET, DEFAULT_UDS_ADDRESS);
  const config = defaultConfig({ hostAddresses: ["127.0.0.1"] });
  for (const dataDir of ["/srv/ec", "/srv/ec/", "./.edgecloud"]) {
    assertEquals(udsAddress({ config, dataDir }), defaultUdsAddress(dataDir));
  }
  assertEquals(
    udsAddress({ config, configFile: "/etc/c.yaml", dataDir: "/x" }),
    DEFAULT_UDS_ADDRESS,
  );
  assertEquals(splitHostPort("127.0.0.1:0", 9091), { host: "127.0.0.1", port: 0 });
  assertEquals(splitHostPort("[::1]:9091", 1), { host: "::1", port: 9091 });
  assertEquals(splitHostPort("", 9091), { host: "127.0.0.1", port: 9091 });
});
