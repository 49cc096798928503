/**
 * The CloudHub module (docs/protocol.md §3, §4): the WebSocket listener, sessions, the dispatcher and
 * reliable delivery, plus the monitor endpoint. Other transports (QUIC) hand their connections
 * to {@link CloudHub.acceptor}.
 *
 * @example
 * ```ts
 * const hub = new CloudHub({ tls: { certPem, keyPem, caPem }, websocket: { port: 10000 } });
 * registry.register(hub);
 * await registry.startAll();
 * console.log(hub.ports.websocket);
 * ```
 */
import type { Bus, Module, ModuleContext } from "../modules/mod.ts";
import { buildMessage, Group, type MessageEnv, ModuleName, Operation } from "../modules/mod.ts";
import { type Clock, createLogger, systemClock, type TimerHandle } from "../lib/mod.ts";
import { Dispatcher } from "./dispatcher.ts";
import { HubMetrics } from "./metrics.ts";
import { type Monitor, startMonitor } from "./monitor.ts";
import { NodePools } from "./node_pool.ts";
import { MemorySyncStore, type SyncStore } from "../kube/mod.ts";
import type { DeliveryOptions } from "./session.ts";
import { SessionManager } from "./session_manager.ts";
import type { ConnectionAcceptor } from "./transport.ts";
import { WebSocketTransport } from "./websocket.ts";
import type { ConnLimits } from "../lib/mod.ts";

const log = createLogger("cloudhub");

/** Options of {@link CloudHub}; `main.ts` maps `modules.cloudHub` onto these. */
export interface CloudHubOptions {
  /** Server certificate, key and the CA client certificates must chain to (PEM). */
  tls: { certPem: string; keyPem: string; caPem: string };
  /**
   * WebSocket listener (default enabled on 0.0.0.0:10000); `limits` bound connections not yet
   * upgraded (`WebSocketTransportOptions.limits`).
   */
  websocket?: {
    enable?: boolean;
    address?: string;
    port?: number;
    maxPayload?: number;
    limits?: Partial<ConnLimits>;
  };
  /** Monitor endpoint (default enabled on 127.0.0.1:9091); `limits` as `MonitorOptions.limits`. */
  monitor?: { enable?: boolean; address?: string; port?: number; limits?: Partial<ConnLimits> };
  /** `keepaliveInterval` in seconds (default 30). */
  keepaliveInterval?: number;
  /** `nodeLimit` (default 500). */
  nodeLimit?: number;
  /** Require client cert CN `system:node:<node_id>` (default true). */
  authorization?: boolean;
  /** This hub's address, written to the Node annotation `cloudcore`. */
  advertiseAddress?: string;
  /** ObjectSync storage (default: in memory; production: `KubeSyncStore`). */
  syncStore?: SyncStore;
  /** Kubernetes CA PEM answered to `k8s/ca.crt` requests. */
  kubeCaPem?: string;
  /** Sets the Node annotation `cloudcore: <advertiseAddress>` (retried 3× at 1 s). */
  annotateNode?: (nodeId: string, advertiseAddress: string) => Promise<void>;
  /** HA: whether this hub queues downstream messages for a node (see `DispatcherOptions`). */
  acceptsNode?: (nodeId: string) => boolean;
  /** Called after a node's session started (after the §3.5 event and the annotation request). */
  onConnected?: (nodeId: string) => void;
  /** Called after a node's session ended without a newer local session replacing it. */
  onDisconnected?: (nodeId: string) => void;
  /** Extra readiness condition for `/readyz` (the hub itself must be listening). */
  ready?: () => boolean;
  /** Ack-path delivery tuning. */
  delivery?: DeliveryOptions;
  /** Bound of each node's offline no-ack queue (default 1000). */
  noAckCapacity?: number;
  /** Ack back-off cap in ms (default 60 000). */
  backoffCapMs?: number;
  clock?: Clock;
  env?: MessageEnv;
  /** Metrics registry (default: a new one). */
  metrics?: HubMetrics;
}

/** Bound ports, for tests (0 when the listener is disabled). */
export interface CloudHubPorts {
  websocket: number;
  monitor: number;
}

/** The CloudHub module; see module docs. */
export class CloudHub implements Module {
  readonly name = ModuleName.CloudHub;
  readonly group = ModuleName.CloudHub;
  readonly metrics: HubMetrics;
  readonly syncStore: SyncStore;
  readonly #opts: CloudHubOptions;
  readonly #clock: Clock;
  #bus: Bus | undefined;
  #pools: NodePools | undefined;
  #sessions: SessionManager | undefined;
  #dispatcher: Dispatcher | undefined;
  #ws: WebSocketTransport | undefined;
  #monitor: Monitor | undefined;
  #loop: Promise<void> | undefined;
  #ready = false;
  readonly #timers = new Set<TimerHandle>();
  readonly #ports: CloudHubPorts = { websocket: 0, monitor: 0 };

  constructor(opts: CloudHubOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.metrics = opts.metrics ?? new HubMetrics();
    this.syncStore = opts.syncStore ?? new MemorySyncStore();
  }

