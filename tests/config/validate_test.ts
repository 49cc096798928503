import { assert, assertEquals, assertThrows } from "../assert.ts";
import { defaultConfig } from "../../config/defaults.ts";
import { parseConfig } from "../../config/load.ts";
import { ConfigError, configErrors, validateConfig } from "../../config/validate.ts";

const opts = { hostAddresses: ["192.0.2.10"] };
const noFiles = { fileExists: () => false };

/** Loads `yaml` over the defaults and returns the first validation message. */
function firstError(
  yaml: string,
  fileExists: (path: string) => boolean = noFiles.fileExists,
): string | undefined {
  const { config } = parseConfig(yaml, "cloudcore.yaml", opts);
  const errors = configErrors(config, "cloudcore.yaml", { fileExists });
  return errors[0]?.message;
}

Deno.test("the defaults are valid", () => {
  assertEquals(configErrors(defaultConfig(opts), "x", noFiles), []);
  validateConfig(defaultConfig(opts), "x", noFiles);
});

Deno.test("each validation rule yields one line naming file, field path and value", () => {
  const cases: Array<[string, string]> = [
    [
      "modules:\n  cloudHub:\n    websocket:\n      port: 70000\n",
      "cloudcore.yaml: modules.cloudHub.websocket.port: 70000 is not a valid port (0-65535)",
    ],
    [
      "modules:\n  cloudHub:\n    https:\n      port: -5\n",
      "cloudcore.yaml: modules.cloudHub.https.port: -5 is not a valid port (0-65535)",
    ],
    [
      "modules:\n  cloudHub:\n    quic:\n      port: -1\n",
      "cloudcore.yaml: modules.cloudHub.quic.port: -1 is not a valid port (0-65535)",
    ],
    [
      "modules:\n  cloudHub:\n    websocket:\n      address: localhost\n",
      'cloudcore.yaml: modules.cloudHub.websocket.address: "localhost" is not a valid IP',
    ],
    [
      "modules:\n  cloudHub:\n    quic:\n      address: 300.1.1.1\n",
      'cloudcore.yaml: modules.cloudHub.quic.address: "300.1.1.1" is not a valid IP',
    ],
    [
      "modules:\n  cloudHub:\n    unixsocket:\n      address: /var/lib/kubeedge/kubeedge.sock\n",
      'cloudcore.yaml: modules.cloudHub.unixsocket.address: "/var/lib/kubeedge/kubeedge.sock" must start with unix://',
    ],
    [
      "modules:\n  cloudHub:\n    nodeLimit: -5\n",
      "cloudcore.yaml: modules.cloudHub.nodeLimit: -5 must not be negative",
    ],
    [
      "modules:\n  cloudHub:\n    tokenRefreshDuration: 0\n",
      "cloudcore.yaml: modules.cloudHub.tokenRefreshDuration: 0 must be greater than 0",
    ],
    [
      "modules:\n  cloudHub:\n    tokenRefreshDuration: -3\n",
      "cloudcore.yaml: modules.cloudHub.tokenRefreshDuration: -3 must be greater than 0",
    ],
    [
      "modules:\n  edgeController:\n    nodeUpdateFrequency: 0\n",
      "cloudcore.yaml: modules.edgeController.nodeUpdateFrequency: 0 must be greater than 0",
    ],
    [
      "kubeAPIConfig:\n  kubeConfig: relative/kubeconfig\n",
      'cloudcore.yaml: kubeAPIConfig.kubeConfig: "relative/kubeconfig" is not an absolute path',
    ],
    [
      "kubeAPIConfig:\n  kubeConfig: /nonexistent/kubeconfig\n",
      'cloudcore.yaml: kubeAPIConfig.kubeConfig: "/nonexistent/kubeconfig" does not exist',
    ],
    [
      "modules:\n  cloudHub:\n    advertiseAddress: []\n",
      "cloudcore.yaml: modules.cloudHub.advertiseAddress: [] must list at least one address",
    ],
    [
      "modules:\n  cloudHub:\n    advertiseAddress: [cloud.example.com]\n",
      'cloudcore.yaml: modules.cloudHub.advertiseAddress[0]: "cloud.example.com" is not a valid IP',
    ],
    [
      "modules:\n  iptablesManager:\n    mode: hybrid\n",
      'cloudcore.yaml: modules.iptablesManager.mode: "hybrid" is not internal or external',
    ],
    [
      'commonConfig:\n  monitorServer:\n    bindAddress: "9091"\n',
      'cloudcore.yaml: commonConfig.monitorServer.bindAddress: "9091" is not IP:port',
    ],
    [
      "commonConfig:\n  monitorServer:\n    bindAddress: 127.0.0.1:99999\n",
      'cloudcore.yaml: commonConfig.monitorServer.bindAddress: "127.0.0.1:99999" has an invalid port (0-65535)',
    ],
    [
      "commonConfig:\n  monitorServer:\n    bindAddress: localhost:9091\n",
      'cloudcore.yaml: commonConfig.monitorServer.bindAddress: "localhost:9091" does not start with a valid IP',
    ],
    [
      "modules:\n  edgeController:\n    buffer:\n      queryNode: -1\n",
      "cloudcore.yaml: modules.edgeController.buffer.queryNode: -1 must not be negative",
    ],
    [
      "modules:\n  cloudHub:\n    unixsocket:\n      requestTimeout: 0\n",
      "cloudcore.yaml: modules.cloudHub.unixsocket.requestTimeout: 0 must be greater than 0",
    ],
    [
      "modules:\n  cloudHub:\n    objectSync:\n      writeConcurrency: 0\n",
      "cloudcore.yaml: modules.cloudHub.objectSync.writeConcurrency: 0 must be greater than 0",
    ],
    [
      "modules:\n  cloudHub:\n    objectSync:\n      successPointQPS: -1\n",
      "cloudcore.yaml: modules.cloudHub.objectSync.successPointQPS: -1 must not be negative",
    ],
    [
      "modules:\n  cloudHub:\n    objectSync:\n      successPointDelay: -2\n",
      "cloudcore.yaml: modules.cloudHub.objectSync.successPointDelay: -2 must not be negative",
    ],
    [
      "modules:\n  cloudHub:\n    connectionLimits:\n      maxPendingConnections: 0\n",
      "cloudcore.yaml: modules.cloudHub.connectionLimits.maxPendingConnections: 0 must be greater than 0",
    ],
    [
      "apiServer:\n  connectionLimits:\n    handshakeTimeout: 0\n",
      "cloudcore.yaml: apiServer.connectionLimits.handshakeTimeout: 0 must be greater than 0",
    ],
    [
      "apiServer:\n  nodeMonitorGracePeriod: 0\n",
      "cloudcore.yaml: apiServer.nodeMonitorGracePeriod: 0 must be greater than 0",
    ],
    [
      "apiServer:\n  port: 65536\n",
      "cloudcore.yaml: apiServer.port: 65536 is not a valid port (0-65535)",
    ],
    [
      "apiServer:\n  bindAddress: any\n",
      'cloudcore.yaml: apiServer.bindAddress: "any" is not a valid IP',
    ],
  ];
  for (const [yaml, message] of cases) {
    assertEquals(firstError(yaml), message, yaml);
    assert(!message.includes("\n"));
  }
  // The stream server's files are needed only with an external kube-apiserver.
  const stream = "modules:\n  cloudStream:\n    enable: true\n";
  assertEquals(firstError(stream), undefined);
  assertEquals(
    firstError(`kubeAPIConfig:\n  kubeConfig: /k/config\n${stream}`, (p) => p === "/k/config"),
    'cloudcore.yaml: modules.cloudStream.tlsStreamCAFile: "/etc/kubeedge/ca/streamCA.crt" does not exist',
  );
});

