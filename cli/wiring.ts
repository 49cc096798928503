/**
 * The process's real module list for `edgecloud serve`, built from the config:
 *
 * 1. the Kubernetes API: `kubeAPIConfig.kubeConfig` (or `--kubeconfig`), else the embedded API;
 * 2. certificates (docs/protocol.md §5.4): files, else Secrets, else generated and saved;
 * 3. modules in start order: the cert server (:10002) with the join token, CloudHub (WebSocket
 *    :10000, monitor :9091), the QUIC listener (:10001) and the CSI socket when enabled, then
 *    EdgeController, DeviceController and the ObjectSync reconciler.
 *
 * With `leaderElection.enable` (the default; docs/ha.md) several replicas can share one cluster:
 * the SyncController runs only on the holder of the Lease (a {@link LeaderGate} starts it per
 * term), every replica serves edges, and a {@link ReplicaCoordinator} keeps each node's queue and
 * ObjectSync writes on the replica holding its session (watched ObjectSyncs, catch-up on
 * connect). One replica simply leads.
 *
 * Stopped in reverse order by the registry; the API client and the embedded API close last.
 */
import { type EmbeddedApi, embeddedKubeconfigPath, startEmbeddedApi } from "../apiserver/mod.ts";
import { splitHostPort, udsAddress } from "./addresses.ts";
import { KubeClientSecretStore } from "./secret_store.ts";
import { buildCloudStream } from "./wiring_stream.ts";
import type { CloudCoreConfig, ConnectionLimits } from "../config/mod.ts";
import { DeviceController, KubeDeviceApi } from "../controllers/device/mod.ts";
import { authorizationMode, EdgeController } from "../controllers/edge/mod.ts";
import {
  isNotFound,
  KubeClient,
  kubeNodeAnnotator,
  KubeSyncStore,
  LazyKubeConfig,
  loadClientNode,
} from "../kube/mod.ts";
import { SyncController } from "../controllers/sync/mod.ts";
import { DynamicController } from "../controllers/dynamic/mod.ts";
import { ClusterControllers } from "../controllers/cluster/mod.ts";
import {
  CertServer,
  KubeSecretStore,
  prepareCerts,
  type PreparedCerts,
  readStoredToken,
  type SecretStore,
  TokenManager,
} from "../hub/certs/mod.ts";
import { CloudHub, HubMetrics, QuicServer, UdsServer } from "../hub/mod.ts";
import {
  defaultIdentity,
  httpLeaseLock,
  LeaderGate,
  leaderOnlyEvents,
  ReplicaCoordinator,
} from "../ha/mod.ts";
import { createLogger } from "../lib/mod.ts";
import type { ConnLimits } from "../lib/mod.ts";
import type { Module } from "../modules/mod.ts";
import type { ModuleSpec, ServeContext } from "./serve.ts";

export { splitHostPort, udsAddress };

const log = createLogger("edgecloud");

/** A listener or background service that is not a bus participant, run as a module for ordering. */
export function serviceModule(
  name: string,
  start: () => Promise<unknown>,
  stop: () => Promise<unknown>,
): Module {
  return {
    name,
    group: name,
    start: async () => void await start(),
    stop: async () => void await stop(),
  };
}

/** The Kubernetes API edgecloud talks to. */
export interface ApiConnection {
  kube: KubeClient;
  /** The API's CA (PEM), answered to edges asking for `k8s/ca.crt`. */
  caPem: string;
  /** Where it came from, for the ready log line. */
  source: string;
  /** True for the embedded API: the cluster controllers run only then. */
  embedded: boolean;
  /** The embedded API itself, when it is the one. */
  embeddedApi?: EmbeddedApi;
}

/** A cloudcore.yaml `connectionLimits` section (seconds) as listener limits (ms). */
export function connLimitsOf(c: ConnectionLimits): ConnLimits {
  return {
    handshakeTimeoutMs: c.handshakeTimeout * 1000,
    idleTimeoutMs: c.idleTimeout * 1000,
    maxPending: c.maxPendingConnections,
  };
}

/**
 * Connects to the configured cluster, or starts the embedded API in the data dir. Registers the
 * closers with `ctx.onShutdown`. Connections the embedded API's listener drops are counted in
 * `metrics` (listener `apiserver`).
 */
