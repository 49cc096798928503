/**
 * Leader election on a Lease, with client-go's `leaderelection` semantics, so that of several
 * edgecloud replicas exactly one runs the controllers while every replica serves edges.
 *
 * - A candidate tries to acquire every `retryPeriod` (jittered ×[1, 2.2) like client-go). A Lease
 *   held by someone else counts as expired `leaseDuration` after this candidate last *saw it
 *   change* (its own clock, not the holder's `renewTime`, so clock skew between replicas does not
 *   matter). An empty `holderIdentity` (released) is free at once.
 * - The leader renews every `retryPeriod`; if no renewal succeeds for `renewDeadline` it steps
 *   down (`onStoppedLeading`) — before anyone else can see the Lease as expired, because
 *   `renewDeadline < leaseDuration`.
 * - Writes are conditional on the Lease's resourceVersion, so two candidates never both win.
 * - `stop()` steps down and (by default) releases the Lease so a successor need not wait.
 *
 * Written here rather than taken from a package because client-node 1.4.0 has no leader election.
 *
 * @example
 * ```ts
 * const elector = new LeaderElector({
 *   lock: leaseLockFor(kc), // kubeedge/edgecloud-controllers
 *   identity: defaultIdentity(),
 *   callbacks: {
 *     onStartedLeading: (signal) => controllers.start(signal),
 *     onStoppedLeading: () => controllers.stop(),
 *   },
 * });
 * elector.start();
 * // ... on shutdown:
 * await elector.stop();
 * ```
 */
import { type Clock, createLogger, systemClock } from "../lib/mod.ts";
import type { LeaderElectionRecord, LeaseLock } from "./lease_lock.ts";
import { v4 as uuidv4 } from "uuid";

const log = createLogger("leader");

/** client-go's `JitterFactor` for the acquire loop. */
export const JITTER_FACTOR = 1.2;

/** Time source and one-shot timers: lib's {@link Clock} (`ManualClock` for tests). */
export type LeaderClock = Clock;

/** What the elector tells its owner. */
export interface LeaderCallbacks {
  /** Became leader; `signal` aborts when leadership ends. Not awaited (runs alongside renewals). */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Leadership ended (lost, or `stop()`); awaited before the Lease is released. */
  onStoppedLeading(): void | Promise<void>;
  /** The observed leader changed ("" when released). */
  onNewLeader?(identity: string): void;
}

/** Options of {@link LeaderElector}; durations default to client-go's 15 s / 10 s / 2 s. */
export interface LeaderElectorOptions {
  lock: LeaseLock;
  /** This replica's unique identity (see {@link defaultIdentity}). */
  identity: string;
  callbacks: LeaderCallbacks;
  /** Whole seconds (the Lease field is an integer). Default 15. */
  leaseDurationSeconds?: number;
  /** Default 10. */
  renewDeadlineSeconds?: number;
  /** Default 2. */
  retryPeriodSeconds?: number;
  /** Release the Lease on `stop()` (client-go's `ReleaseOnCancel`). Default true. */
  releaseOnStop?: boolean;
  clock?: LeaderClock;
  /** Jitter source in [0, 1); default Math.random. */
  random?: () => number;
}

/** Raised for inconsistent durations or an empty identity. */
export class LeaderElectionConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LeaderElectionConfigError";
  }
}

/** `<hostname>_<uuid>`, as cloudcore and client-go users build it (needs `--allow-sys=hostname`). */
export function defaultIdentity(): string {
  let host = "edgecloud";
  try {
    host = Deno.hostname();
  } catch {
    // Without --allow-sys=hostname the uuid alone keeps the identity unique.
  }
  return `${host}_${uuidv4()}`;
}

function sameRecord(a: LeaderElectionRecord | undefined, b: LeaderElectionRecord): boolean {
  return a !== undefined && a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds && a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime && a.leaseTransitions === b.leaseTransitions;
}

