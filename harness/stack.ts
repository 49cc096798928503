/**
 * An in-process edgecloud for benches and failure tests: the embedded API on Deno KV, CloudHub
 * (mTLS WebSocket on 127.0.0.1, port 0), EdgeController, SyncController and optionally
 * DeviceController, wired on
 * one bus exactly as `edgecloud serve` wires them, with ObjectSync records kept in the API.
 *
 * @example
 * ```ts
 * const stack = await startStack({});
 * const creds = await stack.issuer.credentials("n1");
 * // ... EdgeClient / EdgeSimulator against stack.server
 * await stack.close();
 * ```
 */
import { type EmbeddedApi, startEmbeddedApi } from "../apiserver/mod.ts";
import { KubeClient, KubeSyncStore } from "../kube/mod.ts";
import { EdgeController } from "../controllers/edge/mod.ts";
import { DeviceController } from "../controllers/device/mod.ts";
import { SyncController } from "../controllers/sync/mod.ts";
import { DynamicController } from "../controllers/dynamic/mod.ts";
import { ClusterControllers } from "../controllers/cluster/mod.ts";
import { CloudHub, type CloudHubOptions } from "../hub/mod.ts";
import { CloudStream } from "../hub/stream/mod.ts";
import { Registry } from "prom-client";
import { Bus, ModuleRegistry } from "../modules/mod.ts";
import { type BenchPki, createBenchPki, NodeCertIssuer } from "./pki.ts";

/** Options of {@link startStack}. */
export interface StackOptions {
  /** Data directory for the API's KV (default: a new temp dir, removed on close). */
  dataDir?: string;
  /** Reuse a PKI (hub restarts must keep the CA the edges trust). */
  pki?: BenchPki;
  /** Start DeviceController too (default false). */
  devices?: boolean;
  /** Start SyncController (ObjectSync reconciliation; default true, as `serve`). */
  sync?: boolean;
  /** KubeSyncStore API requests in flight (default: its own, 16). */
  syncWriteConcurrency?: number;
  /** Extra CloudHub options (nodeLimit, keepaliveInterval, ...). */
  hub?: Partial<CloudHubOptions>;
  /** WebSocket port (default 0). */
  port?: number;
  /** Start an API of our own (default) or use this one (API outage tests). */
  api?: { kubeconfigYaml: string };
  /** Start CloudStream (tunnel server on 127.0.0.1:0, the embedded API's node proxy). */
  stream?: boolean;
  /** Also CloudStream's stream server for kube-apiserver (127.0.0.1:0, the hub's certificate). */
  streamServer?: boolean;
  /** Start DynamicController (edge MetaServer requests; default false, as cloudcore). */
  dynamic?: boolean;
  /** The embedded API's watch log length (small values make compaction easy to reach). */
  watchLogSize?: number;
  /** Run the embedded control plane's controllers (scheduler, node lifecycle, workloads). */
  cluster?: { nodeMonitorGracePeriodMs?: number };
}

/** A running stack. */
export interface Stack {
  api: EmbeddedApi | undefined;
  kube: KubeClient;
  bus: Bus;
  hub: CloudHub;
  edgeController: EdgeController;
  deviceController: DeviceController | undefined;
  dynamicController: DynamicController | undefined;
  pki: BenchPki;
  issuer: NodeCertIssuer;
  /** `127.0.0.1:<port>` of the WebSocket listener. */
  server: string;
  /** API requests the hub's own modules made (in process), so far. */
  apiRequests(): number;
  /** The cluster controllers, with `cluster`. */
  cluster: ClusterControllers | undefined;
  /** CloudStream, with `stream: true`. */
  stream: CloudStream | undefined;
  /** `127.0.0.1:<port>` of the tunnel server ("" without CloudStream). */
  tunnelServer: string;
  dataDir: string;
  close(): Promise<void>;
}

/** Starts API + CloudHub + controllers; see module docs. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const ownDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? await Deno.makeTempDir({ prefix: "edgecloud-stack-" });
  const api = opts.api
    ? undefined
    : await startEmbeddedApi({ dataDir, port: 0, watchLogSize: opts.watchLogSize });
  // Like `edgecloud serve`: the controllers reach an API of their own process without a socket.
  // In-process API calls are counted (benches report API requests per pod).
  let apiRequests = 0;
  const handle = api ? (req: Request) => (apiRequests++, api.handle(req)) : undefined;
  const kube = KubeClient.fromYaml(opts.api?.kubeconfigYaml ?? api!.kubeconfigYaml, {
    transport: handle,
  });
  const pki = opts.pki ?? await createBenchPki();
  const bus = new Bus();
  const syncStore = new KubeSyncStore(kube.http, { writeConcurrency: opts.syncWriteConcurrency });
  const hub = new CloudHub({
    tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem, caPem: pki.ca.certPem },
    websocket: { address: "127.0.0.1", port: opts.port ?? 0 },
    monitor: { enable: false },
    syncStore,
    nodeLimit: 100_000,
    advertiseAddress: "127.0.0.1",
    ...opts.hub,
  });
  const edgeController = new EdgeController({ kube, localIp: "127.0.0.1", nodeLimit: 100_000 });
  const deviceController = opts.devices ? new DeviceController({ kube }) : undefined;
  const syncController = opts.sync === false ? undefined : new SyncController({
    kube,
    caches: () => edgeController.sharedCaches(),
    pendingRv: (namespace, name) => syncStore.pendingRv({ namespace, name }),
  });
  // The registry adds each module's inbox before starting it, in order, as `serve` does.
  const registry = new ModuleRegistry(bus);
  registry.register(hub);
  registry.register(edgeController);
  if (deviceController) registry.register(deviceController);
  const dynamicController = opts.dynamic
    ? new DynamicController({ kube, location: edgeController.location })
    : undefined;
  if (dynamicController) registry.register(dynamicController);
  if (syncController) registry.register(syncController);
  await registry.startAll();
  const server = `127.0.0.1:${hub.ports.websocket}`;
  const cluster = opts.cluster
    ? new ClusterControllers({
      kube,
      now: () => new Date(),
      nodeMonitorGracePeriodMs: opts.cluster.nodeMonitorGracePeriodMs ?? 40_000,
      caPem: api?.caPem,
    })
    : undefined;
  await cluster?.start();
  let stream: CloudStream | undefined;
  if (opts.stream) {
    stream = new CloudStream({
      kube,
      registry: new Registry(),
      tunnel: {
        hostname: "127.0.0.1",
        port: 0,
        certPem: pki.server.certPem,
        keyPem: pki.server.keyPem,
        caPem: pki.ca.certPem,
      },
      localIP: "127.0.0.1",
      stream: opts.streamServer
        ? {
          hostname: "127.0.0.1",
          port: 0,
          certPem: pki.server.certPem,
          keyPem: pki.server.keyPem,
          caPem: pki.ca.certPem,
        }
        : undefined,
    });
    await stream.start();
    api?.setNodeProxy(stream.proxy);
  }
  return {
    api,
    kube,
    bus,
    hub,
    edgeController,
    deviceController,
    dynamicController,
    pki,
    issuer: new NodeCertIssuer(pki),
    server,
    stream,
    tunnelServer: stream ? `127.0.0.1:${stream.tunnels.port}` : "",
    dataDir,
    cluster,
    apiRequests: () => apiRequests,
    async close() {
      await cluster?.stop();
      await stream?.stop();
      await registry.stopAll();
      bus.close();
      await kube.close();
      await api?.close();
      if (ownDir) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}
