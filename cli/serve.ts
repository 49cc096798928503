/**
 * `edgecloud serve`: create the data dir, start the modules on one bus, wait for SIGINT/SIGTERM,
 * then shut down gracefully (modules stopped in reverse order: listeners closed and queues
 * drained by each module; then the bus; then stores), exiting 0 — or 1 if that takes longer
 * than the shutdown timeout (5 s) or a second signal arrives.
 */
import type { CloudCoreConfig } from "../config/mod.ts";
import {
  createLogger,
  type LogLevel,
  notifyReady,
  notifyStopping,
  setLogLevel,
  startWatchdog,
} from "../lib/mod.ts";
import { Bus, type Module, ModuleRegistry } from "../modules/mod.ts";
import { notifyBindPath } from "../permissions.ts";
import { unimplementedSections } from "./unimplemented.ts";

const log = createLogger("edgecloud");

/** Default bound on graceful shutdown. */
export const SHUTDOWN_TIMEOUT_MS = 5_000;

/** What {@link buildModules} gets to construct the modules. */
export interface ServeContext {
  /** The validated, adjusted config. */
  readonly config: CloudCoreConfig;
  /** The config file loaded, or undefined for the built-in defaults. */
  readonly configFile?: string;
  /** The data directory (created before modules are built). */
  readonly dataDir: string;
  /** The bus every module shares. */
  readonly bus: Bus;
  /**
   * Registers a cleanup to run after all modules have stopped and the bus is closed (e.g. closing
   * a Deno KV store the modules share). Cleanups run in reverse order of registration.
   */
  onShutdown(cleanup: () => void | Promise<void>): void;
}

/** One module to register, and whether the config enables it. */
export interface ModuleSpec {
  module: Module;
  /** Default true; disabled modules are skipped by the registry (as beehive does). */
  enabled?: boolean;
}

/** Builds the module list for a context. */
export type ModuleBuilder = (ctx: ServeContext) => ModuleSpec[] | Promise<ModuleSpec[]>;

/**
 * The process's modules, in start order (stopped in reverse): see cli/wiring.ts.
 */
export async function buildModules(ctx: ServeContext): Promise<ModuleSpec[]> {
  // Loaded on demand: the wiring pulls in client-node and every module, which `version`,
  // `--defaultconfig` and config errors do not need (and which reads the environment at import).
  const { buildServeModules } = await import("./wiring.ts");
  return buildServeModules(ctx);
}

/** Options for {@link serve}. */
export interface ServeOptions {
  config: CloudCoreConfig;
  configFile?: string;
  dataDir: string;
  logLevel?: LogLevel;
  /** Replaces {@link buildModules} (tests). */
  buildModules?: ModuleBuilder;
  /** Aborting it shuts down like SIGTERM (tests, embedding). */
  signal?: AbortSignal;
  /** Listen for SIGINT/SIGTERM. Default true. */
  handleSignals?: boolean;
  /** Bound on graceful shutdown; default {@link SHUTDOWN_TIMEOUT_MS}. */
  shutdownTimeoutMs?: number;
  /** systemd notify socket; default `$NOTIFY_SOCKET` (unset: no notifications). */
  notifySocket?: string;
  /** Path the notification sender binds; default `<dataDir>/notify.sock`. */
  notifyBindPath?: string;
}

const SIGNALS: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];

/**
 * A repeat of the same signal this soon is the same request: a terminal sends Ctrl-C to the whole
 * foreground process group, so under `deno task start` both the launcher (which passes it on,
 * for a plain `kill` of the launcher) and this process receive it.
 */
export const DUPLICATE_SIGNAL_MS = 1_000;

/** Resolves with the name of the first stop request; `next()` waits for the following one. */
class StopRequests {
  #waiters: Array<(reason: string) => void> = [];
  #pending: string[] = [];
  readonly #lastSeen = new Map<string, number>();
  readonly #listeners: Array<[Deno.Signal, () => void]> = [];
  readonly #signal?: AbortSignal;
  readonly #onAbort = () => this.#push("abort");

  constructor(handleSignals: boolean, signal?: AbortSignal) {
    if (handleSignals) {
      for (const sig of SIGNALS) {
        const listener = () => {
          const now = Date.now();
          const last = this.#lastSeen.get(sig);
          this.#lastSeen.set(sig, now);
          if (last !== undefined && now - last < DUPLICATE_SIGNAL_MS) return;
          this.#push(sig);
        };
        Deno.addSignalListener(sig, listener);
        this.#listeners.push([sig, listener]);
      }
    }
    this.#signal = signal;
    if (signal?.aborted) this.#push("abort");
    else signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  #push(reason: string): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(reason);
    else this.#pending.push(reason);
  }

