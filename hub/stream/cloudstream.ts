/**
 * CloudStream (docs/cloudstream.md): the tunnel server edges dial, the stream server a real
 * kube-apiserver reaches (when its certificates are given), and the {@link KubeletProxy} the
 * embedded API uses for `kubectl logs/exec/attach/port-forward/top`. At start it negotiates the
 * kubelet port nodes announce (`kubeedge/tunnelport`), and writes it into each node's status when
 * the node's tunnel connects.
 *
 * @example
 * ```ts
 * const cs = new CloudStream({ kube, metrics, tunnel: { hostname: "0.0.0.0", port: 10004, ...tls },
 *   localIP: "10.0.0.1" });
 * await cs.start();
 * api.setNodeProxy(cs.proxy);
 * ```
 */
import type { Registry } from "prom-client";
import { createLogger } from "../../lib/mod.ts";
import type { ConnLimits } from "../../lib/mod.ts";
import type { KubeClient } from "../../kube/mod.ts";
import { KubeletProxy, type WebSocketUpgrade } from "./kubelet_proxy.ts";
import { StreamMetrics } from "./metrics.ts";
import { StreamServer } from "./stream_server.ts";
import { negotiateTunnelPort, setKubeletPort } from "./tunnel_port.ts";
import { TunnelServer } from "./tunnel_server.ts";
import { webSocketUpgrade } from "./websocket_streams.ts";

const log = createLogger("cloudstream");

/** A listener's address and TLS material. */
export interface StreamListener {
  hostname: string;
  port: number;
  certPem: string;
  keyPem: string;
  caPem: string;
}

/** Options of {@link CloudStream}. */
export interface CloudStreamOptions {
  kube: KubeClient;
  registry: Registry;
  tunnel: StreamListener;
  /** The stream server for kube-apiserver; omitted with the embedded API. */
  stream?: StreamListener;
  /** This cloud's address, the key of its negotiated port. */
  localIP: string;
  /** Check node certificates against the tunnel's node name (default true). */
  authorization?: boolean;
  limits?: Partial<ConnLimits>;
  /** Translates kubectl's WebSocket streams (default: websocket_streams.ts). */
  websocket?: WebSocketUpgrade;
  /** How long a node's endpoint update is retried (cloudcore: 2 min). */
  endpointTimeoutMs?: number;
}

/** See module docs. */
export class CloudStream {
  readonly tunnels: TunnelServer;
  readonly proxy: KubeletProxy;
  readonly metrics: StreamMetrics;
  #stream: StreamServer | undefined;
  #kubeletPort = 0;
  readonly #stopping = new AbortController();

  constructor(readonly opts: CloudStreamOptions) {
    this.metrics = new StreamMetrics(opts.registry);
    this.tunnels = new TunnelServer({
      ...opts.tunnel,
      authorization: opts.authorization,
      metrics: this.metrics,
      limits: opts.limits,
      onConnect: (node) => this.#recordEndpoint(node),
    });
    this.proxy = new KubeletProxy(this.tunnels, opts.websocket ?? webSocketUpgrade);
  }

  /** The negotiated kubelet port (after start). */
  get kubeletPort(): number {
    return this.#kubeletPort;
  }

  /** The stream server's port, or 0 without one. */
  get streamPort(): number {
    return this.#stream?.port ?? 0;
  }

  async start(): Promise<void> {
    this.#kubeletPort = await negotiateTunnelPort(this.opts.kube, this.opts.localIP);
    log.info("tunnel port negotiated", { localIP: this.opts.localIP, port: this.#kubeletPort });
    await this.tunnels.start();
    if (this.opts.stream) {
      this.#stream = new StreamServer({
        ...this.opts.stream,
        tunnels: this.tunnels,
        kube: this.opts.kube,
      });
      await this.#stream.start();
    }
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#stream?.stop();
    await this.tunnels.stop();
  }

  /** cloudcore's `updateNodeKubeletEndpoint`, retried while the node is not there yet. */
  async #recordEndpoint(node: string): Promise<void> {
    const deadline = Date.now() + (this.opts.endpointTimeoutMs ?? 120_000);
    let wait = 250;
    for (;;) {
      try {
        return await setKubeletPort(this.opts.kube, node, this.#kubeletPort);
      } catch (e) {
        if (Date.now() + wait > deadline || this.#stopping.signal.aborted) {
          throw new Error(
            `failed to update the kubelet endpoint port of node ${node}: ${(e as Error).message}`,
          );
        }
        await new Promise<void>((r) => {
          const t = setTimeout(r, wait);
          this.#stopping.signal.addEventListener("abort", () => {
            clearTimeout(t);
            r();
          }, { once: true });
        });
        wait = Math.min(wait * 2, 5_000);
      }
    }
  }
}
