/**
 * Writes the classic profile ConfigMaps. Changes only mark a node+namespace dirty; one worker
 * rebuilds each dirty profile from the current state and writes it if it changed, so a burst of
 * device or model events costs one write per profile, and a failed write is retried.
 */
import { goJsonStringify } from "../../modules/mod.ts";
import { createLogger } from "../../lib/mod.ts";
import type { DeviceApiClient } from "./api.ts";
import type { Clock, TimerHandle } from "../../lib/mod.ts";
import { buildProfile, DeviceProfileJson, profileConfigMapName } from "./profile.ts";
import type { DeviceState } from "./state.ts";

const log = createLogger("devicecontroller");

/** Label on the profile ConfigMaps edgecloud writes, so stale ones can be found at start. */
export const ProfileLabel = "edgecloud.kubeedge.io/device-profile";

/** Counters. */
export interface ProfileStats {
  writes: number;
  deletes: number;
  failures: number;
}

/** See module docs. */
export class ProfileWriter {
  readonly #dirty = new Set<string>();
  /** Last JSON written per `<ns>|<node>`; "" after a delete. */
  readonly #written = new Map<string, string>();
  #running?: Promise<void>;
  #retryTimer?: TimerHandle;
  #retryDelay = 200;
  #stopped = false;
  readonly stats: ProfileStats = { writes: 0, deletes: 0, failures: 0 };

  constructor(
    readonly api: DeviceApiClient,
    readonly state: DeviceState,
    readonly clock: Clock,
  ) {}

  /** Marks the profile of `node` in `ns` for rewrite. */
  markDirty(ns: string, node: string): void {
    if (!ns || !node) return;
    this.#dirty.add(`${ns}|${node}`);
    this.#kick();
  }

  /**
   * Marks every labelled profile ConfigMap dirty: after the initial device list, the ones whose
   * node no longer has classic devices (deleted while edgecloud was down) are then deleted.
   */
  async reconcileExisting(): Promise<void> {
    try {
      const prefix = profileConfigMapName("");
      for (const cm of await this.api.listConfigMaps(`${ProfileLabel}=true`)) {
        if (cm.name.startsWith(prefix)) this.markDirty(cm.namespace, cm.name.slice(prefix.length));
      }
    } catch (err) {
      log.warn("cannot list device profiles for cleanup", { error: err });
    }
  }

  /** Resolves when no write is pending or running. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  #kick(): void {
    if (this.#running || this.#stopped || this.#retryTimer !== undefined) return;
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
    });
  }

  async #drain(): Promise<void> {
    // Let the current event finish its bookkeeping first, so related marks share one write.
    await Promise.resolve();
    while (this.#dirty.size > 0 && !this.#stopped) {
      const key = this.#dirty.values().next().value as string;
      this.#dirty.delete(key);
      try {
        await this.#write(key);
        this.#retryDelay = 200;
      } catch (err) {
        this.stats.failures++;
        this.#dirty.add(key);
        log.warn("device profile write failed, retrying", {
          profile: key,
          retryInMs: this.#retryDelay,
          error: err,
        });
        this.#retryTimer = this.clock.setTimeout(() => {
          this.#retryTimer = undefined;
          this.#kick();
        }, this.#retryDelay);
        this.#retryDelay = Math.min(5000, this.#retryDelay * 2);
        return;
      }
    }
  }

  async #write(key: string): Promise<void> {
    const [ns, node] = key.split("|");
    const devices = this.state.profileDevices(ns, node).map((r) => r.obj);
    const profile = buildProfile(devices, (name) => this.state.models.get(`${ns}/${name}`));
    const name = profileConfigMapName(node);
    if (!profile) {
      if (this.#written.get(key) === "") return;
      await this.api.deleteConfigMap(ns, name);
      this.#written.set(key, "");
      this.stats.deletes++;
      log.info("device profile deleted", { namespace: ns, configmap: name });
      return;
    }
    const json = goJsonStringify(profile);
    if (this.#written.get(key) === json) return;
    await this.api.applyConfigMap(ns, name, { [DeviceProfileJson]: json }, {
      [ProfileLabel]: "true",
    });
    this.#written.set(key, json);
    this.stats.writes++;
    log.debug("device profile written", { namespace: ns, configmap: name });
  }

  /** Writes what is dirty (one attempt each), then stops. */
  async stop(): Promise<void> {
    if (this.#retryTimer !== undefined) this.clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    await this.idle();
    if (this.#dirty.size > 0) {
      this.#running = this.#drain().finally(() => {
        this.#running = undefined;
      });
      await this.idle();
    }
    this.#stopped = true;
    if (this.#retryTimer !== undefined) this.clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }
}
