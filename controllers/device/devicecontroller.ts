/**
 * The DeviceController module (`devicecontroller`): Devices and DeviceModels of both API
 * generations to the edge, twin and state reports from the edge to the API (docs/protocol.md §8).
 *
 * Start order is explicit instead of KubeEdge's `sleep(1s)`: the DeviceModel informer syncs
 * first, then the Device informer lists and every initial Device is handled, then `start()`
 * resolves and upstream messages are taken from the bus.
 *
 * @example
 * ```ts
 * const dc = new DeviceController({ kubeConfig: kc, coalesceWindowMs: 1000 });
 * registry.register(dc);           // or: bus.addModule("devicecontroller"); await dc.start({ bus });
 * await registry.startAll();
 * ```
 */
import type { KubeConfig } from "@kubernetes/client-node";
import {
  type Bus,
  BusClosedError,
  defaultMessageEnv,
  type Message,
  type MessageEnv,
  type Module,
  type ModuleContext,
  ModuleName,
} from "../../modules/mod.ts";
import { type Clock, createLogger, systemClock } from "../../lib/mod.ts";
import { type Informer, KubeClient, type KubeObject } from "../../kube/mod.ts";
import { type DeviceApiClient, devicePath, KubeDeviceApi } from "./api.ts";
import { TwinCoalescer } from "./coalescer.ts";
import { Downstream } from "./downstream.ts";
import { ProfileWriter } from "./profile_writer.ts";
import { DeviceState } from "./state.ts";
import { DeviceGroup, type DeviceModelObject, type DeviceObject } from "./types.ts";
import { type AckMode, Upstream } from "./upstream.ts";

const log = createLogger("devicecontroller");

/** Thrown by start() when the API serves no usable device CRDs. */
export class DeviceControllerError extends Error {
  override name = "DeviceControllerError";
}

/** DeviceController settings (cloudcore's `modules.deviceController` plus injectables). */
export interface DeviceControllerOptions {
  /** A shared client (not closed by stop()). */
  kube?: KubeClient;
  /** Or a kubeconfig: the controller makes (and closes) its own client. */
  kubeConfig?: KubeConfig;
  /** Replaces the API access entirely (tests wrap it to count or fail calls). */
  api?: DeviceApiClient;
  /** `buffer.updateDeviceTwins` (default 1024): inbox capacity when the controller adds it. */
  updateDeviceTwinsBuffer?: number;
  /** `load.updateDeviceStatusWorkers` (default 1): parallel upstream handlers. */
  updateDeviceStatusWorkers?: number;
  /** Status PATCHes in flight at most (default 64). */
  maxConcurrentPatches?: number;
  /** When the edge gets its `"OK"`: once the values are `stored` (default) or `accepted`. */
  ackMode?: AckMode;
  /** Twin coalescing window in ms (default 1000). */
  coalesceWindowMs?: number;
  /** Clock for windows and retries. */
  clock?: Clock;
  /** Message ids and timestamps. */
  env?: MessageEnv;
  /** Force the Device version to watch (default: v1beta1 if served, else v1alpha2). */
  deviceVersion?: "v1alpha2" | "v1beta1";
  /** Force DeviceStatus use on or off (default: whether `devicestatuses` is served). */
  useDeviceStatus?: boolean;
  /** Answer rejected upstream input with an error response (default true). */
  errorResponses?: boolean;
}

/** A snapshot of every counter. */
export interface DeviceControllerStats {
  devices: number;
  models: number;
  downstream: Downstream["stats"];
  upstream: Upstream["stats"];
  profiles: ProfileWriter["stats"];
  coalescer: TwinCoalescer["stats"] & { pendingMessages: number };
  latencyMs: { count: number; p50: number; p99: number; max: number };
}

const MAX_SAMPLES = 200_000;