  next(): Promise<string> {
    const pending = this.#pending.shift();
    if (pending !== undefined) return Promise.resolve(pending);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  dispose(): void {
    for (const [sig, listener] of this.#listeners) Deno.removeSignalListener(sig, listener);
    this.#listeners.length = 0;
    this.#signal?.removeEventListener("abort", this.#onAbort);
  }
}

/**
 * Runs the hub until SIGINT/SIGTERM (or `options.signal`); returns the process exit code.
 * Startup failures (data dir, module start) are thrown, for the caller to print as one line.
 *
 * @example
 * ```ts
 * const code = await serve({ config: defaultConfig(), dataDir: "./.edgecloud" });
 * Deno.exit(code);
 * ```
 */
export async function serve(options: ServeOptions): Promise<number> {
  if (options.logLevel) setLogLevel(options.logLevel);
  const timeoutMs = options.shutdownTimeoutMs ?? SHUTDOWN_TIMEOUT_MS;
  const stops = new StopRequests(options.handleSignals ?? true, options.signal);
  const bus = new Bus();
  const registry = new ModuleRegistry(bus);
  const cleanups: Array<() => void | Promise<void>> = [];

  const closeAll = async () => {
    await registry.stopAll();
    bus.close();
    while (cleanups.length > 0) {
      const cleanup = cleanups.pop()!;
      try {
        await cleanup();
      } catch (err) {
        log.error("cleanup failed", { error: err });
      }
    }
  };

  try {
    await Deno.mkdir(options.dataDir, { recursive: true });
    const ctx: ServeContext = {
      config: options.config,
      configFile: options.configFile,
      dataDir: options.dataDir,
      bus,
      onShutdown: (cleanup) => void cleanups.push(cleanup),
    };
    const specs = await (options.buildModules ?? buildModules)(ctx);
    for (const spec of specs) registry.register(spec.module, spec.enabled ?? true);
    await registry.startAll();
  } catch (err) {
    stops.dispose();
    await closeAll();
    throw err;
  }

  const advertised = options.config.modules.cloudHub.advertiseAddress;
  if (advertised.length === 1 && advertised[0] === "127.0.0.1") {
    log.warn("advertising 127.0.0.1 only: edges on other hosts cannot connect", {
      hint: "set modules.cloudHub.advertiseAddress, or grant --allow-sys=networkInterfaces",
    });
  }
  for (const { section, effect } of unimplementedSections(options.config)) {
    log.warn(`config section ${section} is enabled but not implemented by edgecloud; ignored`, {
      effect,
    });
  }
  log.info("edgecloud ready", {
    modules: registry.names.join(",") || "none",
    config: options.configFile ?? "<defaults>",
    dataDir: options.dataDir,
  });
  // systemd Type=notify: READY=1 once serving, STOPPING=1 when draining. A failed notification
  // is logged, not fatal: the hub itself is fine.
  const notifyOptions = {
    notifySocket: options.notifySocket,
    bindPath: options.notifyBindPath ?? notifyBindPath(options.dataDir),
  };
  const notify = async (send: () => Promise<boolean>) => {
    try {
      await send();
    } catch (err) {
      log.warn("systemd notification failed", { error: err });
    }
  };
  await notify(() => notifyReady(notifyOptions, `serving ${registry.names.length} modules`));
  // WatchdogSec=: WATCHDOG=1 from this (main) event loop's timers, so a stuck loop gets restarted.
  const watchdog = startWatchdog(notifyOptions);

  try {
    const reason = await stops.next();
    log.info("shutting down", { reason });
    await notify(() => notifyStopping(notifyOptions));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      closeAll().then(() => "stopped" as const),
      new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      }),
      stops.next().then((again) => again),
    ]);
    clearTimeout(timer);
    if (outcome === "stopped") {
      log.info("edgecloud stopped");
      return 0;
    }
    if (outcome === "timeout") {
      log.error("shutdown timed out; forcing exit", { timeoutMs });
    } else {
      log.error("second stop request; forcing exit", { reason: outcome });
    }
    return 1;
  } finally {
    stops.dispose();
    await watchdog?.stop();
  }
}