export async function connectApi(ctx: ServeContext, metrics?: HubMetrics): Promise<ApiConnection> {
  const cfg = ctx.config;
  const clientOpts = {
    qps: cfg.kubeAPIConfig.qps,
    burst: cfg.kubeAPIConfig.burst,
    nodeLimit: cfg.modules.cloudHub.nodeLimit,
  };
  let caPem = "";
  let source: string;
  let kube: KubeClient;
  let embeddedApi: EmbeddedApi | undefined;
  if (cfg.kubeAPIConfig.kubeConfig) {
    // A real cluster's kubeconfig may need client-node's auth (exec, token files): load it now.
    const { KubeConfig } = await loadClientNode();
    const kc = new KubeConfig();
    kc.loadFromFile(cfg.kubeAPIConfig.kubeConfig);
    if (cfg.kubeAPIConfig.master) {
      const cluster = kc.getCurrentCluster();
      if (cluster) Object.assign(cluster, { server: cfg.kubeAPIConfig.master });
    }
    const cluster = kc.getCurrentCluster();
    if (cluster?.caData) {
      caPem = new TextDecoder().decode(
        Uint8Array.from(atob(cluster.caData), (c) => c.charCodeAt(0)),
      );
    } else if (cluster?.caFile) caPem = await Deno.readTextFile(cluster.caFile);
    source = cfg.kubeAPIConfig.kubeConfig;
    kube = new KubeClient(kc, clientOpts);
  } else {
    const api = await startEmbeddedApi({
      dataDir: ctx.dataDir,
      hostname: cfg.apiServer.bindAddress,
      port: cfg.apiServer.port,
      limits: connLimitsOf(cfg.apiServer.connectionLimits),
      onConnectionDrop: (reason) => metrics?.listenerDrops.inc({ listener: "apiserver", reason }),
    });
    ctx.onShutdown(() => api.close());
    embeddedApi = api;
    caPem = api.caPem;
    source = `embedded ${api.url} (kubeconfig ${api.kubeconfigPath})`;
    // The controllers' own calls stay in this process: no TLS, no socket, same handler; and
    // nothing on this path needs client-node, so it stays unloaded (issue 23).
    kube = new KubeClient(new LazyKubeConfig(api.kubeconfigYaml, api.url, api.caPem, api.token), {
      ...clientOpts,
      transport: api.handle,
    });
  }
  ctx.onShutdown(() => kube.close());
  return { kube, caPem, source, embedded: embeddedApi !== undefined, embeddedApi };
}

/** IP SANs: the configured advertise addresses plus loopback, so local edges and tests verify. */
export function certAddresses(cfg: CloudCoreConfig): { ips: string[]; dnsNames: string[] } {
  const hub = cfg.modules.cloudHub;
  const ips = [...new Set([...hub.advertiseAddress.filter(Boolean), "127.0.0.1"])];
  const dnsNames = [...new Set([...hub.dnsNames.filter(Boolean), "localhost"])];
  return { ips, dnsNames };
}

/** Loads or creates the CA and the server certificate (files, then Secrets, then generated). */
export function loadCerts(cfg: CloudCoreConfig, store: SecretStore): Promise<PreparedCerts> {
  const hub = cfg.modules.cloudHub;
  const { ips, dnsNames } = certAddresses(cfg);
  return prepareCerts({
    store,
    caFile: hub.tlsCAFile,
    caKeyFile: hub.tlsCAKeyFile,
    certFile: hub.tlsCertFile,
    keyFile: hub.tlsPrivateKeyFile,
    advertiseAddress: ips,
    dnsNames,
  });
}

