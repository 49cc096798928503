/**
 * The `cloudcore.config.kubeedge.io/v1alpha1` `CloudCore` kind (docs/protocol.md §10), with KubeEdge's
 * exact JSON/YAML key names, so an existing cloudcore.yaml loads unchanged.
 *
 * KubeEdge's Go structs use pointers for sections; here every section is always present after
 * loading (omitted fields keep their defaults), which is what cloudcore ends up with too, because
 * it unmarshals the file over `NewDefaultCloudCoreConfig()`.
 *
 * edgecloud extensions are marked `@edgecloud` below and listed in {@link EDGECLOUD_EXTENSIONS}.
 * They live inside the same kind so one file configures the whole process; cloudcore itself would
 * ignore them (sigs.k8s.io/yaml is not strict).
 */

/** The group/version cloudcore's Go code defines. */
export const API_VERSION_V1ALPHA1 = "cloudcore.config.kubeedge.io/v1alpha1";
/** The group/version KubeEdge's Helm chart writes (no Go type exists; cloudcore accepts it). */
export const API_VERSION_V1ALPHA2 = "cloudcore.config.kubeedge.io/v1alpha2";
/** The kind of a cloudcore config. */
export const KIND = "CloudCore";
/** cloudcore's default `--config` path. */
export const DEFAULT_CONFIG_PATH = "/etc/kubeedge/config/cloudcore.yaml";

/** Root of a cloudcore.yaml. */
export interface CloudCoreConfig {
  apiVersion: string;
  kind: string;
  commonConfig: CommonConfig;
  kubeAPIConfig: KubeAPIConfig;
  /** Feature names to on/off, e.g. `requireAuthorization`. */
  featureGates: Record<string, boolean>;
  modules: Modules;
  /**
   * @edgecloud The embedded Kubernetes-compatible API, used when no kubeconfig is given.
   */
  apiServer: APIServerConfig;
  /**
   * @edgecloud Leader election among replicas sharing one cluster (ha/): the singleton
   * controllers run only on the holder of a `coordination.k8s.io` Lease.
   */
  leaderElection: LeaderElectionConfig;
}

/** Settings shared by all modules. */
export interface CommonConfig {
  /** Base of the negotiated stream tunnel port. Default 10350. */
  tunnelPort: number;
  monitorServer: MonitorServer;
}

/** Prometheus metrics / pprof endpoint. */
export interface MonitorServer {
  /** `IP:port`; default `127.0.0.1:9091`. */
  bindAddress: string;
  enableProfiling: boolean;
}

/** How cloudcore talks to the Kubernetes API server. */
export interface KubeAPIConfig {
  /** API server address, overrides the kubeconfig's. Default "". */
  master: string;
  /** Default `application/vnd.kubernetes.protobuf`. */
  contentType: string;
  /** Default 2500 (5 × nodeLimit). */
  qps: number;
  /** Default 5000 (10 × nodeLimit). */
  burst: number;
  /** Absolute path of a kubeconfig; "" means edgecloud serves its embedded API. */
  kubeConfig: string;
}

/** All cloudcore modules. */
export interface Modules {
  cloudHub: CloudHub;
  edgeController: EdgeController;
  deviceController: DeviceController;
  taskManager: TaskManager;
  syncController: SyncController;
  dynamicController: DynamicController;
  cloudStream: CloudStream;
  router: Router;
  iptablesManager: IptablesManager;
}

/** CloudHub: the edge-facing listeners. */
export interface CloudHub {
  enable: boolean;
  /** Seconds without a keepalive before a session is closed. Default 30. */
  keepaliveInterval: number;
  /** Maximum connected edge nodes. Default 500 (the Go default; min config and Helm use 1000). */
  nodeLimit: number;
  tlsCAFile: string;
  tlsCAKeyFile: string;
  tlsCertFile: string;
  tlsPrivateKeyFile: string;
  /** Seconds. Default 30. */
  writeTimeout: number;
  quic: CloudHubQUIC;
  unixsocket: CloudHubUnixSocket;
  websocket: CloudHubWebSocket;
  https: CloudHubHTTPS;
  /** Addresses put into the server certificate and advertised to edges; must be non-empty. */
  advertiseAddress: string[];
  dnsNames: string[];
  /** Days an edge certificate is valid. Default 365. */
  edgeCertSigningDuration: number;
  /** Hours between token refreshes (> 0). Default 12. */
  tokenRefreshDuration: number;
  /**
   * Authorization of edge messages.
   *
   * Deviation: KubeEdge defaults to `{enable: false, debug: true}`. edgecloud defaults to
   * `{enable: true, debug: false}`: a node may only act as itself, i.e. its client certificate CN
   * must equal `system:node:<node_id>`. A file that sets `enable: false` (as the Helm chart does)
   * still turns it off.
   */
  authorization: CloudHubAuthorization;
  /**
   * @edgecloud Folding and pacing of ObjectSync success-point writes (cloudcore writes one per
   * ACK).
   */
  objectSync: CloudHubObjectSync;
  /**
   * @edgecloud Limits on connections not yet ready, for each of the websocket, quic and https
   * listeners (each its own cap) and the monitor server.
   */
  connectionLimits: ConnectionLimits;
}

