/**
 * main.ts as a real subprocess: exit codes and exactly what lands on stdout/stderr.
 */
import { assert, assertEquals, assertMatch } from "../assert.ts";
import denoJson from "../../deno.json" with { type: "json" };
import { defaultConfig } from "../../config/defaults.ts";
import { parseConfig } from "../../config/load.ts";
import { ROOT, runMain, RunningMain, writeTestConfig } from "./subprocess.ts";

const MAIN_DIR = ROOT.replace(/\/$/, "");
const lines = (text: string) => text.split("\n").filter((l) => l !== "");

Deno.test("version prints the deno.json version and the Deno version", async () => {
  const r = await runMain(["version"]);
  assertEquals(r.code, 0);
  assertEquals(
    r.stdout,
    `edgecloud ${denoJson.version} (KubeEdge cloudcore compatible, deno ${Deno.version.deno})\n`,
  );
  assertEquals(r.stderr, "");
});

Deno.test("--defaultconfig prints YAML that parses back into the same config", async () => {
  const r = await runMain(["--defaultconfig"]);
  assertEquals(r.code, 0);
  assertEquals(r.stderr, "");
  const parsed = parseConfig(r.stdout, "defaultconfig.yaml");
  assertEquals(parsed.warnings, []);
  assertEquals(parsed.config, defaultConfig());
  assertMatch(
    r.stdout,
    /^apiVersion: cloudcore\.config\.kubeedge\.io\/v1alpha1\nkind: CloudCore\n/,
  );
});

