/**
 * The monitor endpoint (KubeEdge: `127.0.0.1:9091`): `/metrics` in Prometheus text format,
 * `/healthz` (always 200 while serving) and `/readyz` (200 only when the readiness callback
 * says so, else 503). While it serves, event-loop lag is sampled into
 * `edgecloud_event_loop_lag_seconds` ({@link startLoopLagSampler}).
 *
 * @example
 * ```ts
 * const monitor = await startMonitor({ metrics, hostname: "127.0.0.1", port: 9091, ready: () => true });
 * await monitor.close();
 * ```
 */
import { createLogger } from "../modules/log.ts";
import type { HubMetrics } from "./metrics.ts";
import { startLoopLagSampler } from "./loop_lag.ts";

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
}

/** A running monitor server. */
export interface Monitor {
  /** The bound port. */
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the monitor server; resolves once it listens. */
export function startMonitor(opts: MonitorOptions): Promise<Monitor> {
  const ready = opts.ready ?? (() => true);
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname: opts.hostname ?? "127.0.0.1",
        port: opts.port ?? 9091,
        onListen: ({ port }) => {
          log.info("monitor listening", { port });
          const stopSampler = startLoopLagSampler((s) => opts.metrics.eventLoopLag.observe(s));
          resolve({
            port,
            close: () => {
              stopSampler();
              return server.shutdown();
            },
          });
        },
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
    } catch (err) {
      reject(err);
    }
  });
}