/** See module docs. */
export class DeviceController implements Module {
  readonly name = ModuleName.DeviceController;
  readonly group = ModuleName.DeviceController;
  readonly #opts: DeviceControllerOptions;
  readonly #clock: Clock;
  readonly #env: MessageEnv;
  readonly state = new DeviceState();
  #kube?: KubeClient;
  #ownKube = false;
  #ownInbox = false;
  #api?: DeviceApiClient;
  #bus?: Bus;
  #informers: Informer<KubeObject>[] = [];
  #queue: Promise<void> = Promise.resolve();
  #loops: Promise<void>[] = [];
  #stopping = false;
  #coalescer?: TwinCoalescer;
  #profiles?: ProfileWriter;
  #down?: Downstream;
  #up?: Upstream;
  #latencies: number[] = [];
  #deviceVersion = "v1beta1";
  #deviceStatus = false;

  constructor(opts: DeviceControllerOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#env = opts.env ?? defaultMessageEnv;
  }

  /** The Device version being watched (after start). */
  get deviceVersion(): string {
    return this.#deviceVersion;
  }

  /** Whether twin/state reports go to DeviceStatus objects (after start). */
  get usesDeviceStatus(): boolean {
    return this.#deviceStatus;
  }

  /** The coalescer (tests read `pendingMessages`). */
  get coalescer(): TwinCoalescer {
    if (!this.#coalescer) throw new DeviceControllerError("not started");
    return this.#coalescer;
  }

  /** Resolves when queued downstream events and profile writes are done. */
  async idle(): Promise<void> {
    await this.#queue;
    await this.#profiles?.idle();
  }

  async start(ctx: ModuleContext): Promise<void> {
    this.#bus = ctx.bus;
    if (!ctx.bus.modules().includes(this.name)) {
      ctx.bus.addModule(this.name, this.group, this.#opts.updateDeviceTwinsBuffer ?? 1024);
      this.#ownInbox = true;
    }
    if (this.#opts.kube) this.#kube = this.#opts.kube;
    else if (this.#opts.kubeConfig) {
      this.#kube = new KubeClient(this.#opts.kubeConfig);
      this.#ownKube = true;
    } else throw new DeviceControllerError("DeviceController needs a kube client or a kubeConfig");
    this.#api = this.#opts.api ?? new KubeDeviceApi(this.#kube);
    const api = this.#api;

    const versions = await api.servedVersions("devices");
    this.#deviceVersion = this.#opts.deviceVersion ??
      (versions.includes("v1beta1") ? "v1beta1" : versions.includes("v1alpha2") ? "v1alpha2" : "");
    if (!this.#deviceVersion) {
      throw new DeviceControllerError(
        `the API serves no ${DeviceGroup} devices (v1beta1 or v1alpha2)`,
      );
    }
    this.#deviceStatus = this.#opts.useDeviceStatus ??
      (await api.servedVersions("devicestatuses")).includes("v1beta1");

    const send = (msg: Message) => this.#send(msg);
    this.#coalescer = new TwinCoalescer({
      windowMs: this.#opts.coalesceWindowMs ?? 1000,
      clock: this.#clock,
      flush: (key, batch) => this.#up!.flush(key, batch),
    });
    this.#profiles = new ProfileWriter(api, this.state, this.#clock);
    const common = {
      state: this.state,
      api,
      coalescer: this.#coalescer,
      env: this.#env,
      send,
      deviceVersion: this.#deviceVersion,
      deviceStatus: this.#deviceStatus,
    };
    this.#down = new Downstream({ ...common, profiles: this.#profiles });
    this.#up = new Upstream({
      ...common,
      errorResponses: this.#opts.errorResponses ?? true,
      maxConcurrentPatches: this.#opts.maxConcurrentPatches,
      ackMode: this.#opts.ackMode ?? "stored",
      observeLatency: (ms) => {
        if (this.#latencies.length >= MAX_SAMPLES) this.#latencies.splice(0, MAX_SAMPLES / 2);
        this.#latencies.push(ms);
      },
    });

    const down = this.#down;
    const models = this.#kube.informer<DeviceModelObject>(
      devicePath(this.#deviceVersion, "devicemodels"),
      undefined,
      {
        name: "devicemodels",
        kind: "DeviceModel",
        apiVersion: `${DeviceGroup}/${this.#deviceVersion}`,
      },
    );
    models.on({
      add: (m) => this.#enqueue(() => down.modelUpserted(m)),
      update: (m) => this.#enqueue(() => down.modelUpserted(m)),
      delete: (m) => this.#enqueue(() => down.modelDeleted(m)),
    });
    const devices = this.#kube.informer<DeviceObject>(
      devicePath(this.#deviceVersion, "devices"),
      undefined,
      { name: "devices", kind: "Device", apiVersion: `${DeviceGroup}/${this.#deviceVersion}` },
    );
    devices.on({
      add: (d) => this.#enqueue(() => down.deviceAdded(d)),
      update: (d) => this.#enqueue(() => down.deviceUpdated(d)),
      delete: (d) => this.#enqueue(() => down.deviceDeleted(d)),
    });
    this.#informers = [models as Informer<KubeObject>, devices as Informer<KubeObject>];
    // The device loop starts only once every model is known (KubeEdge sleeps 1 s here).
    models.start();
    await models.synced;
    devices.start();
    await devices.synced;
    await this.#queue;
    await this.#profiles.reconcileExisting();

    const workers = Math.max(1, this.#opts.updateDeviceStatusWorkers ?? 1);
    for (let i = 0; i < workers; i++) this.#loops.push(this.#receiveLoop());
    log.info("device controller started", {
      deviceVersion: this.#deviceVersion,
      deviceStatus: this.#deviceStatus,
      devices: this.state.devices.size,
      models: this.state.models.size,
    });
  }

  #enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(fn).catch((err) => {
      log.error("device event handling failed", { error: err });
    });
    this.#queue = run;
    return run;
  }

  async #send(msg: Message): Promise<void> {
    if (!this.#bus) return;
    await this.#bus.send(ModuleName.CloudHub, msg);
  }

  async #receiveLoop(): Promise<void> {
    const bus = this.#bus!;
    while (!this.#stopping) {
      let msg: Message;
      try {
        msg = await bus.receive(this.name);
      } catch (err) {
        if (err instanceof BusClosedError) return;
        log.error("receive failed", { error: err });
        return;
      }
      if (this.#stopping) {
        log.warn("message arrived while stopping, not handled", { id: msg.header.id });
        return;
      }
      try {
        await this.#up!.handle(msg);
      } catch (err) {
        log.error("upstream message failed", { resource: msg.route.resource ?? "", error: err });
      }
    }
  }

  /** Counters and latency percentiles (edge message received → twin values stored). */
  stats(): DeviceControllerStats {
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    const pct = (p: number) =>
      sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0;
    return {
      devices: this.state.devices.size,
      models: this.state.models.size,
      downstream: this.#down?.stats ?? {} as Downstream["stats"],
      upstream: this.#up?.stats ?? {} as Upstream["stats"],
      profiles: this.#profiles?.stats ?? {} as ProfileWriter["stats"],
      coalescer: {
        ...(this.#coalescer?.stats ?? { accepted: 0, flushes: 0, failedFlushes: 0, dropped: 0 }),
        pendingMessages: this.#coalescer?.pendingMessages ?? 0,
      },
      latencyMs: {
        count: sorted.length,
        p50: pct(0.5),
        p99: pct(0.99),
        max: sorted.length ? sorted[sorted.length - 1] : 0,
      },
    };
  }

  /** Stops informers, then flushes pending twin patches and profile writes. */
  async stop(): Promise<void> {
    this.#stopping = true;
    // Closing our own inbox ends the receive loops; a registry closes it after stop() instead.
    if (this.#ownInbox && this.#bus && !this.#bus.closed) this.#bus.removeModule(this.name);
    await Promise.all(this.#informers.map((i) => i.stop()));
    this.#informers = [];
    await this.#queue;
    await this.#coalescer?.stop();
    await this.#profiles?.stop();
    if (this.#ownKube) await this.#kube?.close();
    log.info("device controller stopped");
  }
}
