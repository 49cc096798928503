import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "../assert.ts";
import { fileURLToPath } from "node:url";
import { defaultConfig } from "../../config/defaults.ts";
import { ConfigError } from "../../config/error.ts";
import {
  loadConfig,
  loadConfigWithWarnings,
  parseConfig,
  renderConfig,
} from "../../config/load.ts";
import { validateConfig } from "../../config/validate.ts";

const opts = { hostAddresses: ["192.0.2.10"] };
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

Deno.test("an empty document yields the defaults", () => {
  for (const text of ["", "# nothing\n", "---\n"]) {
    const r = parseConfig(text, "c.yaml", opts);
    assertEquals(r.config, defaultConfig(opts));
    assertEquals(r.warnings, []);
  }
});

Deno.test("omitted fields keep their defaults; given ones replace them", () => {
  const r = parseConfig(
    "modules:\n  cloudHub:\n    websocket:\n      port: 20000\n    dnsNames: [a.example]\n",
    "c.yaml",
    opts,
  );
  const want = defaultConfig(opts);
  want.modules.cloudHub.websocket.port = 20000;
  want.modules.cloudHub.dnsNames = ["a.example"];
  assertEquals(r.config, want);
});

Deno.test("objectSync (an edgecloud extension) takes the fields given and defaults the rest", () => {
  const r = parseConfig(
    "modules:\n  cloudHub:\n    objectSync:\n      successPointQPS: 0\n      successPointDelay: 0\n",
    "c.yaml",
    opts,
  );
  assertEquals(r.warnings, []);
  assertEquals(r.config.modules.cloudHub.objectSync, {
    writeConcurrency: 4,
    successPointDelay: 0,
    successPointQPS: 0,
    successPointBurst: 50,
  });
  validateConfig(r.config, "c.yaml");
  assertMatch(renderConfig(r.config), /# edgecloud extension\n\s+objectSync:/);
});

Deno.test("Helm chart cloudcore.yaml (v1alpha2) loads unchanged and validates", async () => {
  const warnings: string[] = [];
  const cfg = await loadConfig(fixture("cloudcore-helm.yaml"), {
    ...opts,
    onWarning: (w) => warnings.push(w),
  });
  assertEquals(warnings, []);
  assertEquals(cfg.apiVersion, "cloudcore.config.kubeedge.io/v1alpha2");
  assertEquals(cfg.featureGates, { requireAuthorization: false });
  assertEquals(cfg.kubeAPIConfig.qps, 100);
  assertEquals(cfg.kubeAPIConfig.burst, 200);
  const hub = cfg.modules.cloudHub;
  assertEquals(hub.advertiseAddress, ["192.168.56.10"]);
  assertEquals(hub.dnsNames, ["cloudcore.example.com"]);
  assertEquals(hub.nodeLimit, 1000);
  assertEquals(hub.tlsCertFile, "/etc/kubeedge/certs/edge.crt");
  assertEquals(hub.authorization, {
    enable: false,
    debug: true,
    modes: [{ node: { enable: true } }],
  });
  assertEquals(cfg.modules.iptablesManager.mode, "external");
  assertEquals(cfg.modules.cloudStream.tunnelPort, 10004);
  // fields the chart omits keep their defaults
  assertEquals(cfg.modules.edgeController.buffer.queryNode, 1524);
  assertEquals(hub.unixsocket.requestTimeout, 60);
  validateConfig(cfg, "cloudcore-helm.yaml");
});

Deno.test("cloudcore --defaultconfig style file (sorted, capitalised keys) loads unchanged", async () => {
  const { config, warnings } = await loadConfigWithWarnings(
    fixture("cloudcore-keadm-v1alpha1.yaml"),
    { ...opts, onWarning: () => {} },
  );
  assertEquals(warnings, []);
  const load = config.modules.edgeController.load;
  assertEquals(load.CreatePodWorks, 4);
  assertEquals(load.ServiceAccountTokenWorkers, 100);
  assertEquals(load.queryNodeWorkers, 2000);
  assertEquals(config.modules.edgeController.buffer.createLease, 3024);
  assertEquals(config.modules.cloudHub.nodeLimit, 2000);
  assertEquals(config.modules.cloudHub.advertiseAddress, ["10.20.30.40"]);
  validateConfig(config, "cloudcore.yaml");
});

Deno.test("unknown keys warn (returned and reported), never fail", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/cloudcore.yaml`;
    await Deno.writeTextFile(
      path,
      "metadata: {name: x}\nmodules:\n  cloudHub:\n    fooBar: 1\n    authorization:\n      modes:\n      - node: {enable: true}\n        other: 1\n",
    );
    const seen: string[] = [];
    const r = await loadConfigWithWarnings(path, { ...opts, onWarning: (w) => seen.push(w) });
    assertEquals(r.warnings, [
      `${path}: unknown field metadata (ignored)`,
      `${path}: unknown field modules.cloudHub.fooBar (ignored)`,
      `${path}: unknown field modules.cloudHub.authorization.modes[0].other (ignored)`,
    ]);
    assertEquals(seen, r.warnings);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("keys match case-insensitively, as Go's encoding/json does", () => {
  const r = parseConfig(
    "Modules:\n  CloudHub:\n    NodeLimit: 42\n    WebSocket: {Port: 1234}\n  edgeController:\n    load: {updateRuleStatusWorkers: 9}\n",
    "c.yaml",
    opts,
  );
  assertEquals(r.warnings, []);
  assertEquals(r.config.modules.cloudHub.nodeLimit, 42);
  assertEquals(r.config.modules.cloudHub.websocket.port, 1234);
  assertEquals(r.config.modules.edgeController.load.UpdateRuleStatusWorkers, 9);
});

Deno.test("apiVersion v1alpha1 and v1alpha2 are accepted; others warn", () => {
  for (const v of ["v1alpha1", "v1alpha2"]) {
    const r = parseConfig(
      `apiVersion: cloudcore.config.kubeedge.io/${v}\nkind: CloudCore\n`,
      "c",
      opts,
    );
    assertEquals(r.warnings, []);
    assertEquals(r.config.apiVersion, `cloudcore.config.kubeedge.io/${v}`);
  }
  const r = parseConfig(
    "apiVersion: edgecore.config.kubeedge.io/v1alpha2\nkind: EdgeCore\n",
    "c",
    opts,
  );
  assertEquals(r.warnings.length, 2);
  assertMatch(r.warnings[0], /apiVersion "edgecore.config.kubeedge.io\/v1alpha2"/);
  assertMatch(r.warnings[1], /kind "EdgeCore" is not CloudCore/);
});

Deno.test("YAML 1.1 booleans (yes/on) are read as cloudcore's go-yaml v2 reads them", () => {
  const r = parseConfig(
    "modules:\n  dynamicController: {enable: yes}\n  router: {enable: on}\n",
    "c",
    opts,
  );
  assertEquals(r.config.modules.dynamicController.enable, true);
  assertEquals(r.config.modules.router.enable, true);
});

Deno.test("null values keep defaults; featureGates merge", () => {
  const r = parseConfig(
    "modules:\n  cloudHub:\n    advertiseAddress:\n    websocket:\nfeatureGates:\n  requireAuthorization: true\n",
    "c",
    opts,
  );
  assertEquals(r.config.modules.cloudHub.advertiseAddress, ["192.0.2.10"]);
  assertEquals(r.config.modules.cloudHub.websocket.port, 10000);
  assertEquals(r.config.featureGates, { requireAuthorization: true });
});

Deno.test("listed authorization modes start from Go zero values", () => {
  const r = parseConfig(
    "modules:\n  cloudHub:\n    authorization:\n      modes:\n      - node: {}\n      - {}\n",
    "c",
    opts,
  );
  assertEquals(r.config.modules.cloudHub.authorization.modes, [
    { node: { enable: false } },
    {},
  ]);
  assertEquals(r.config.modules.cloudHub.authorization.enable, true);
});

Deno.test("malformed YAML names the file, line and column on one line", () => {
  const cases: Array<[string, string]> = [
    [
      "modules:\n  cloudHub:\n    nodeLimit: 1\n   bad: [\n",
      "cloudcore.yaml:4:1: malformed YAML: All mapping items must start at the same column",
    ],
    ["a: 1\na: 2\n", "cloudcore.yaml:2:1: malformed YAML: Map keys must be unique"],
    [
      "modules:\n\tcloudHub: {}\n",
      "cloudcore.yaml:2:1: malformed YAML: Tabs are not allowed as indentation",
    ],
  ];
  for (const [text, message] of cases) {
    let caught: unknown;
    try {
      parseConfig(text, "cloudcore.yaml", opts);
    } catch (e) {
      caught = e;
    }
    assert(caught instanceof ConfigError, String(caught));
    assertEquals(caught.message, message);
    assertEquals(caught.file, "cloudcore.yaml");
    const [, line, column] = /^cloudcore\.yaml:(\d+):(\d+):/.exec(message)!;
    assertEquals(caught.line, Number(line));
    assertEquals(caught.column, Number(column));
  }
});

Deno.test("wrongly typed values are one-line errors naming file, field and value", () => {
  const cases: Array<[string, string]> = [
    [
      "modules:\n  cloudHub:\n    nodeLimit: lots\n",
      'c.yaml: modules.cloudHub.nodeLimit: "lots" is not a number',
    ],
    [
      'modules:\n  cloudHub:\n    websocket:\n      port: "10000"\n',
      'c.yaml: modules.cloudHub.websocket.port: "10000" is not a number',
    ],
    [
      "modules:\n  cloudHub:\n    nodeLimit: 1.5\n",
      "c.yaml: modules.cloudHub.nodeLimit: 1.5 is not an integer",
    ],
    [
      'modules:\n  cloudHub:\n    enable: "true"\n',
      'c.yaml: modules.cloudHub.enable: "true" is not a boolean',
    ],
    ["kubeAPIConfig:\n  kubeConfig: 5\n", "c.yaml: kubeAPIConfig.kubeConfig: 5 is not a string"],
    [
      "modules:\n  cloudHub:\n    dnsNames: a.example\n",
      'c.yaml: modules.cloudHub.dnsNames: "a.example" is not a list',
    ],
    [
      "modules:\n  cloudHub:\n    advertiseAddress: [1.2.3.4, 5]\n",
      "c.yaml: modules.cloudHub.advertiseAddress[1]: 5 is not a string",
    ],
    ["modules: 3\n", "c.yaml: modules: 3 is not a mapping"],
    ["- a\n", 'c.yaml: (top level): ["a"] is not a mapping'],
    ["featureGates:\n  x: maybe\n", 'c.yaml: featureGates.x: "maybe" is not a boolean'],
  ];
  for (const [text, message] of cases) {
    const e = assertThrows(() => parseConfig(text, "c.yaml", opts), ConfigError);
    assertEquals(e.message, message);
  }
});

Deno.test("a missing file is a ConfigError naming it", async () => {
  const e = await assertRejects(
    () => loadConfig("/nonexistent/cloudcore.yaml", opts),
    ConfigError,
  );
  assertEquals(e.message, "/nonexistent/cloudcore.yaml: file not found");
});

Deno.test("renderConfig output parses back into the same config", () => {
  const cfg = defaultConfig(opts);
  cfg.modules.cloudHub.dnsNames = ["on", "yes", "", "a.example"];
  cfg.featureGates = { requireAuthorization: true };
  const text = renderConfig(cfg);
  assertMatch(text, /# edgecloud extension\n\s+requestTimeout: 60/);
  const r = parseConfig(text, "rendered.yaml", { hostAddresses: ["203.0.113.9"] });
  assertEquals(r.warnings, []);
  assertEquals(r.config, cfg);
});