Deno.test("a disabled cloudHub or edgeController is not checked, as in cloudcore", () => {
  assertEquals(
    firstError("modules:\n  cloudHub:\n    enable: false\n    websocket: {port: 70000}\n"),
    undefined,
  );
  assertEquals(
    firstError("modules:\n  edgeController:\n    enable: false\n    nodeUpdateFrequency: 0\n"),
    undefined,
  );
});

Deno.test("kubeConfig that exists, IPv6 addresses and apiServer port 0 are accepted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const kubeconfig = `${dir}/kubeconfig`;
    await Deno.writeTextFile(kubeconfig, "apiVersion: v1\nkind: Config\n");
    const { config } = parseConfig(
      `kubeAPIConfig:\n  kubeConfig: ${kubeconfig}\nmodules:\n  cloudHub:\n    websocket: {address: "::"}\n    advertiseAddress: ["2001:db8::1"]\ncommonConfig:\n  monitorServer: {bindAddress: "[::1]:9091"}\napiServer: {port: 0}\n`,
      "c.yaml",
      opts,
    );
    validateConfig(config, "c.yaml"); // real file check
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("validateConfig throws the first error; configErrors lists all", () => {
  const { config } = parseConfig(
    "modules:\n  cloudHub:\n    websocket: {port: 70000}\n    https: {port: -5}\n",
    "c.yaml",
    opts,
  );
  const e = assertThrows(() => validateConfig(config, "c.yaml"), ConfigError);
  assertEquals(e.field, "modules.cloudHub.https.port");
  assertEquals(e.value, -5);
  assertEquals(e.file, "c.yaml");
  assertEquals(configErrors(config, "c.yaml").length, 2);
});