/** Runs for one identity on one Lease until stopped. */
export class LeaderElector {
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly #opts: LeaderElectorOptions;
  readonly #clock: LeaderClock;
  readonly #random: () => number;
  #observed?: LeaderElectionRecord;
  #observedAt = 0;
  #leading = false;
  #stopped = false;
  #started = false;
  #run?: Promise<void>;
  #wake?: () => void;
  #waiting = false;
  readonly #inflight = new Set<Promise<unknown>>();

  constructor(opts: LeaderElectorOptions) {
    const lease = opts.leaseDurationSeconds ?? 15;
    const renew = opts.renewDeadlineSeconds ?? 10;
    const retry = opts.retryPeriodSeconds ?? 2;
    if (!opts.identity) throw new LeaderElectionConfigError("leader election: identity is empty");
    if (!Number.isInteger(lease) || lease < 1) {
      throw new LeaderElectionConfigError(
        `leader election: leaseDurationSeconds must be a whole number ≥ 1, got ${lease}`,
      );
    }
    if (!(lease > renew)) {
      throw new LeaderElectionConfigError(
        `leader election: leaseDuration (${lease}s) must be greater than renewDeadline (${renew}s)`,
      );
    }
    if (!(retry > 0) || !(renew > JITTER_FACTOR * retry)) {
      throw new LeaderElectionConfigError(
        `leader election: renewDeadline (${renew}s) must be greater than ${JITTER_FACTOR} × ` +
          `retryPeriod (${retry}s)`,
      );
    }
    this.#opts = opts;
    this.identity = opts.identity;
    this.leaseDurationMs = lease * 1000;
    this.renewDeadlineMs = renew * 1000;
    this.retryPeriodMs = retry * 1000;
    this.#clock = opts.clock ?? systemClock;
    this.#random = opts.random ?? Math.random;
  }

  /** True while this replica holds the Lease and runs as leader. */
  get isLeader(): boolean {
    return this.#leading;
  }

  /** The holder last observed on the Lease ("" if none or released). */
  get leader(): string {
    return this.#observed?.holderIdentity ?? "";
  }

  /** True while parked on a clock timer or stopped: tests advance a manual clock then. */
  get idle(): boolean {
    return this.#waiting || this.#stopped || !this.#started;
  }

