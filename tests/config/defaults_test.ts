import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  adjustConfig,
  defaultConfig,
  defaultEdgeControllerBuffer,
  defaultEdgeControllerLoad,
  hostAddresses,
  minConfig,
} from "../../config/defaults.ts";

const opts = { hostAddresses: ["192.0.2.10"] };

Deno.test("defaultConfig matches cloudcore's defaults (docs/protocol.md §10)", () => {
  const c = defaultConfig(opts);
  assertEquals(c.apiVersion, "cloudcore.config.kubeedge.io/v1alpha1");
  assertEquals(c.kind, "CloudCore");
  assertEquals(c.commonConfig, {
    tunnelPort: 10350,
    monitorServer: { bindAddress: "127.0.0.1:9091", enableProfiling: false },
  });
  assertEquals(c.kubeAPIConfig, {
    master: "",
    contentType: "application/vnd.kubernetes.protobuf",
    qps: 2500,
    burst: 5000,
    kubeConfig: "",
  });
  assertEquals(c.featureGates, {});
  const hub = c.modules.cloudHub;
  assertEquals(hub.enable, true);
  assertEquals(hub.keepaliveInterval, 30);
  assertEquals(hub.nodeLimit, 500);
  assertEquals(hub.writeTimeout, 30);
  assertEquals(hub.tlsCAFile, "/etc/kubeedge/ca/rootCA.crt");
  assertEquals(hub.tlsCAKeyFile, "/etc/kubeedge/ca/rootCA.key");
  assertEquals(hub.tlsCertFile, "/etc/kubeedge/certs/server.crt");
  assertEquals(hub.tlsPrivateKeyFile, "/etc/kubeedge/certs/server.key");
  assertEquals(hub.advertiseAddress, ["192.0.2.10"]);
  assertEquals(hub.dnsNames, [""]);
  assertEquals(hub.edgeCertSigningDuration, 365);
  assertEquals(hub.tokenRefreshDuration, 12);
  assertEquals(hub.quic, {
    enable: false,
    address: "0.0.0.0",
    port: 10001,
    maxIncomingStreams: 10000,
  });
  assertEquals(hub.websocket, { enable: true, address: "0.0.0.0", port: 10000 });
  assertEquals(hub.https, { enable: true, address: "0.0.0.0", port: 10002 });
  assertEquals(hub.unixsocket.enable, true);
  assertEquals(hub.unixsocket.address, "unix:///var/lib/kubeedge/kubeedge.sock");
  // edgecloud deviations / extensions
  assertEquals(hub.unixsocket.requestTimeout, 60);
  assertEquals(hub.authorization, {
    enable: true,
    debug: false,
    modes: [{ node: { enable: true } }],
  });
  assertEquals(c.modules.edgeController.sendServicesToEdges, false); // as cloudcore v1.23
  assertEquals(hub.objectSync, {
    writeConcurrency: 4,
    successPointDelay: 1,
    successPointQPS: 200,
    successPointBurst: 50,
  });
  assertEquals(hub.connectionLimits, {
    handshakeTimeout: 10,
    idleTimeout: 5,
    maxPendingConnections: 1024,
  });
  assertEquals(c.apiServer, {
    bindAddress: "127.0.0.1",
    port: 6443,
    connectionLimits: { handshakeTimeout: 10, idleTimeout: 30, maxPendingConnections: 1024 },
    nodeMonitorGracePeriod: 40,
  });

  assertEquals(c.modules.edgeController.enable, true);
  assertEquals(c.modules.edgeController.nodeUpdateFrequency, 10);
  assertEquals(c.modules.deviceController.buffer, {
    updateDeviceTwins: 1024,
    updateDeviceStatus: 1024,
    deviceEvent: 1,
    deviceModelEvent: 1,
    deviceStatusEvent: 1,
  });
  assertEquals(c.modules.deviceController.load, { updateDeviceStatusWorkers: 1 });
  assertEquals(c.modules.taskManager, {
    enable: false,
    buffer: { taskStatus: 1024, taskEvent: 1 },
    load: { taskWorkers: 1 },
  });
  assertEquals(c.modules.syncController, { enable: true });
  assertEquals(c.modules.dynamicController, { enable: false });
  assertEquals(c.modules.cloudStream.enable, false);
  assertEquals(c.modules.cloudStream.tunnelPort, 10004);
  assertEquals(c.modules.cloudStream.streamPort, 10003);
  assertEquals(c.modules.router, {
    enable: false,
    address: "0.0.0.0",
    port: 9443,
    restTimeout: 60,
  });
  assertEquals(c.modules.iptablesManager, { enable: true, mode: "internal" });
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
  for (const k of k1024) assertEquals(b[k], 1024, k);
  for (
    const k of [
      "podEvent",
      "configMapEvent",
      "secretEvent",
      "rulesEvent",
      "ruleEndpointsEvent",
    ] as const
  ) {
    assertEquals(b[k], 1, k);
  }
  assertEquals(b.patchNode, 1024 + 250);
  assertEquals(b.queryNode, 1024 + 500);
  assertEquals(b.createLease, 1024 + 500);
  assertEquals(defaultEdgeControllerBuffer(1001).patchNode, 1024 + 500);
  assertEquals(Object.keys(b).length, 24);
});

