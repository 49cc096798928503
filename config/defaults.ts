/**
 * KubeEdge's cloudcore defaults (`NewDefaultCloudCoreConfig`, `NewMinCloudCoreConfig`,
 * `AdjustCloudCoreConfig`; docs/protocol.md §10), plus edgecloud's extension defaults.
 */
import {
  API_VERSION_V1ALPHA1,
  type CloudCoreConfig,
  type EdgeControllerBuffer,
  type EdgeControllerLoad,
  KIND,
} from "./types.ts";

/** `DefaultNodeLimit` in KubeEdge's Go constants (the field comment's 1000 is stale). */
export const DEFAULT_NODE_LIMIT = 500;
/** Node limit written by `--minconfig` and the Helm chart. */
export const MIN_CONFIG_NODE_LIMIT = 1000;

const DEFAULT_CA_FILE = "/etc/kubeedge/ca/rootCA.crt";
const DEFAULT_CA_KEY_FILE = "/etc/kubeedge/ca/rootCA.key";
const DEFAULT_CERT_FILE = "/etc/kubeedge/certs/server.crt";
const DEFAULT_KEY_FILE = "/etc/kubeedge/certs/server.key";
/** `modules.cloudHub.unixsocket.address` by default: KubeEdge's production path. */
export const DEFAULT_UNIX_SOCKET = "unix:///var/lib/kubeedge/kubeedge.sock";

/** Where the host's addresses come from; injectable so tests and sandboxes need no `--allow-sys`. */
export type HostAddressSource = () => string[];

/** Options for {@link defaultConfig} and {@link minConfig}. */
export interface DefaultsOptions {
  /** Addresses for `advertiseAddress`; default {@link hostAddresses}. */
  hostAddresses?: string[] | HostAddressSource;
}

/**
 * The host's non-loopback, non-link-local addresses, IPv4 first (cloudcore advertises the address
 * of its default-route interface; edgecloud lists all usable ones so the server certificate covers
 * each). Falls back to `127.0.0.1` when there are none or when `--allow-sys=networkInterfaces` is
 * not granted, so a sandboxed run still starts.
 */
export function hostAddresses(
  list: () => Deno.NetworkInterfaceInfo[] = Deno.networkInterfaces,
): string[] {
  let interfaces: Deno.NetworkInterfaceInfo[];
  try {
    interfaces = list();
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      return ["127.0.0.1"];
    }
    throw err;
  }
  const v4: string[] = [];
  const v6: string[] = [];
  for (const iface of interfaces) {
    const addr = iface.address;
    if (iface.family === "IPv4") {
      if (addr.startsWith("127.") || addr.startsWith("169.254.")) continue;
      if (!v4.includes(addr)) v4.push(addr);
    } else {
      const lower = addr.toLowerCase();
      if (lower === "::1" || lower.startsWith("fe80:")) continue;
      if (!v6.includes(addr)) v6.push(addr);
    }
  }
  const all = [...v4, ...v6];
  return all.length > 0 ? all : ["127.0.0.1"];
}

function resolveAddresses(options: DefaultsOptions | undefined): string[] {
  const source = options?.hostAddresses ?? hostAddresses;
  return typeof source === "function" ? [...source()] : [...source];
}

/** EdgeController buffer defaults for a node limit (`getDefaultEdgeControllerBuffer`). */
export function defaultEdgeControllerBuffer(nodeLimit: number): EdgeControllerBuffer {
  return {
    processEvent: 1024,
    updatePodStatus: 1024,
    updateNodeStatus: 1024,
    queryConfigMap: 1024,
    querySecret: 1024,
    podEvent: 1,
    configMapEvent: 1,
    secretEvent: 1,
    rulesEvent: 1,
    ruleEndpointsEvent: 1,
    queryPersistentVolume: 1024,
    queryPersistentVolumeClaim: 1024,
    queryVolumeAttachment: 1024,
    createNode: 1024,
    patchNode: 1024 + Math.trunc(nodeLimit / 2),
    queryNode: 1024 + nodeLimit,
    updateNode: 1024,
    patchPod: 1024,
    deletePod: 1024,
    createLease: 1024 + nodeLimit,
    queryLease: 1024,
    serviceAccountToken: 1024,
    createPod: 1024,
    certificateSigningRequest: 1024,
  };
}

