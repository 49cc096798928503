/**
 * The EdgeController module (`edgecontroller`): downstream informers → edges, upstream edge
 * requests → Kubernetes API (docs/protocol.md §7).
 *
 * @example
 * ```ts
 * const kube = KubeClient.fromYaml(api.kubeconfigYaml);
 * const ec = new EdgeController({ kube, nodeUpdateFrequency: 10 });
 * registry.register(ec);           // bus inbox "edgecontroller", group "edgecontroller"
 * await registry.startAll();       // start() resolves once every informer has synced
 * ```
 */
import { ModuleName, receiveLoop } from "../../modules/mod.ts";
import type { Module, ModuleContext } from "../../modules/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import type { EdgeControllerBuffer, EdgeControllerLoad } from "../../config/mod.ts";
import type { Informer, KubeClient, KubeObject } from "../../kube/mod.ts";
import { type NodeAuthorizationMode, NodeAuthorizer } from "./authorize.ts";

function nodeAuthorizationMode(
  v: boolean | NodeAuthorizationMode | undefined,
): NodeAuthorizationMode {
  if (v === undefined || v === true) return "enforce";
  return v === false ? "off" : v;
}
import { DownstreamController } from "./downstream.ts";
import { LocationCache } from "./location.ts";
import { UpstreamController } from "./upstream.ts";
import type { UpstreamContext } from "./upstream_context.ts";

const log = createLogger("edgecontroller");

/** EdgeController settings (`modules.edgeController` plus the client). */
export interface EdgeControllerOptions {
  kube: KubeClient;
  /** Seconds; heartbeats older than this are refreshed on nodestatus update (default 10). */
  nodeUpdateFrequency?: number;
  /** `modules.edgeController.buffer` (defaults from nodeLimit). */
  buffer?: Partial<EdgeControllerBuffer>;
  /** `modules.edgeController.load` (defaults from nodeLimit). */
  load?: Partial<EdgeControllerLoad>;
  /** `cloudHub.nodeLimit` for node-scaled defaults (default 500). */
  nodeLimit?: number;
  /** Push services and endpoints to every edge node (default false, as cloudcore v1.23). */
  sendServicesToEdges?: boolean;
  /**
   * Node identity on upstream requests: enforced (default, or `true`), only logged (`"debug"`),
   * or not checked (`false`, `"off"`); see NodeAuthorizer.
   */
  nodeAuthorization?: boolean | NodeAuthorizationMode;
  /** Value of the `cloudcore` annotation on nodes created through us (default: first IPv4). */
  localIp?: string;
  /** Clock (ms), injectable for tests. */
  now?: () => number;
}

function firstIPv4(): string {
  try {
    for (const i of Deno.networkInterfaces()) {
      if (i.family === "IPv4" && !i.address.startsWith("127.")) return i.address;
    }
  } catch { /* no --allow-sys */ }
  return "127.0.0.1";
}

/** See module docs. */
export class EdgeController implements Module {
  readonly name = ModuleName.EdgeController;
  readonly group = ModuleName.EdgeController;
  readonly location = new LocationCache();
  #downstream?: DownstreamController;
  #upstream?: UpstreamController;
  #stopped = false;

  constructor(readonly opts: EdgeControllerOptions) {}

  /** The downstream controller (after start). */
  get downstream(): DownstreamController | undefined {
    return this.#downstream;
  }

  /** The upstream controller (after start). */
  get upstream(): UpstreamController | undefined {
    return this.#upstream;
  }

  /**
   * The informer caches other controllers may share, by kind (after start): Pod, ConfigMap,
   * Secret, and Service/Endpoints when they are sent to edges. Not Node: ours holds edge nodes
   * only.
   */
  sharedCaches(): Partial<Record<string, Informer<KubeObject>>> {
    const d = this.#downstream;
    if (!d) return {};
    const out: Partial<Record<string, Informer<KubeObject>>> = {
      Pod: d.pods,
      ConfigMap: d.configmaps,
      Secret: d.secrets,
    };
    if (d.services) out.Service = d.services;
    if (d.endpoints) out.Endpoints = d.endpoints;
    return out;
  }

  /** Starts informers, waits for them to sync and replay, then serves upstream requests. */
  async start(ctx: ModuleContext): Promise<void> {
    const { kube } = this.opts;
    const downstream = new DownstreamController({
      kube,
      bus: ctx.bus,
      location: this.location,
      sendServicesToEdges: this.opts.sendServicesToEdges,
    });
    this.#downstream = downstream;
    const uctx: UpstreamContext = {
      kube,
      bus: ctx.bus,
      caches: {
        nodes: downstream.nodes,
        pods: downstream.pods,
        configmaps: downstream.configmaps,
        secrets: downstream.secrets,
      },
      location: this.location,
      auth: new NodeAuthorizer(
        this.location,
        kube,
        nodeAuthorizationMode(this.opts.nodeAuthorization),
      ),
      nodeUpdateFrequencyMs: (this.opts.nodeUpdateFrequency ?? 10) * 1000,
      localIp: this.opts.localIp ?? firstIPv4(),
      now: this.opts.now ?? Date.now,
    };
    this.#upstream = new UpstreamController(uctx, {
      buffer: this.opts.buffer,
      load: this.opts.load,
      nodeLimit: this.opts.nodeLimit,
    });
    await downstream.start();
    const upstream = this.#upstream;
    // The loop ends when the registry removes our inbox after stop().
    receiveLoop(ctx.bus, this.name, async (msg) => {
      if (!this.#stopped) await upstream.dispatch(msg);
    }).catch((err) => log.error("edgecontroller receive loop ended", { error: err }));
    log.info("edgecontroller started");
  }

  /** Stops informers and worker pools. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([this.#downstream?.stop(), this.#upstream?.stop()]);
  }
}