Deno.test("edgeController loads follow §9, including the capitalised keys", () => {
  const l = defaultEdgeControllerLoad(500);
  for (const k of ["updatePodStatusWorkers", "updateNodeStatusWorkers"] as const) {
    assertEquals(l[k], 1, k);
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
  for (const k of four) assertEquals(l[k], 4, k);
  const hundred = [
    "queryConfigMapWorkers",
    "querySecretWorkers",
    "createNodeWorkers",
    "patchPodWorkers",
    "deletePodWorkers",
    "queryLeaseWorkers",
    "ServiceAccountTokenWorkers",
  ] as const;
  for (const k of hundred) assertEquals(l[k], 100, k);
  assertEquals(l.queryNodeWorkers, 500);
  assertEquals(l.createLeaseWorkers, 500);
  assertEquals(l.patchNodeWorkers, 110);
  assertEquals(Object.keys(l).length, 20);
});

Deno.test("minConfig is cloudcore's --minconfig document", () => {
  const m = minConfig(opts) as { modules: { cloudHub: Record<string, unknown> } };
  assertEquals(m.modules.cloudHub.nodeLimit, 1000);
  assertEquals(m.modules.cloudHub.advertiseAddress, ["192.0.2.10"]);
  assertEquals(m.modules.cloudHub.websocket, { enable: true, address: "0.0.0.0", port: 10000 });
  assertEquals(Object.keys(m.modules), ["cloudHub", "router", "iptablesManager"]);
});

Deno.test("adjustConfig scales qps, burst, workers and buffers with nodeLimit", () => {
  const c = defaultConfig(opts);
  assertEquals(adjustConfig(c), false, "defaults are already adjusted");
  c.modules.cloudHub.nodeLimit = 1000;
  c.modules.edgeController.load.queryNodeWorkers = 5000; // larger values are kept
  assertEquals(adjustConfig(c), true);
  assertEquals(c.kubeAPIConfig.qps, 5000);
  assertEquals(c.kubeAPIConfig.burst, 10000);
  assertEquals(c.modules.edgeController.load.queryNodeWorkers, 5000);
  assertEquals(c.modules.edgeController.load.createLeaseWorkers, 1000);
  assertEquals(c.modules.edgeController.load.patchNodeWorkers, 120);
  assertEquals(c.modules.edgeController.buffer.patchNode, 1524);
  assertEquals(c.modules.edgeController.buffer.queryNode, 2024);
  assertEquals(c.modules.edgeController.buffer.createLease, 2024);
  assertEquals(adjustConfig(c), false);
  // qps/burst are forced, even downwards
  c.kubeAPIConfig.qps = 99999;
  assertEquals(adjustConfig(c), true);
  assertEquals(c.kubeAPIConfig.qps, 5000);
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
  assertEquals(hostAddresses(list), ["10.0.0.5", "2001:db8::5"]);
  assertEquals(hostAddresses(() => [iface("127.0.0.1", "IPv4")]), ["127.0.0.1"]);
  assertEquals(
    hostAddresses(() => {
      throw new Deno.errors.NotCapable("Requires sys access");
    }),
    ["127.0.0.1"],
  );
  assertThrows(() =>
    hostAddresses(() => {
      throw new TypeError("boom");
    }), TypeError);
  // The real machine answers too (tests run with -A).
  assert(hostAddresses().length > 0);
});

Deno.test("defaultConfig accepts a host address function and returns fresh objects", () => {
  const a = defaultConfig({ hostAddresses: () => ["10.1.1.1"] });
  const b = defaultConfig({ hostAddresses: () => ["10.1.1.1"] });
  assertEquals(a.modules.cloudHub.advertiseAddress, ["10.1.1.1"]);
  a.modules.cloudHub.dnsNames.push("x");
  assertEquals(b.modules.cloudHub.dnsNames, [""]);
});