/**
 * @edgecloud Limits on connections a listener holds before they are ready (TLS handshake plus
 * request headers, WebSocket upgrade, or QUIC authentication), and on idle keep-alive ones.
 * cloudcore's Go servers bound the same with `ReadHeaderTimeout`/`IdleTimeout`; without limits a
 * client that connects and sends nothing is held for minutes.
 */
export interface ConnectionLimits {
  /**
   * Seconds a new connection has to finish its TLS handshake and send its request headers (HTTP)
   * or upgrade (WebSocket); for QUIC, each of handshake, control stream and header message.
   * Default 10.
   */
  handshakeTimeout: number;
  /**
   * Seconds an HTTP keep-alive connection may sit idle between requests. Default 5 (30 under
   * `apiServer`).
   */
  idleTimeout: number;
  /**
   * Connections not yet ready held at once per listener; more are closed at once. Default 1024;
   * CloudHub's listeners hold at least `nodeLimit`, so every node can reconnect at once.
   */
  maxPendingConnections: number;
}

/**
 * @edgecloud How CloudHub writes ObjectSync records (`reliablesyncs.kubeedge.io`). cloudcore
 * writes a record's status on every ACK; edgecloud folds the ACKs of one record that arrive
 * within `successPointDelay` into one write and paces those writes, so a fan-out to many nodes
 * costs the API a bounded rate (kube/objectsync_kube.ts). Creates, which a new object's first
 * frame waits for, are never delayed or paced.
 */
export interface CloudHubObjectSync {
  /** Success-point and delete writes in flight at once. Default 4. */
  writeConcurrency: number;
  /**
   * Seconds a success point waits so later ACKs for the same record fold into it. Default 1;
   * 0 writes at once, like cloudcore. After a crash, objects acknowledged in this window are
   * sent once more (edges take that as an update to the version they hold).
   */
  successPointDelay: number;
  /** Success-point writes started per second at most; 0 leaves them unpaced. Default 200. */
  successPointQPS: number;
  /** Writes allowed at once above successPointQPS. Default 50. */
  successPointBurst: number;
}

/** QUIC listener (RFC 9000 with viaduct framing in edgecloud; see docs/design.md). */
export interface CloudHubQUIC {
  enable: boolean;
  address: string;
  port: number;
  maxIncomingStreams: number;
}

/** Unix domain socket used by the KubeEdge CSI driver. */
export interface CloudHubUnixSocket {
  enable: boolean;
  /** Must start with `unix://`. */
  address: string;
  /** @edgecloud Seconds to wait for the edge's reply to one CSI request. Default 60. */
  requestTimeout: number;
}

/** WebSocket (TLS) listener. */
export interface CloudHubWebSocket {
  enable: boolean;
  address: string;
  port: number;
}

/** HTTPS cert server (`/ca.crt`, `/edge.crt`). */
export interface CloudHubHTTPS {
  enable: boolean;
  address: string;
  port: number;
}

/** CloudHub authorization settings. */
export interface CloudHubAuthorization {
  enable: boolean;
  /** Only log denials, allow everything. */
  debug: boolean;
  modes: AuthorizationMode[];
}

/** One authorization mode. */
export interface AuthorizationMode {
  node?: NodeAuthorization;
}

/** Node authorization: a node may only touch its own objects. */
export interface NodeAuthorization {
  enable: boolean;
}

/** EdgeController: node/pod sync between Kubernetes and edges. */
export interface EdgeController {
  enable: boolean;
  /** Seconds. Default 10. */
  nodeUpdateFrequency: number;
  buffer: EdgeControllerBuffer;
  load: EdgeControllerLoad;
  /**
   * @edgecloud Send Services and Endpoints to every edge (KubeEdge ≤ v1.3 did; cloudcore v1.23
   * sends none, and EdgeMesh reads them through MetaServer instead). Default false, as cloudcore.
   */
  sendServicesToEdges: boolean;
}

/** Channel sizes of EdgeController. */
export interface EdgeControllerBuffer {
  processEvent: number;
  updatePodStatus: number;
  updateNodeStatus: number;
  queryConfigMap: number;
  querySecret: number;
  podEvent: number;
  configMapEvent: number;
  secretEvent: number;
  rulesEvent: number;
  ruleEndpointsEvent: number;
  queryPersistentVolume: number;
  queryPersistentVolumeClaim: number;
  queryVolumeAttachment: number;
  createNode: number;
  patchNode: number;
  queryNode: number;
  updateNode: number;
  patchPod: number;
  deletePod: number;
  createLease: number;
  queryLease: number;
  serviceAccountToken: number;
  createPod: number;
  certificateSigningRequest: number;
}