Deno.test("--defaultconfig output is accepted by --config as-is", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const printed = await runMain(["--defaultconfig"]);
    await Deno.writeTextFile(`${dir}/cloudcore.yaml`, printed.stdout);
    // `token` resolves and validates the config, then fails cheaply: no hub state in the dir.
    const data = `${dir}/data`;
    const r = await runMain(["token", "--config", `${dir}/cloudcore.yaml`, "--data-dir", data]);
    assertEquals(r.code, 1);
    assertEquals(lines(r.stderr), [
      `edgecloud: no embedded API state in ${data} (${data}/kubeconfig.yaml is missing): start "edgecloud serve" first`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--minconfig prints cloudcore's minimal document, which loads without warnings", async () => {
  const r = await runMain(["--minconfig"]);
  assertEquals(r.code, 0);
  assertEquals(r.stderr, "");
  const parsed = parseConfig(r.stdout, "minconfig.yaml");
  assertEquals(parsed.warnings, []);
  assertEquals(parsed.config.modules.cloudHub.nodeLimit, 1000);
  assert(!r.stdout.includes("edgeController"));
});

Deno.test("an unknown flag is one line on stderr and exit 2", async () => {
  for (
    const args of [["--bogus"], ["serve", "--no-such-flag=1"], ["frobnicate"], ["--api-port", "x"]]
  ) {
    const r = await runMain(args);
    assertEquals(r.code, 2, args.join(" "));
    assertEquals(r.stdout, "");
    assertEquals(lines(r.stderr).length, 1, r.stderr);
    assertMatch(r.stderr, /^edgecloud: .* \(see edgecloud --help\)\n$/);
  }
  const r = await runMain(["--bogus"]);
  assertEquals(r.stderr, "edgecloud: unknown flag --bogus (see edgecloud --help)\n");
});

Deno.test("--help prints usage listing every flag", async () => {
  const r = await runMain(["--help"]);
  assertEquals(r.code, 0);
  for (
    const flag of [
      "--config",
      "--defaultconfig",
      "--minconfig",
      "--data-dir",
      "--log-level",
      "--kubeconfig",
      "--api-port",
    ]
  ) {
    assert(r.stdout.includes(flag), flag);
  }
});

Deno.test("every config error exits 1 with one stderr line naming file, field and value", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: Array<[string, string]> = [
      [
        "modules:\n  cloudHub:\n    websocket: {port: 70000}\n",
        "modules.cloudHub.websocket.port: 70000 is not a valid port (0-65535)",
      ],
      [
        "modules:\n  cloudHub:\n    https: {port: -5}\n",
        "modules.cloudHub.https.port: -5 is not a valid port (0-65535)",
      ],
      [
        "modules:\n  cloudHub:\n    quic: {port: 123456}\n",
        "modules.cloudHub.quic.port: 123456 is not a valid port (0-65535)",
      ],
      [
        "modules:\n  cloudHub:\n    websocket: {address: my-host}\n",
        'modules.cloudHub.websocket.address: "my-host" is not a valid IP',
      ],
      [
        "modules:\n  cloudHub:\n    quic: {address: 1.2.3}\n",
        'modules.cloudHub.quic.address: "1.2.3" is not a valid IP',
      ],
      [
        "modules:\n  cloudHub:\n    unixsocket: {address: /tmp/ke.sock}\n",
        'modules.cloudHub.unixsocket.address: "/tmp/ke.sock" must start with unix://',
      ],
      [
        "modules:\n  cloudHub:\n    nodeLimit: -1\n",
        "modules.cloudHub.nodeLimit: -1 must not be negative",
      ],
      [
        "modules:\n  cloudHub:\n    tokenRefreshDuration: 0\n",
        "modules.cloudHub.tokenRefreshDuration: 0 must be greater than 0",
      ],
      [
        "modules:\n  edgeController:\n    nodeUpdateFrequency: -10\n",
        "modules.edgeController.nodeUpdateFrequency: -10 must be greater than 0",
      ],
      [
        "kubeAPIConfig:\n  kubeConfig: kube/config\n",
        'kubeAPIConfig.kubeConfig: "kube/config" is not an absolute path',
      ],
      [
        "kubeAPIConfig:\n  kubeConfig: /nonexistent/kubeconfig\n",
        'kubeAPIConfig.kubeConfig: "/nonexistent/kubeconfig" does not exist',
      ],
      [
        "modules:\n  cloudHub:\n    advertiseAddress: []\n",
        "modules.cloudHub.advertiseAddress: [] must list at least one address",
      ],
      [
        'modules:\n  cloudHub:\n    nodeLimit: "1000"\n',
        'modules.cloudHub.nodeLimit: "1000" is not a number',
      ],
      [
        "modules:\n  cloudHub:\n    websocket: {port: ten}\n",
        'modules.cloudHub.websocket.port: "ten" is not a number',
      ],
      [
        "modules:\n  iptablesManager: {mode: both}\n",
        'modules.iptablesManager.mode: "both" is not internal or external',
      ],
    ];
    for (const [i, [yaml, expected]] of cases.entries()) {
      const file = `${dir}/cloudcore-${i}.yaml`;
      await Deno.writeTextFile(file, yaml);
      const r = await runMain(["serve", "--config", file, "--data-dir", `${dir}/data`]);
      assertEquals(r.code, 1, expected);
      assertEquals(r.stdout, "");
      assertEquals(r.stderr, `edgecloud: ${file}: ${expected}\n`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("malformed YAML exits 1 with file:line:column on one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/cloudcore.yaml`;
    await Deno.writeTextFile(file, "modules:\n  cloudHub:\n    nodeLimit: 1\n  - oops\n");
    const r = await runMain(["--config", file, "--data-dir", `${dir}/data`]);
    assertEquals(r.code, 1);
    assertEquals(lines(r.stderr).length, 1, r.stderr);
    assertMatch(r.stderr, new RegExp(`^edgecloud: ${file}:4:\\d+: malformed YAML: `));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing --config file exits 1 naming it", async () => {
  const r = await runMain(["--config", "/nonexistent/cloudcore.yaml"]);
  assertEquals(r.code, 1);
  assertEquals(r.stderr, "edgecloud: /nonexistent/cloudcore.yaml: file not found\n");
});

Deno.test("a flag value that fails validation names the flag", async () => {
  const r = await runMain(["--kubeconfig", "/nonexistent/kubeconfig"]);
  assertEquals(r.code, 1);
  assertEquals(
    r.stderr,
    'edgecloud: --kubeconfig: kubeAPIConfig.kubeConfig: "/nonexistent/kubeconfig" does not exist\n',
  );
});

Deno.test("a denied permission exits 1 with one line naming the flag to add", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = `${dir}/data`;
    const r = await runMain(["serve", "--data-dir", data], ["run", `--allow-read=${MAIN_DIR}`]);
    assertEquals(r.code, 1);
    assertEquals(
      r.stderr,
      `edgecloud: permission denied: write access to ${data}; run with --allow-write=${data}\n`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`serve shuts down gracefully on ${signal} and exits 0`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const config = await writeTestConfig(dir);
      const proc = new RunningMain(["serve", "--config", config, "--data-dir", `${dir}/data`]);
      await proc.waitForLine("edgecloud ready");
      assert((await Deno.stat(`${dir}/data`)).isDirectory);
      proc.child.kill(signal);
      const status = await proc.finish();
      assertEquals(status.code, 0, proc.lines.join("\n"));
      assert(
        proc.lines.some((l) => l.includes(`shutting down reason=${signal}`)),
        proc.lines.join("\n"),
      );
      assert(proc.lines.some((l) => l.includes("edgecloud stopped")));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("--log-level error silences the info lines", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // token resolves the config and fails: the only output is the error line.
    const file = `${dir}/c.yaml`;
    await Deno.writeTextFile(file, "unknownTop: 1\n");
    const none = `${dir}/none`;
    const quiet = await runMain([
      "token",
      "--config",
      file,
      "--data-dir",
      none,
      "--log-level",
      "error",
    ]);
    assertEquals(lines(quiet.stderr).length, 1, quiet.stderr);
    const loud = await runMain(["token", "--config", file, "--data-dir", none]);
    assert(loud.stderr.includes("unknown field unknownTop (ignored)"), loud.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("edge-sim is a subcommand: usage errors exit 2 with one line", async () => {
  const r = await runMain(["edge-sim", "--nodes", "1"]);
  assertEquals(r.code, 2, r.stderr);
  assertEquals(lines(r.stderr), [
    "edge-sim: --server HOST:PORT is required (see edgecloud edge-sim --help)",
  ]);
  const help = await runMain(["edge-sim", "--help"]);
  assertEquals(help.code, 0);
  assertMatch(help.stdout, /^usage: edgecloud edge-sim /);
});