/** Builds every module `edgecloud serve` runs (see module docs). */
export async function buildServeModules(ctx: ServeContext): Promise<ModuleSpec[]> {
  const cfg = ctx.config;
  const hubCfg = cfg.modules.cloudHub;
  // One registry for every listener's drops, the embedded API's included (started first).
  const metrics = new HubMetrics();
  const limits = connLimitsOf(hubCfg.connectionLimits);
  const api = await connectApi(ctx, metrics);
  // Raw JSON through the hub's client: in this process when the API is embedded.
  const store = new KubeClientSecretStore(api.kube);
  const certs = await loadCerts(cfg, store);
  const tls = {
    certPem: certs.serverCert.certPem,
    keyPem: certs.serverCert.keyPem,
    caPem: certs.ca.certPem,
  };
  const advertise = certAddresses(cfg).ips[0];

  const tokens = new TokenManager({
    ca: certs.ca,
    store,
    refreshHours: hubCfg.tokenRefreshDuration,
  });
  const certServer = new CertServer({
    address: hubCfg.https.address,
    port: hubCfg.https.port,
    ca: certs.ca,
    serverCert: certs.serverCert,
    signingDays: hubCfg.edgeCertSigningDuration,
    limits,
    onConnectionDrop: (reason) => metrics.listenerDrops.inc({ listener: "https", reason }),
    nodeExists: async (name) => {
      try {
        // One GET as the typed client made it (no retries), in process when embedded.
        await api.kube.http.request("GET", `/api/v1/nodes/${encodeURIComponent(name)}`);
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },
  });

  const edgeController = new EdgeController({
    kube: api.kube,
    nodeUpdateFrequency: cfg.modules.edgeController.nodeUpdateFrequency,
    buffer: cfg.modules.edgeController.buffer,
    load: cfg.modules.edgeController.load,
    nodeLimit: hubCfg.nodeLimit,
    sendServicesToEdges: cfg.modules.edgeController.sendServicesToEdges,
    // As cloudcore's authorizer: enable false checks nothing, debug only logs.
    nodeAuthorization: authorizationMode(hubCfg.authorization),
    localIp: advertise,
  });
  // HA needs the EdgeController's caches (node annotations, objects for the catch-up).
  const le = cfg.leaderElection;
  const haEnabled = le.enable && cfg.modules.edgeController.enable;
  // CloudHub's ObjectSync writes (through the HA index when HA is on); the SyncController
  // also reads the success points it still holds back.
  const os = cfg.modules.cloudHub.objectSync;
  const syncWriter = new KubeSyncStore(api.kube.http, {
    writeConcurrency: os.writeConcurrency,
    successPointDelayMs: os.successPointDelay * 1000,
    successPointQps: os.successPointQPS,
    successPointBurst: os.successPointBurst,
  });
  const pendingRv = (namespace: string | null, name: string) =>
    syncWriter.pendingRv({ namespace, name });
  const replica = haEnabled
    ? new ReplicaCoordinator({ self: advertise, kube: api.kube, writer: syncWriter })
    : undefined;
  const gate = le.enable
    ? new LeaderGate({
      elector: {
        lock: httpLeaseLock(api.kube.http, le.resourceNamespace, le.resourceName),
        identity: defaultIdentity(),
        leaseDurationSeconds: le.leaseDuration,
        renewDeadlineSeconds: le.renewDeadline,
        retryPeriodSeconds: le.retryPeriod,
      },
      singletons: cfg.modules.syncController.enable
        ? [
          () =>
            new SyncController({
              kube: api.kube,
              caches: () => edgeController.sharedCaches(),
              pendingRv,
            }),
        ]
        : [],
    })
    : undefined;
  const deviceController = new DeviceController({
    kube: api.kube,
    api: gate ? leaderOnlyEvents(new KubeDeviceApi(api.kube), () => gate.leading) : undefined,
    updateDeviceTwinsBuffer: cfg.modules.deviceController.buffer.updateDeviceTwins,
    updateDeviceStatusWorkers: cfg.modules.deviceController.load.updateDeviceStatusWorkers,
  });
  const syncController = gate ? undefined : new SyncController({
    kube: api.kube,
    caches: () => edgeController.sharedCaches(),
    pendingRv,
  });

  // /readyz turns 200 once every module (controllers included) has started: see the marker below.
  let controllersStarted = false;
  const monitor = splitHostPort(cfg.commonConfig.monitorServer.bindAddress, 9091);
  const hub = new CloudHub({
    tls,
    websocket: {
      enable: hubCfg.websocket.enable,
      address: hubCfg.websocket.address,
      port: hubCfg.websocket.port,
      limits,
    },
    monitor: { enable: true, address: monitor.host, port: monitor.port, limits },
    metrics,
    keepaliveInterval: hubCfg.keepaliveInterval,
    nodeLimit: hubCfg.nodeLimit,
    authorization: hubCfg.authorization.enable && !hubCfg.authorization.debug,
    advertiseAddress: advertise,
    syncStore: syncWriter,
    ...replica?.hubOptions(),
    kubeCaPem: api.caPem,
    annotateNode: kubeNodeAnnotator(api.kube.http),
    ready: () => controllersStarted,
  });

  const specs: ModuleSpec[] = [
    {
      module: serviceModule("cloudhub-https", async () => {
        await tokens.start();
        await certServer.start();
      }, async () => {
        await certServer.close();
        tokens.stop();
      }),
      enabled: hubCfg.enable && hubCfg.https.enable,
    },
    { module: hub, enabled: hubCfg.enable },
  ];
  if (hubCfg.enable && hubCfg.quic.enable) {
    let quic: QuicServer | undefined;
    specs.push({
      module: serviceModule("cloudhub-quic", async () => {
        quic = new QuicServer({
          hostname: hubCfg.quic.address,
          port: hubCfg.quic.port,
          tls,
          acceptor: hub.acceptor,
          maxIncomingStreams: hubCfg.quic.maxIncomingStreams,
          headerTimeoutMs: limits.handshakeTimeoutMs,
          maxPending: limits.maxPending,
          metrics: hub.metrics,
        });
        await quic.start();
      }, async () => await quic?.stop()),
    });
  }
  if (hubCfg.enable && hubCfg.unixsocket.enable) {
    let uds: UdsServer | undefined;
    specs.push({
      module: serviceModule("cloudhub-uds", async () => {
        uds = new UdsServer({
          address: udsAddress(ctx),
          bus: ctx.bus,
          timeoutMs: hubCfg.unixsocket.requestTimeout * 1000,
          nodeOnline: (nodeId) => hub.sessions.get(nodeId) !== undefined,
        });
        await uds.start();
      }, async () => await uds?.stop()),
    });
  }
  const cloudStream = await buildCloudStream(
    ctx,
    api.kube,
    api.embeddedApi,
    tls,
    metrics,
    limits,
    advertise,
  );
  if (cloudStream) {
    specs.push({
      module: serviceModule("cloudstream", () => cloudStream.start(), () => cloudStream.stop()),
    });
  }
  if (replica) specs.push({ module: replica.recordsModule(), enabled: hubCfg.enable });
  specs.push(
    { module: edgeController, enabled: cfg.modules.edgeController.enable },
    { module: deviceController, enabled: cfg.modules.deviceController.enable },
  );
  if (cfg.modules.dynamicController.enable) {
    // Edge MetaServer requests; without it the hub answers them Rejected (503).
    specs.push({
      module: new DynamicController({
        kube: api.kube,
        location: edgeController.location,
        authorization: authorizationMode(hubCfg.authorization),
      }),
    });
  }
  if (replica) {
    specs.push({ module: replica.attachModule(hub, edgeController), enabled: hubCfg.enable });
  }
  if (gate) specs.push({ module: gate });
  if (api.embedded) {
    // The embedded API is a whole cluster: workloads, scheduler, node lifecycle (issue 22). A real
    // cluster has its own kube-controller-manager and scheduler, so they stay off there.
    const cluster = new ClusterControllers({
      kube: api.kube,
      now: () => new Date(),
      nodeMonitorGracePeriodMs: cfg.apiServer.nodeMonitorGracePeriod * 1000,
      caPem: api.caPem,
    });
    specs.push({
      module: serviceModule("cluster-controllers", () => cluster.start(), () => cluster.stop()),
    });
    log.info("embedded control plane: its controllers run in this process", {
      controllers: cluster.controllers.map((c) => c.name).join(","),
    });
  } else {
    log.info("embedded control plane off: the cluster given has its own controllers");
  }
  if (syncController) {
    specs.push({ module: syncController, enabled: cfg.modules.syncController.enable });
  }
  specs.push(
    // Last in start order: reaching it means every module before it started.
    {
      module: serviceModule("ready", () => Promise.resolve(controllersStarted = true), () => {
        controllersStarted = false;
        return Promise.resolve();
      }),
    },
  );
  log.info("kubernetes API", {
    source: api.source,
    ca: certs.source.ca,
    serverCert: certs.source.serverCert,
  });
  return specs;
}

/** `edgecloud token`: the current join token from Secret `kubeedge/tokensecret`. */
/**
 * A TLS verification failure against the API, said as what it means: the server's CA is not the
 * one in the kubeconfig (a data dir recreated, or another hub now on that port).
 */
function caChanged(
  err: unknown,
  server: string,
  ctx: { config: CloudCoreConfig; dataDir: string },
): Error | undefined {
  const text = String((err as Error)?.message ?? err) + String((err as Error)?.cause ?? "");
  if (
    !/unable to verify|self[- ]signed|certificate verify|UnknownIssuer|invalid peer certificate|BadSignature/i
      .test(text)
  ) {
    return undefined;
  }
  const kubeconfig = ctx.config.kubeAPIConfig.kubeConfig ||
    embeddedKubeconfigPath(ctx.dataDir);
  return new Error(
    `the API server at ${server} does not present a certificate from the CA in ${kubeconfig}: ` +
      "its CA changed (was the data dir recreated, or is another hub serving on that port?)",
  );
}

export async function currentToken(
  ctx: { config: CloudCoreConfig; dataDir: string },
): Promise<string> {
  const { CoreV1Api, KubeConfig } = await loadClientNode();
  const kc = new KubeConfig();
  if (ctx.config.kubeAPIConfig.kubeConfig) kc.loadFromFile(ctx.config.kubeAPIConfig.kubeConfig);
  else {
    const path = embeddedKubeconfigPath(ctx.dataDir);
    try {
      kc.loadFromString(await Deno.readTextFile(path));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new Error(
          `no embedded API state in ${ctx.dataDir} (${path} is missing): start "edgecloud serve" first`,
        );
      }
      throw err;
    }
  }
  let token;
  try {
    token = await readStoredToken(new KubeSecretStore(kc.makeApiClient(CoreV1Api)));
  } catch (err) {
    throw caChanged(err, kc.getCurrentCluster()?.server ?? "the API server", ctx) ?? err;
  }
  if (!token) {
    throw new Error(
      "no join token yet: Secret kubeedge/tokensecret is empty; is edgecloud serving?",
    );
  }
  return token;
}
