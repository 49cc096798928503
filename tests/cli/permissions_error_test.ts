import { assertEquals } from "../assert.ts";
import { isPermissionError, permissionErrorLine } from "../../cli/permissions_error.ts";
import { startupErrorLine } from "../../cli/startup_error.ts";
import { UsageError } from "../../cli/args.ts";
import { fieldError } from "../../config/error.ts";

Deno.test("Deno NotCapable errors name the permission and the exact flag", () => {
  const cases: Array<[string, string]> = [
    [
      'Requires write access to "/x/data", run again with the --allow-write flag',
      "permission denied: write access to /x/data; run with --allow-write=/x/data",
    ],
    [
      'Requires net access to "0.0.0.0:10000", run again with the --allow-net flag',
      "permission denied: net access to 0.0.0.0:10000; run with --allow-net=0.0.0.0:10000",
    ],
    [
      'Requires sys access to "networkInterfaces", run again with the --allow-sys flag',
      "permission denied: sys access to networkInterfaces; run with --allow-sys=networkInterfaces",
    ],
    [
      "Requires env access, run again with the --allow-env flag",
      "permission denied: env access; run with --allow-env",
    ],
  ];
  for (const [message, line] of cases) {
    assertEquals(permissionErrorLine(new Deno.errors.NotCapable(message)), line);
  }
});

Deno.test("OS permission errors and other errors", () => {
  const os = new Deno.errors.PermissionDenied("Permission denied (os error 13): mkdir '/root/x'");
  assertEquals(
    permissionErrorLine(os),
    "permission denied: Permission denied (os error 13): mkdir '/root/x'",
  );
  assertEquals(permissionErrorLine(new Error("x")), undefined);
  assertEquals(isPermissionError(new TypeError("x")), false);
});

Deno.test("startupErrorLine gives one line with the edgecloud prefix and no stack", () => {
  assertEquals(
    startupErrorLine(
      fieldError("c.yaml", "modules.cloudHub.nodeLimit", -1, "must not be negative"),
    ),
    "edgecloud: c.yaml: modules.cloudHub.nodeLimit: -1 must not be negative",
  );
  assertEquals(startupErrorLine(new UsageError("unknown flag --x")), "edgecloud: unknown flag --x");
  assertEquals(
    startupErrorLine(
      new Deno.errors.NotCapable(
        'Requires read access to "/a", run again with the --allow-read flag',
      ),
    ),
    "edgecloud: permission denied: read access to /a; run with --allow-read=/a",
  );
  assertEquals(
    startupErrorLine(new Deno.errors.AddrInUse("Address already in use (os error 98)")),
    "edgecloud: address in use: Address already in use (os error 98)",
  );
  assertEquals(startupErrorLine(new Error("first\nsecond")), "edgecloud: first second");
  assertEquals(startupErrorLine("plain"), "edgecloud: plain");
});

Deno.test("startupErrorLine names the unstable flag an absent API needs", () => {
  assertEquals(
    startupErrorLine(new TypeError("Deno.openKv is not a function")),
    "edgecloud: the embedded API stores its objects in Deno KV: run with --unstable-kv (or use --kubeconfig)",
  );
  assertEquals(
    startupErrorLine(new TypeError("Deno.QuicEndpoint is not a constructor")),
    "edgecloud: QUIC and systemd notifications need --unstable-net",
  );
});
