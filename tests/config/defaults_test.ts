import assert from "node:assert/strict";
import {
  adjustConfig,
  defaultConfig,
  defaultEdgeControllerBuffer,
  defaultEdgeControllerLoad,
  hostAddresses,
  minConfig,
} from "../../config/defaults.ts";

const opts = { hostAddresses: ["192.0.2.10"] };

Deno.test("defaultConfig matches cloudcore's defaults (docs/protocol.md §9)", () => {
  const c = defaultConfig(opts);
  assert.equal(c.apiVersion, "cloudcore.config.kubeedge.io/v1alpha1");
  assert.equal(c.kind, "CloudCore");
  assert.deepEqual(c.commonConfig, {
    tunnelPort: 10350,
    monitorServer: { bindAddress: "127.0.0.1:9091", enableProfiling: false },
  });
  assert.deepEqual(c.kubeAPIConfig, {
    master: "",
    contentType: "application/vnd.kubernetes.protobuf",
    qps: 2500,
    burst: 5000,
    kubeConfig: "",
  });
  assert.deepEqual(c.featureGates, {});
  const hub = c.modules.cloudHub;
  assert.equal(hub.enable, true);
  assert.equal(hub.keepaliveInterval, 30);
  assert.equal(hub.nodeLimit, 500);
  assert.equal(hub.writeTimeout, 30);
  assert.equal(hub.tlsCAFile, "/etc/kubeedge/ca/rootCA.crt");
  assert.equal(hub.tlsCAKeyFile, "/etc/kubeedge/ca/rootCA.key");
  assert.equal(hub.tlsCertFile, "/etc/kubeedge/certs/server.crt");
  assert.equal(hub.tlsPrivateKeyFile, "/etc/kubeedge/certs/server.key");
  assert.deepEqual(hub.advertiseAddress, ["192.0.2.10"]);
  assert.deepEqual(hub.dnsNames, [""]);
  assert.equal(hub.edgeCertSigningDuration, 365);
  assert.equal(hub.tokenRefreshDuration, 12);
  assert.deepEqual(hub.quic, {
    enable: false,
    address: "0.0.0.0",
    port: 10001,
    maxIncomingStreams: 10000,
  });
  assert.deepEqual(hub.websocket, { enable: true, address: "0.0.0.0", port: 10000 });
  assert.deepEqual(hub.https, { enable: true, address: "0.0.0.0", port: 10002 });
  assert.equal(hub.unixsocket.enable, true);
  assert.equal(hub.unixsocket.address, "unix:///var/lib/kubeedge/kubeedge.sock");
  // edgecloud deviations / extensions
  assert.equal(hub.unixsocket.requestTimeout, 60);
  assert.deepEqual(hub.authorization, {
    enable: true,
    debug: false,
    modes: [{ node: { enable: true } }],
  });
  assert.equal(c.modules.edgeController.sendServicesToEdges, false); // as cloudcore v1.23
  assert.deepEqual(hub.objectSync, {
    writeConcurrency: 4,
    successPointDelay: 1,
    successPointQPS: 200,
    successPointBurst: 50,
  });
  assert.deepEqual(hub.connectionLimits, {
    handshakeTimeout: 10,
    idleTimeout: 5,
    maxPendingConnections: 1024,
  });
  assert.deepEqual(c.apiServer, {
    bindAddress: "127.0.0.1",
    port: 6443,
    connectionLimits: { handshakeTimeout: 10, idleTimeout: 30, maxPendingConnections: 1024 },
  });

  assert.equal(c.modules.edgeController.enable, true);
  assert.equal(c.modules.edgeController.nodeUpdateFrequency, 10);
  assert.deepEqual(c.modules.deviceController.buffer, {
    updateDeviceTwins: 1024,
    updateDeviceStatus: 1024,
    deviceEvent: 1,
    deviceModelEvent: 1,
    deviceStatusEvent: 1,
  });
  assert.deepEqual(c.modules.deviceController.load, { updateDeviceStatusWorkers: 1 });
  assert.deepEqual(c.modules.taskManager, {
    enable: false,
    buffer: { taskStatus: 1024, taskEvent: 1 },
    load: { taskWorkers: 1 },
  });
  assert.deepEqual(c.modules.syncController, { enable: true });
  assert.deepEqual(c.modules.dynamicController, { enable: false });
  assert.equal(c.modules.cloudStream.enable, false);
  assert.equal(c.modules.cloudStream.tunnelPort, 10004);
  assert.equal(c.modules.cloudStream.streamPort, 10003);
  assert.deepEqual(c.modules.router, {
    enable: false,
    address: "0.0.0.0",
    port: 9443,
    restTimeout: 60,
  });
  assert.deepEqual(c.modules.iptablesManager, { enable: true, mode: "internal" });
});

Deno.test("edgeController buffers follow §9, node-scaled ones included", () => {
  const b = defaultEdgeControllerBuffer(500);
  const k1024 = [
    "updatePodStatus",
    "processEvent",
    "updateNodeStatus",
    "queryConfigMap",
    "querySecret",
    "queryPersistentVolume",
    "queryPersistentVolumeClaim",
    "queryVolumeAttachment",
    "createNode",
    "updateNode",
    "patchPod",
    "deletePod",
    "queryLease",
    "serviceAccountToken",
    "createPod",
    "certificateSigningRequest",
  ] as const;
  for (const k of k1024) assert.equal(b[k], 1024, k);
  for (
    const k of [
      "podEvent",
      "configMapEvent",
      "secretEvent",
      "rulesEvent",
      "ruleEndpointsEvent",
    ] as const
  ) {
    assert.equal(b[k], 1, k);
  }
  assert.equal(b.patchNode, 1024 + 250);
  assert.equal(b.queryNode, 1024 + 500);
  assert.equal(b.createLease, 1024 + 500);
  assert.equal(defaultEdgeControllerBuffer(1001).patchNode, 1024 + 500);
  assert.equal(Object.keys(b).length, 24);
});

