import assert from "node:assert/strict";
import { DEFAULT_DATA_DIR, parseCliArgs, UsageError } from "../../cli/args.ts";

Deno.test("no arguments means serve with defaults", () => {
  assert.deepEqual(parseCliArgs([]), {
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
  assert.equal(DEFAULT_DATA_DIR, "./.edgecloud");
});

Deno.test("kubeconfig: --output, --mode, --group; refused on other commands; bad modes", () => {
  const a = parseCliArgs(["kubeconfig", "--output", "/tmp/k", "--mode", "0640", "--group", "ops"]);
  assert.deepEqual([a.command, a.output, a.mode, a.group], ["kubeconfig", "/tmp/k", 0o640, "ops"]);
  assert.throws(
    () => parseCliArgs(["serve", "--output", "/tmp/k"]),
    /only for "edgecloud kubeconfig"/,
  );
  assert.throws(() => parseCliArgs(["kubeconfig", "--mode", "999"]), /not an octal mode/);
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
  assert.equal(a.command, "serve");
  assert.equal(a.config, "/etc/kubeedge/config/cloudcore.yaml");
  assert.equal(a.dataDir, "/var/lib/edgecloud");
  assert.equal(a.logLevel, "debug");
  assert.equal(a.kubeconfig, "/root/.kube/config");
  assert.equal(a.apiPort, 0);
  assert.equal(parseCliArgs(["--defaultconfig"]).defaultConfig, true);
  assert.equal(parseCliArgs(["--minconfig"]).minConfig, true);
});

Deno.test("commands and their flag forms", () => {
  assert.equal(parseCliArgs(["version"]).command, "version");
  assert.equal(parseCliArgs(["--version"]).command, "version");
  assert.equal(parseCliArgs(["token", "--config", "x.yaml"]).command, "token");
  assert.equal(parseCliArgs(["--help"]).command, "help");
  assert.equal(parseCliArgs(["-h"]).command, "help");
  assert.equal(parseCliArgs(["serve", "--help"]).command, "help");
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
    assert.throws(() => parseCliArgs(argv), (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.equal(e.message, message, argv.join(" "));
      return true;
    });
  }
});