/** Worker counts of EdgeController (note KubeEdge's capitalised keys). */
export interface EdgeControllerLoad {
  processEventWorkers: number;
  updatePodStatusWorkers: number;
  updateNodeStatusWorkers: number;
  queryConfigMapWorkers: number;
  querySecretWorkers: number;
  queryPersistentVolumeWorkers: number;
  queryPersistentVolumeClaimWorkers: number;
  queryVolumeAttachmentWorkers: number;
  createNodeWorkers: number;
  patchNodeWorkers: number;
  queryNodeWorkers: number;
  updateNodeWorkers: number;
  patchPodWorkers: number;
  deletePodWorkers: number;
  createLeaseWorkers: number;
  queryLeaseWorkers: number;
  UpdateRuleStatusWorkers: number;
  ServiceAccountTokenWorkers: number;
  CreatePodWorks: number;
  certificateSigningRequestWorkers: number;
}

/** DeviceController: device CRDs to edges and twins back. */
export interface DeviceController {
  enable: boolean;
  buffer: DeviceControllerBuffer;
  load: DeviceControllerLoad;
}

/** Channel sizes of DeviceController. */
export interface DeviceControllerBuffer {
  updateDeviceTwins: number;
  /** Go field `UpdateDeviceStates`, JSON key `updateDeviceStatus`. */
  updateDeviceStatus: number;
  deviceEvent: number;
  deviceModelEvent: number;
  deviceStatusEvent: number;
}

/** Worker counts of DeviceController. */
export interface DeviceControllerLoad {
  updateDeviceStatusWorkers: number;
}

/** TaskManager: node upgrade / image pre-pull jobs. */
export interface TaskManager {
  enable: boolean;
  buffer: { taskStatus: number; taskEvent: number };
  load: { taskWorkers: number };
}

/** SyncController: ObjectSync reconciliation. */
export interface SyncController {
  enable: boolean;
}

/** DynamicController: list/watch for edge MetaServer clients. */
export interface DynamicController {
  enable: boolean;
}

/** CloudStream: `kubectl logs/exec` tunnel. */
export interface CloudStream {
  enable: boolean;
  tlsTunnelCAFile: string;
  tlsTunnelCertFile: string;
  tlsTunnelPrivateKeyFile: string;
  tunnelPort: number;
  tlsStreamCAFile: string;
  tlsStreamCertFile: string;
  tlsStreamPrivateKeyFile: string;
  streamPort: number;
}

/** Router: REST and eventbus rules. */
export interface Router {
  enable: boolean;
  address: string;
  port: number;
  restTimeout: number;
}

/** iptables manager deployment mode. */
export type IptablesMgrMode = "internal" | "external";

/** IptablesManager: forwards the stream tunnel port. */
export interface IptablesManager {
  enable: boolean;
  mode: IptablesMgrMode;
}

/** @edgecloud The embedded Kubernetes-compatible API server. */
export interface APIServerConfig {
  /** Address to listen on. Default `127.0.0.1`. */
  bindAddress: string;
  /** Port to listen on. Default 6443; 0 picks a free port. */
  port: number;
  /** Limits on connections not yet ready and on idle keep-alive connections (idle default 30 s). */
  connectionLimits: ConnectionLimits;
  /**
   * Seconds a node may go without a heartbeat (Lease renewal or Ready heartbeat) before the
   * embedded control plane marks it `Ready=Unknown` and taints it unreachable
   * (kube-controller-manager's `--node-monitor-grace-period`). Default 40.
   */
  nodeMonitorGracePeriod: number;
}

/** @edgecloud Leader election (client-go's names and defaults, durations in seconds). */
export interface LeaderElectionConfig {
  /** Default true: a single replica simply leads. */
  enable: boolean;
  /** Seconds a non-renewed Lease counts as held. Default 15. */
  leaseDuration: number;
  /** Seconds the leader keeps trying to renew before stepping down. Default 10. */
  renewDeadline: number;
  /** Seconds between acquire/renew attempts. Default 2. */
  retryPeriod: number;
  /** Namespace of the Lease. Default `kubeedge`. */
  resourceNamespace: string;
  /** Name of the Lease. Default `edgecloud-controllers`. */
  resourceName: string;
}

/** Field paths that are edgecloud extensions, not part of KubeEdge's kind. */
export const EDGECLOUD_EXTENSIONS: readonly string[] = [
  "apiServer",
  "leaderElection",
  "modules.cloudHub.unixsocket.requestTimeout",
  "modules.cloudHub.objectSync",
  "modules.cloudHub.connectionLimits",
  "modules.edgeController.sendServicesToEdges",
];

/** Fields whose edgecloud default differs from KubeEdge's, with the reason (rendered as comments). */
export const EDGECLOUD_DEFAULT_DEVIATIONS: Readonly<Record<string, string>> = {
  "modules.cloudHub.authorization":
    "edgecloud default: enable true, debug false (KubeEdge: false, true); a node may only act as itself (cert CN system:node:<node_id>)",
};