/** EdgeController worker defaults for a node limit (`getDefaultEdgeControllerLoad`). */
export function defaultEdgeControllerLoad(nodeLimit: number): EdgeControllerLoad {
  return {
    processEventWorkers: 4,
    updatePodStatusWorkers: 1,
    updateNodeStatusWorkers: 1,
    queryConfigMapWorkers: 100,
    querySecretWorkers: 100,
    queryPersistentVolumeWorkers: 4,
    queryPersistentVolumeClaimWorkers: 4,
    queryVolumeAttachmentWorkers: 4,
    createNodeWorkers: 100,
    patchNodeWorkers: 100 + Math.trunc(nodeLimit / 50),
    queryNodeWorkers: nodeLimit,
    updateNodeWorkers: 4,
    patchPodWorkers: 100,
    deletePodWorkers: 100,
    createLeaseWorkers: nodeLimit,
    queryLeaseWorkers: 100,
    UpdateRuleStatusWorkers: 4,
    ServiceAccountTokenWorkers: 100,
    CreatePodWorks: 4,
    certificateSigningRequestWorkers: 4,
  };
}

/**
 * The full default config, as `cloudcore --defaultconfig` prints it, plus edgecloud's extensions.
 *
 * @example
 * ```ts
 * const cfg = defaultConfig({ hostAddresses: ["10.0.0.5"] });
 * cfg.modules.cloudHub.websocket.port; // 10000
 * ```
 */
export function defaultConfig(options?: DefaultsOptions): CloudCoreConfig {
  const n = DEFAULT_NODE_LIMIT;
  return {
    apiVersion: API_VERSION_V1ALPHA1,
    kind: KIND,
    commonConfig: {
      tunnelPort: 10350,
      monitorServer: { bindAddress: "127.0.0.1:9091", enableProfiling: false },
    },
    kubeAPIConfig: {
      master: "",
      contentType: "application/vnd.kubernetes.protobuf",
      qps: 5 * n,
      burst: 10 * n,
      kubeConfig: "",
    },
    featureGates: {},
    modules: {
      cloudHub: {
        enable: true,
        keepaliveInterval: 30,
        nodeLimit: n,
        tlsCAFile: DEFAULT_CA_FILE,
        tlsCAKeyFile: DEFAULT_CA_KEY_FILE,
        tlsCertFile: DEFAULT_CERT_FILE,
        tlsPrivateKeyFile: DEFAULT_KEY_FILE,
        writeTimeout: 30,
        quic: { enable: false, address: "0.0.0.0", port: 10001, maxIncomingStreams: 10000 },
        unixsocket: { enable: true, address: DEFAULT_UNIX_SOCKET, requestTimeout: 60 },
        websocket: { enable: true, address: "0.0.0.0", port: 10000 },
        https: { enable: true, address: "0.0.0.0", port: 10002 },
        advertiseAddress: resolveAddresses(options),
        dnsNames: [""],
        edgeCertSigningDuration: 365,
        tokenRefreshDuration: 12,
        // Deviation from KubeEdge ({enable: false, debug: true}); see CloudHub.authorization.
        authorization: { enable: true, debug: false, modes: [{ node: { enable: true } }] },
        objectSync: {
          writeConcurrency: 4,
          successPointDelay: 1,
          successPointQPS: 200,
          successPointBurst: 50,
        },
        connectionLimits: { handshakeTimeout: 10, idleTimeout: 5, maxPendingConnections: 1024 },
      },
      edgeController: {
        enable: true,
        nodeUpdateFrequency: 10,
        buffer: defaultEdgeControllerBuffer(n),
        load: defaultEdgeControllerLoad(n),
        sendServicesToEdges: false,
      },
      deviceController: {
        enable: true,
        buffer: {
          updateDeviceTwins: 1024,
          updateDeviceStatus: 1024,
          deviceEvent: 1,
          deviceModelEvent: 1,
          deviceStatusEvent: 1,
        },
        load: { updateDeviceStatusWorkers: 1 },
      },
      taskManager: {
        enable: false,
        buffer: { taskStatus: 1024, taskEvent: 1 },
        load: { taskWorkers: 1 },
      },
      syncController: { enable: true },
      dynamicController: { enable: false },
      cloudStream: {
        enable: false,
        tlsTunnelCAFile: DEFAULT_CA_FILE,
        tlsTunnelCertFile: DEFAULT_CERT_FILE,
        tlsTunnelPrivateKeyFile: DEFAULT_KEY_FILE,
        tunnelPort: 10004,
        tlsStreamCAFile: "/etc/kubeedge/ca/streamCA.crt",
        tlsStreamCertFile: "/etc/kubeedge/certs/stream.crt",
        tlsStreamPrivateKeyFile: "/etc/kubeedge/certs/stream.key",
        streamPort: 10003,
      },
      router: { enable: false, address: "0.0.0.0", port: 9443, restTimeout: 60 },
      iptablesManager: { enable: true, mode: "internal" },
    },
    apiServer: {
      bindAddress: "127.0.0.1",
      port: 6443,
      connectionLimits: { handshakeTimeout: 10, idleTimeout: 30, maxPendingConnections: 1024 },
      nodeMonitorGracePeriod: 40,
    },
    leaderElection: {
      enable: true,
      leaseDuration: 15,
      renewDeadline: 10,
      retryPeriod: 2,
      resourceNamespace: "kubeedge",
      resourceName: "edgecloud-controllers",
    },
  };
}

