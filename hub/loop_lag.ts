/**
 * Event-loop lag sampling for `/metrics`: a timer due every `intervalMs` records how late it
 * fired. Everything in the hub (sockets, API requests, controllers) shares one event loop, so a
 * burst of synchronous work shows up here before it shows up as tail latency: a SyncController
 * pass that queued ~250 resends at once held the loop 50–150 ms every 5 s, which this histogram
 * names directly.
 *
 * Hand-written because `node:perf_hooks.monitorEventLoopDelay` under Deno 2.9 does not see
 * blocking (a 50 ms busy loop reads as a 0.2 ms maximum), and prom-client's default collectors
 * rely on it and on `/proc` reads the binary has no permission for.
 *
 * @example
 * ```ts
 * const stop = startLoopLagSampler((s) => metrics.eventLoopLag.observe(s));
 * stop();
 * ```
 */

/** Starts sampling; returns the function that stops it. The timer never keeps the process up. */
export function startLoopLagSampler(
  observe: (lagSeconds: number) => void,
  intervalMs = 50,
): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const arm = () => {
    const due = performance.now() + intervalMs;
    const t = setTimeout(() => {
      observe(Math.max(0, performance.now() - due) / 1000);
      if (!stopped) arm();
    }, intervalMs);
    Deno.unrefTimer(t);
    timer = t;
  };
  arm();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