Deno.test("edgeController loads follow §9, including the capitalised keys", () => {
  const l = defaultEdgeControllerLoad(500);
  for (const k of ["updatePodStatusWorkers", "updateNodeStatusWorkers"] as const) {
    assert.equal(l[k], 1, k);
  }
  const four = [
    "processEventWorkers",
    "queryPersistentVolumeWorkers",
    "queryPersistentVolumeClaimWorkers",
    "queryVolumeAttachmentWorkers",
    "updateNodeWorkers",
    "UpdateRuleStatusWorkers",
    "CreatePodWorks",
    "certificateSigningRequestWorkers",
  ] as const;
  for (const k of four) assert.equal(l[k], 4, k);
  const hundred = [
    "queryConfigMapWorkers",
    "querySecretWorkers",
    "createNodeWorkers",
    "patchPodWorkers",
    "deletePodWorkers",
    "queryLeaseWorkers",
    "ServiceAccountTokenWorkers",
  ] as const;
  for (const k of hundred) assert.equal(l[k], 100, k);
  assert.equal(l.queryNodeWorkers, 500);
  assert.equal(l.createLeaseWorkers, 500);
  assert.equal(l.patchNodeWorkers, 110);
  assert.equal(Object.keys(l).length, 20);
});

Deno.test("minConfig is cloudcore's --minconfig document", () => {
  const m = minConfig(opts) as { modules: { cloudHub: Record<string, unknown> } };
  assert.equal(m.modules.cloudHub.nodeLimit, 1000);
  assert.deepEqual(m.modules.cloudHub.advertiseAddress, ["192.0.2.10"]);
  assert.deepEqual(m.modules.cloudHub.websocket, { enable: true, address: "0.0.0.0", port: 10000 });
  assert.deepEqual(Object.keys(m.modules), ["cloudHub", "router", "iptablesManager"]);
});

Deno.test("adjustConfig scales qps, burst, workers and buffers with nodeLimit", () => {
  const c = defaultConfig(opts);
  assert.equal(adjustConfig(c), false, "defaults are already adjusted");
  c.modules.cloudHub.nodeLimit = 1000;
  c.modules.edgeController.load.queryNodeWorkers = 5000; // larger values are kept
  assert.equal(adjustConfig(c), true);
  assert.equal(c.kubeAPIConfig.qps, 5000);
  assert.equal(c.kubeAPIConfig.burst, 10000);
  assert.equal(c.modules.edgeController.load.queryNodeWorkers, 5000);
  assert.equal(c.modules.edgeController.load.createLeaseWorkers, 1000);
  assert.equal(c.modules.edgeController.load.patchNodeWorkers, 120);
  assert.equal(c.modules.edgeController.buffer.patchNode, 1524);
  assert.equal(c.modules.edgeController.buffer.queryNode, 2024);
  assert.equal(c.modules.edgeController.buffer.createLease, 2024);
  assert.equal(adjustConfig(c), false);
  // qps/burst are forced, even downwards
  c.kubeAPIConfig.qps = 99999;
  assert.equal(adjustConfig(c), true);
  assert.equal(c.kubeAPIConfig.qps, 5000);
});

Deno.test("hostAddresses: IPv4 first, no loopback or link-local, permission errors fall back", () => {
  const iface = (address: string, family: "IPv4" | "IPv6") => ({
    family,
    name: "eth0",
    address,
    netmask: "",
    scopeid: null,
    cidr: "",
    mac: "",
  });
  const list = () => [
    iface("127.0.0.1", "IPv4"),
    iface("::1", "IPv6"),
    iface("fe80::1", "IPv6"),
    iface("2001:db8::5", "IPv6"),
    iface("10.0.0.5", "IPv4"),
    iface("169.254.1.1", "IPv4"),
    iface("10.0.0.5", "IPv4"),
  ];
  assert.deepEqual(hostAddresses(list), ["10.0.0.5", "2001:db8::5"]);
  assert.deepEqual(hostAddresses(() => [iface("127.0.0.1", "IPv4")]), ["127.0.0.1"]);
  assert.deepEqual(
    hostAddresses(() => {
      throw new Deno.errors.NotCapable("Requires sys access");
    }),
    ["127.0.0.1"],
  );
  assert.throws(() =>
    hostAddresses(() => {
      throw new TypeError("boom");
    }), TypeError);
  // The real machine answers too (tests run with -A).
  assert.ok(hostAddresses().length > 0);
});

Deno.test("defaultConfig accepts a host address function and returns fresh objects", () => {
  const a = defaultConfig({ hostAddresses: () => ["10.1.1.1"] });
  const b = defaultConfig({ hostAddresses: () => ["10.1.1.1"] });
  assert.deepEqual(a.modules.cloudHub.advertiseAddress, ["10.1.1.1"]);
  a.modules.cloudHub.dnsNames.push("x");
  assert.deepEqual(b.modules.cloudHub.dnsNames, [""]);
});