/**
 * The minimal config `cloudcore --minconfig` prints (`NewMinCloudCoreConfig`): a partial document
 * meant to be loaded over the defaults.
 */
export function minConfig(options?: DefaultsOptions): Record<string, unknown> {
  return {
    apiVersion: API_VERSION_V1ALPHA1,
    kind: KIND,
    modules: {
      cloudHub: {
        nodeLimit: MIN_CONFIG_NODE_LIMIT,
        tlsCAFile: DEFAULT_CA_FILE,
        tlsCAKeyFile: DEFAULT_CA_KEY_FILE,
        tlsCertFile: DEFAULT_CERT_FILE,
        tlsPrivateKeyFile: DEFAULT_KEY_FILE,
        advertiseAddress: resolveAddresses(options),
        unixsocket: { enable: true, address: DEFAULT_UNIX_SOCKET },
        websocket: { enable: true, address: "0.0.0.0", port: 10000 },
        https: { enable: true, address: "0.0.0.0", port: 10002 },
      },
      router: { enable: false, address: "0.0.0.0", port: 9443, restTimeout: 60 },
      iptablesManager: { enable: true, mode: "internal" },
    },
  };
}

/**
 * cloudcore's `AdjustCloudCoreConfig`: qps = 5 × nodeLimit, burst = 10 × nodeLimit, and the
 * node-scaled workers and buffers raised to at least their node-limit minimum. Mutates `cfg`;
 * returns true if anything changed (cloudcore then rewrites its ConfigMap).
 */
export function adjustConfig(cfg: CloudCoreConfig): boolean {
  const n = cfg.modules.cloudHub.nodeLimit;
  const api = cfg.kubeAPIConfig;
  const load = cfg.modules.edgeController.load;
  const buffer = cfg.modules.edgeController.buffer;
  let changed = false;
  const raise = <T>(obj: T, key: keyof T, min: number, exact = false) => {
    const current = obj[key] as unknown as number;
    if (exact ? current !== min : current < min) {
      (obj[key] as unknown as number) = min;
      changed = true;
    }
  };
  raise(api, "qps", 5 * n, true);
  raise(api, "burst", 10 * n, true);
  raise(load, "queryNodeWorkers", n);
  raise(load, "patchNodeWorkers", 100 + Math.trunc(n / 50));
  raise(load, "createLeaseWorkers", n);
  raise(buffer, "patchNode", 1024 + Math.trunc(n / 2));
  raise(buffer, "queryNode", 1024 + n);
  raise(buffer, "createLease", 1024 + n);
  return changed;
}
