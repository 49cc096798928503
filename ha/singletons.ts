/**
 * The controllers that must have one writer across replicas, run under leader election: a
 * module that takes part in the election on start, starts fresh instances of its singletons
 * when this replica becomes leader (each one's start() waits for its own informers to sync) and
 * stops them when leadership ends — lost (renew deadline passed) or given up on shutdown, in
 * which case the Lease is released so a successor need not wait.
 *
 * Starts and stops are serialised: a term that ends while its singletons are still starting
 * stops them right after.
 *
 * @example
 * ```ts
 * const gate = new LeaderGate({
 *   elector: { lock: leaseLockFor(kc), identity: defaultIdentity() },
 *   singletons: [() => new SyncController({ kube })],
 * });
 * registry.register(gate); // after the modules whose caches the singletons need
 * ```
 */
import { createLogger } from "../lib/mod.ts";
import type { Module, ModuleContext } from "../modules/mod.ts";
import { LeaderElector, type LeaderElectorOptions } from "./leader.ts";

const log = createLogger("ha");

/** Resolves when `signal` aborts. */
function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}

/** Options of {@link LeaderGate}. */
export interface LeaderGateOptions {
  /** Everything but the callbacks, which the gate supplies. */
  elector: Omit<LeaderElectorOptions, "callbacks">;
  /** Factories of the singleton modules; called once per leadership term. */
  singletons: Array<() => Module>;
  /** Told when a term's singletons have all started / stopped (metrics, tests). */
  onLeading?: (leading: boolean) => void;
}

/** See module docs. */
export class LeaderGate implements Module {
  readonly name = "leaderelection";
  readonly group = "leaderelection";
  readonly #opts: LeaderGateOptions;
  #elector?: LeaderElector;
  #ctx?: ModuleContext;
  #running: Module[] = [];
  #chain: Promise<void> = Promise.resolve();
  #leading = false;

  constructor(opts: LeaderGateOptions) {
    this.#opts = opts;
  }

  /** This replica's identity in the Lease. */
  get identity(): string {
    return this.#opts.elector.identity;
  }

  /** True while this replica leads and its singletons have started. */
  get leading(): boolean {
    return this.#leading;
  }

  /** Joins the election; returns at once (leadership may come later or never). */
  start(ctx: ModuleContext): Promise<void> {
    this.#ctx = ctx;
    this.#elector = new LeaderElector({
      ...this.#opts.elector,
      callbacks: {
        onStartedLeading: (signal) => {
          this.#chain = this.#chain.then(() => this.#startTerm(signal));
        },
        onStoppedLeading: () => {
          this.#chain = this.#chain.then(() => this.#stopTerm());
          return this.#chain;
        },
      },
    });
    log.info("leader election joined", {
      identity: this.identity,
      lease: this.#opts.elector.lock.describe(),
    });
    this.#elector.start();
    return Promise.resolve();
  }

  async #startTerm(signal: AbortSignal): Promise<void> {
    const ctx = this.#ctx as ModuleContext;
    for (const make of this.#opts.singletons) {
      if (signal.aborted) return;
      const m = make();
      if (!ctx.bus.modules().includes(m.name)) ctx.bus.addModule(m.name, m.group);
      this.#running.push(m);
      try {
        // A start waiting on an unreachable API must not hold up the step-down behind it.
        await Promise.race([m.start(ctx), untilAborted(signal)]);
      } catch (err) {
        log.error("singleton failed to start", { module: m.name, error: err });
      }
    }
    if (signal.aborted) return;
    this.#leading = true;
    log.info("leading: singleton controllers started", {
      identity: this.identity,
      modules: this.#running.map((m) => m.name).join(","),
    });
    this.#opts.onLeading?.(true);
  }

  async #stopTerm(): Promise<void> {
    const wasLeading = this.#leading;
    this.#leading = false;
    const ctx = this.#ctx as ModuleContext;
    while (this.#running.length > 0) {
      const m = this.#running.pop() as Module;
      try {
        await m.stop();
      } catch (err) {
        log.error("singleton failed to stop", { module: m.name, error: err });
      }
      if (!ctx.bus.closed) ctx.bus.removeModule(m.name);
    }
    log.info("not leading: singleton controllers stopped", { identity: this.identity });
    if (wasLeading) this.#opts.onLeading?.(false);
  }

  /** Leaves the election: stops the singletons, then releases the Lease. */
  async stop(): Promise<void> {
    await this.#elector?.stop();
    await this.#chain;
  }
}
