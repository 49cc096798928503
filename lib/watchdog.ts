/**
 * systemd's service watchdog (`WatchdogSec=` in the unit): `WATCHDOG=1` over the notify socket
 * every half of the timeout systemd passes in `$WATCHDOG_USEC`, as `sd_watchdog_enabled(3)`
 * prescribes (ignored when `$WATCHDOG_PID` names another process).
 *
 * The pings come from a timer on the event loop that calls {@link startWatchdog} (serve calls it
 * on the main one), so a loop that is stuck — a runaway synchronous computation, an endless
 * chain of microtasks — stops them; systemd then kills the service and `Restart=on-failure`
 * restarts it (a watchdog timeout counts as a failure).
 *
 * @example
 * ```ts
 * const watchdog = startWatchdog({ bindPath: "/var/lib/edgecloud/notify.sock" }); // undefined when off
 * await watchdog?.stop();
 * ```
 */
import { createLogger } from "./mod.ts";
import { sdNotify, type SdNotifyOptions } from "./sdnotify.ts";

const log = createLogger("sdnotify");

/** Environment variables read here; see `ENV_NAMES` in permissions.ts. */
export const WATCHDOG_ENV = ["WATCHDOG_USEC", "WATCHDOG_PID"] as const;

/** One variable, or undefined when unset or not readable (no `--allow-env` for it). */
function readEnv(name: (typeof WATCHDOG_ENV)[number]): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    throw err;
  }
}

/**
 * The ping interval systemd asks of process `pid`, in ms (half of `$WATCHDOG_USEC`), or
 * undefined when the watchdog is off, meant for another process, or the variables are not
 * readable.
 */
export function watchdogIntervalFromEnv(pid: number = Deno.pid): number | undefined {
  const usec = Number(readEnv("WATCHDOG_USEC"));
  if (!Number.isSafeInteger(usec) || usec <= 0) return undefined;
  const target = readEnv("WATCHDOG_PID");
  if (target !== undefined && Number(target) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

/** Options of {@link startWatchdog}. */
export interface WatchdogOptions extends SdNotifyOptions {
  /** Milliseconds between pings; default {@link watchdogIntervalFromEnv}. */
  intervalMs?: number;
}

/** A running watchdog pinger. */
export interface Watchdog {
  readonly intervalMs: number;
  /** Stops the pings; resolves once a ping in flight is done. */
  stop(): Promise<void>;
}

/**
 * Pings at once and then every `intervalMs` from a timer on this event loop; undefined (nothing
 * started) when systemd asked for no watchdog. A failed ping is logged, once until one succeeds.
 * The timer does not keep the process alive.
 */
export function startWatchdog(options: WatchdogOptions): Watchdog | undefined {
  const intervalMs = options.intervalMs ?? watchdogIntervalFromEnv();
  if (!intervalMs) return undefined;
  let inFlight: Promise<void> | undefined;
  let failing = false;
  const ping = () => {
    inFlight ??= sdNotify("WATCHDOG=1", options).then(
      () => void (failing = false),
      (err) => {
        if (!failing) log.warn("systemd watchdog ping failed", { error: err });
        failing = true;
      },
    ).finally(() => inFlight = undefined);
  };
  const timer = setInterval(ping, intervalMs);
  Deno.unrefTimer(timer);
  ping();
  return {
    intervalMs,
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}
