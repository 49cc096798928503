import { assertEquals, assertThrows } from "../assert.ts";
import { DEFAULT_DATA_DIR, parseCliArgs, UsageError } from "../../cli/args.ts";

Deno.test("no arguments means serve with defaults", () => {
  assertEquals(parseCliArgs([]), {
    command: "serve",
    config: undefined,
    defaultConfig: false,
    minConfig: false,
    dataDir: DEFAULT_DATA_DIR,
    logLevel: undefined,
    kubeconfig: undefined,
    apiPort: undefined,
    output: undefined,
    mode: 0o600,
    group: undefined,
  });
  assertEquals(DEFAULT_DATA_DIR, "./.edgecloud");
});

Deno.test("kubeconfig: --output, --mode, --group; refused on other commands; bad modes", () => {
  const a = parseCliArgs(["kubeconfig", "--output", "/tmp/k", "--mode", "0640", "--group", "ops"]);
  assertEquals([a.command, a.output, a.mode, a.group], ["kubeconfig", "/tmp/k", 0o640, "ops"]);
  assertThrows(
    () => parseCliArgs(["serve", "--output", "/tmp/k"]),
    UsageError,
    'only for "edgecloud kubeconfig"',
  );
  assertThrows(
    () => parseCliArgs(["kubeconfig", "--mode", "999"]),
    UsageError,
    "not an octal mode",
  );
});

Deno.test("every flag, in both --flag value and --flag=value forms", () => {
  const a = parseCliArgs([
    "serve",
    "--config",
    "/etc/kubeedge/config/cloudcore.yaml",
    "--data-dir=/var/lib/edgecloud",
    "--log-level",
    "debug",
    "--kubeconfig=/root/.kube/config",
    "--api-port",
    "0",
  ]);
  assertEquals(a.command, "serve");
  assertEquals(a.config, "/etc/kubeedge/config/cloudcore.yaml");
  assertEquals(a.dataDir, "/var/lib/edgecloud");
  assertEquals(a.logLevel, "debug");
  assertEquals(a.kubeconfig, "/root/.kube/config");
  assertEquals(a.apiPort, 0);
  assertEquals(parseCliArgs(["--defaultconfig"]).defaultConfig, true);
  assertEquals(parseCliArgs(["--minconfig"]).minConfig, true);
});

Deno.test("commands and their flag forms", () => {
  assertEquals(parseCliArgs(["version"]).command, "version");
  assertEquals(parseCliArgs(["--version"]).command, "version");
  assertEquals(parseCliArgs(["token", "--config", "x.yaml"]).command, "token");
  assertEquals(parseCliArgs(["--help"]).command, "help");
  assertEquals(parseCliArgs(["-h"]).command, "help");
  assertEquals(parseCliArgs(["serve", "--help"]).command, "help");
});

Deno.test("mistakes are one-line UsageErrors", () => {
  const cases: Array<[string[], string]> = [
    [["--bogus"], "unknown flag --bogus"],
    [["--bogus=1"], "unknown flag --bogus"],
    [["-x"], "unknown flag -x"],
    [["edge-sim"], 'unknown command "edge-sim"'],
    [["serve", "extra"], 'unexpected argument "extra"'],
    [["--config"], "flag --config needs a value"],
    [["--config="], "flag --config needs a value"],
    [["--log-level", "trace"], '--log-level "trace" is not one of debug, info, warn, error'],
    [["--api-port", "70000"], '--api-port "70000" is not a port (0-65535)'],
    [["--api-port", "-1"], "flag --api-port needs a value"],
    [["--api-port", "1.5"], '--api-port "1.5" is not a port (0-65535)'],
    [["--defaultconfig=true"], "flag --defaultconfig does not take a value"],
  ];
  for (const [argv, message] of cases) {
    const e = assertThrows(() => parseCliArgs(argv), UsageError);
    assertEquals(e.message, message, argv.join(" "));
  }
});