  /** Bound ports (after start). */
  get ports(): CloudHubPorts {
    return { ...this.#ports };
  }

  /** Where other transports hand authenticated connections (after start). */
  get acceptor(): ConnectionAcceptor {
    if (!this.#sessions) throw new Error("cloudhub is not started");
    return this.#sessions;
  }

  /** The session manager (after start; tests and diagnostics). */
  get sessions(): SessionManager {
    if (!this.#sessions) throw new Error("cloudhub is not started");
    return this.#sessions;
  }

  /** The dispatcher (after start; tests). */
  get dispatcher(): Dispatcher {
    if (!this.#dispatcher) throw new Error("cloudhub is not started");
    return this.#dispatcher;
  }

  /** The per-node pools (after start; tests and diagnostics). */
  get pools(): NodePools {
    if (!this.#pools) throw new Error("cloudhub is not started");
    return this.#pools;
  }

  /** True while listening and not stopping. */
  get ready(): boolean {
    return this.#ready && (this.#opts.ready?.() ?? true);
  }

  async start(ctx: ModuleContext): Promise<void> {
    const bus = ctx.bus;
    this.#bus = bus;
    const opts = this.#opts;
    this.#pools = new NodePools({
      syncStore: this.syncStore,
      clock: this.#clock,
      metrics: this.metrics,
      noAckCapacity: opts.noAckCapacity,
      backoffCapMs: opts.backoffCapMs,
    });
    const dispatcher = new Dispatcher({
      bus,
      pools: this.#pools,
      metrics: this.metrics,
      kubeCaPem: opts.kubeCaPem,
      env: opts.env,
      accepts: opts.acceptsNode,
    });
    this.#dispatcher = dispatcher;
    this.#sessions = new SessionManager({
      pools: this.#pools,
      clock: this.#clock,
      metrics: this.metrics,
      nodeLimit: opts.nodeLimit,
      keepaliveInterval: opts.keepaliveInterval,
      ...opts.delivery,
      onMessage: (session, msg) => {
        const r = dispatcher.upstream(session, msg);
        if (r instanceof Promise) return r.then(() => {});
      },
      onConnected: (nodeId) => {
        this.#publishEvent(nodeId, Operation.Connected);
        this.#annotate(nodeId);
        opts.onConnected?.(nodeId);
      },
      onDisconnected: (nodeId) => {
        this.#publishEvent(nodeId, Operation.Disconnected);
        opts.onDisconnected?.(nodeId);
      },
    });
    dispatcher.sessions = this.#sessions;
    if (!bus.modules().includes(this.name)) bus.addModule(this.name, this.group);
    this.#loop = dispatcher.run(this.name).catch((err) => {
      log.error("downstream loop ended", { error: err });
    });
    try {
      if (opts.monitor?.enable ?? true) {
        this.#monitor = await startMonitor({
          metrics: this.metrics,
          hostname: opts.monitor?.address ?? "127.0.0.1",
          port: opts.monitor?.port ?? 9091,
          limits: opts.monitor?.limits,
          ready: () => this.ready,
        });
        this.#ports.monitor = this.#monitor.port;
      }
      if (opts.websocket?.enable ?? true) {
        this.#ws = new WebSocketTransport({
          acceptor: this.#sessions,
          metrics: this.metrics,
          certPem: opts.tls.certPem,
          keyPem: opts.tls.keyPem,
          caPem: opts.tls.caPem,
          hostname: opts.websocket?.address ?? "0.0.0.0",
          port: opts.websocket?.port ?? 10000,
          authorization: opts.authorization,
          maxPayload: opts.websocket?.maxPayload,
          limits: opts.websocket?.limits,
          env: opts.env,
        });
        this.#ports.websocket = await this.#ws.start();
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.#ready = true;
  }

  /** §3.5: `{"event_type":…,"timestamp":<unix s>,"client_id":…}` to the edgecontroller group. */
  #publishEvent(nodeId: string, operation: string): void {
    const bus = this.#bus;
    if (!bus || bus.closed || bus.modules(ModuleName.EdgeController).length === 0) {
      return;
    }
    const msg = buildMessage({
      source: ModuleName.CloudHub,
      group: Group.Resource,
      operation,
      resource: `node/${nodeId}`,
    }, {
      event_type: operation,
      timestamp: Math.floor(this.#clock.now() / 1000),
      client_id: nodeId,
    }, { env: this.#opts.env });
    bus.sendToGroup(ModuleName.EdgeController, msg).catch((err) => {
      log.warn("publishing node event failed", { node: nodeId, operation, error: err });
    });
  }

  #annotate(nodeId: string): void {
    const annotate = this.#opts.annotateNode;
    const address = this.#opts.advertiseAddress;
    if (!annotate || !address) return;
    const attempt = (n: number) => {
      annotate(nodeId, address).catch((err) => {
        if (n >= 3 || !this.#ready) {
          log.warn("setting the cloudcore annotation failed", { node: nodeId, error: err });
          return;
        }
        const t = this.#clock.setTimeout(() => {
          this.#timers.delete(t);
          attempt(n + 1);
        }, 1_000);
        this.#timers.add(t);
      });
    };
    attempt(1);
  }

  async stop(): Promise<void> {
    this.#ready = false;
    for (const t of this.#timers) this.#clock.clearTimeout(t);
    this.#timers.clear();
    await this.#sessions?.stop();
    await this.#ws?.stop();
    await this.#dispatcher?.flush();
    // Success points held back for coalescing: a clean stop resends nothing after a restart.
    await this.syncStore.flush?.().catch((err) =>
      log.warn("writing deferred success points failed", { error: err })
    );
    this.#pools?.close();
    await this.#monitor?.close();
    this.#ws = undefined;
    this.#monitor = undefined;
    // The downstream loop ends when the registry removes the inbox (or the bus closes).
    void this.#loop;
  }
}
