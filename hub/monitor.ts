/**
 * The monitor endpoint (KubeEdge: `127.0.0.1:9091`): `/metrics` in Prometheus text format,
 * `/healthz` (always 200 while serving) and `/readyz` (200 only when the readiness callback
 * says so, else 503). While it serves, event-loop lag is sampled into
 * `edgecloud_event_loop_lag_seconds` ({@link startLoopLagSampler}).
 *
 * Served by lib/fetch_server.ts (`node:http`) rather than `Deno.serve`, so even this local
 * endpoint drops silent or half-sent connections and holds a bounded number of them.
 *
 * @example
 * ```ts
 * const monitor = await startMonitor({ metrics, hostname: "127.0.0.1", port: 9091, ready: () => true });
 * await monitor.close();
 * ```
 */
import { createLogger, serveFetch } from "../lib/mod.ts";
import type { HubMetrics } from "./metrics.ts";
import { startLoopLagSampler } from "./loop_lag.ts";
import type { ConnLimits } from "../lib/mod.ts";

const log = createLogger("monitor");

/** Options of {@link startMonitor}. */
export interface MonitorOptions {
  metrics: HubMetrics;
  /** Bind address (default `127.0.0.1`). */
  hostname?: string;
  /** Port (default 9091; 0 picks a free one). */
  port?: number;
  /** Readiness check for `/readyz`. */
  ready?: () => boolean;
  /**
   * Connection limits (lib/conn_guard.ts defaults: request headers within 10 s, 1024
   * pending, 5 s keep-alive idle); drops count in `edgecloud_listener_dropped_connections_total`.
   */
  limits?: Partial<ConnLimits>;
}

/** A running monitor server. */
export interface Monitor {
  /** The bound port. */
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the monitor server; resolves once it listens. */
export async function startMonitor(opts: MonitorOptions): Promise<Monitor> {
  const ready = opts.ready ?? (() => true);
  const server = await serveFetch({
    listener: "monitor",
    setting: "commonConfig.monitorServer.bindAddress",
    hostname: opts.hostname ?? "127.0.0.1",
    port: opts.port ?? 9091,
    limits: opts.limits,
    onDrop: (reason) => opts.metrics.listenerDrops.inc({ listener: "monitor", reason }),
  }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/metrics") {
      return new Response(await opts.metrics.render(), {
        headers: { "content-type": opts.metrics.contentType },
      });
    }
    if (path === "/healthz") return new Response("ok\n");
    if (path === "/readyz") {
      return ready() ? new Response("ok\n") : new Response("not ready\n", { status: 503 });
    }
    return new Response("not found\n", { status: 404 });
  });
  log.info("monitor listening", { port: server.port });
  const stopSampler = startLoopLagSampler((s) => opts.metrics.eventLoopLag.observe(s));
  const untrack = opts.metrics.trackPending("monitor", () => server.guard.pending);
  return {
    port: server.port,
    close: () => {
      stopSampler();
      untrack();
      return server.close();
    },
  };
}