  /** Starts campaigning; returns at once. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#run = this.#loop();
  }

  /**
   * Stops: steps down (awaiting `onStoppedLeading`), then releases the Lease if still held and
   * `release` (default: the `releaseOnStop` option). `release: false` leaves the Lease to expire,
   * exactly like a killed process.
   */
  async stop(options?: { release?: boolean }): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#wake?.();
    await this.#run;
    await Promise.allSettled([...this.#inflight]);
    if (options?.release ?? this.#opts.releaseOnStop ?? true) await this.#release();
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      if (await this.#track(this.#tryAcquireOrRenew())) {
        if (this.#stopped) {
          // Won just as we stopped: nothing was started, so only the release remains.
          break;
        }
        await this.#lead();
        continue;
      }
      await this.#sleep(this.retryPeriodMs * (1 + this.#random() * JITTER_FACTOR));
    }
  }

  async #lead(): Promise<void> {
    const abort = new AbortController();
    this.#leading = true;
    log.info("became leader", { lease: this.#opts.lock.describe(), identity: this.identity });
    try {
      Promise.resolve(this.#opts.callbacks.onStartedLeading(abort.signal)).catch((err) =>
        log.error("onStartedLeading failed", { error: (err as Error).message })
      );
    } catch (err) {
      log.error("onStartedLeading failed", { error: (err as Error).message });
    }
    let lastRenew = this.#clock.now();
    while (!this.#stopped) {
      await this.#sleep(this.retryPeriodMs);
      if (this.#stopped) break;
      const left = lastRenew + this.renewDeadlineMs - this.#clock.now();
      if (left > 0 && await this.#withDeadline(this.#tryAcquireOrRenew(), left)) {
        lastRenew = this.#clock.now();
        continue;
      }
      if (this.#clock.now() - lastRenew >= this.renewDeadlineMs) {
        log.warn("lost leadership: no renewal within the renew deadline", {
          lease: this.#opts.lock.describe(),
          renewDeadlineMs: this.renewDeadlineMs,
        });
        break;
      }
    }
    this.#leading = false;
    abort.abort();
    try {
      await this.#opts.callbacks.onStoppedLeading();
    } catch (err) {
      log.error("onStoppedLeading failed", { error: (err as Error).message });
    }
  }

  /** One attempt; false on a lost race, a live foreign lease, or any API error. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const lock = this.#opts.lock;
    const now = this.#clock.now();
    const fresh: LeaderElectionRecord = {
      holderIdentity: this.identity,
      leaseDurationSeconds: this.leaseDurationMs / 1000,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };
    try {
      const current = await lock.get();
      if (current === null) {
        if (!await lock.create(fresh)) return false;
        this.#observe(fresh, this.#clock.now());
        return true;
      }
      const old = current.record;
      if (!sameRecord(this.#observed, old)) this.#observe(old, this.#clock.now());
      const foreign = old.holderIdentity !== "" && old.holderIdentity !== this.identity;
      if (foreign && this.#observedAt + old.leaseDurationSeconds * 1000 > this.#clock.now()) {
        return false;
      }
      const next: LeaderElectionRecord = old.holderIdentity === this.identity
        ? { ...old, leaseDurationSeconds: fresh.leaseDurationSeconds, renewTime: now }
        : { ...fresh, leaseTransitions: old.leaseTransitions + 1 };
      if (!await lock.update(next, current.resourceVersion)) return false;
      this.#observe(next, this.#clock.now());
      return true;
    } catch (err) {
      log.warn("lease attempt failed", {
        lease: lock.describe(),
        error: (err as Error).message,
      });
      return false;
    }
  }

  #observe(record: LeaderElectionRecord, at: number): void {
    const changed = this.#observed?.holderIdentity !== record.holderIdentity;
    this.#observed = record;
    this.#observedAt = at;
    if (changed) {
      log.info("leader observed", {
        lease: this.#opts.lock.describe(),
        leader: record.holderIdentity,
      });
      this.#opts.callbacks.onNewLeader?.(record.holderIdentity);
    }
  }

  async #release(): Promise<void> {
    const lock = this.#opts.lock;
    try {
      const current = await lock.get();
      if (current === null || current.record.holderIdentity !== this.identity) return;
      const now = this.#clock.now();
      // client-go's release: no holder, 1 s duration, transitions kept.
      const released: LeaderElectionRecord = {
        holderIdentity: "",
        leaseDurationSeconds: 1,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: current.record.leaseTransitions,
      };
      if (await lock.update(released, current.resourceVersion)) {
        this.#observed = released;
        log.info("released lease", { lease: lock.describe(), identity: this.identity });
      }
    } catch (err) {
      log.warn("lease release failed", { lease: lock.describe(), error: (err as Error).message });
    }
  }

  /** Keeps a promise in the in-flight set until it settles (stop() waits for them). */
  #track<T>(p: Promise<T>): Promise<T> {
    this.#inflight.add(p);
    p.finally(() => this.#inflight.delete(p)).catch(() => {});
    return p;
  }

  /** `p`, or false once `ms` pass on the clock (the attempt keeps running; stop() awaits it). */
  #withDeadline(p: Promise<boolean>, ms: number): Promise<boolean> {
    this.#track(p);
    let handle = 0;
    const timeout = new Promise<boolean>((resolve) => {
      handle = this.#clock.setTimeout(() => resolve(false), ms);
    });
    return Promise.race([p, timeout]).finally(() => this.#clock.clearTimeout(handle));
  }

  /** Sleeps on the clock; stop() wakes it. */
  #sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let handle = 0;
      const done = () => {
        this.#clock.clearTimeout(handle);
        this.#waiting = false;
        this.#wake = undefined;
        resolve();
      };
      handle = this.#clock.setTimeout(done, ms);
      this.#waiting = true;
      this.#wake = done;
    });
  }
}
