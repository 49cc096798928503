/**
 * Kubernetes → edge: Device and DeviceModel events become membership updates, twin updates,
 * profile rewrites and (v1beta1) `device`/`devicemodel` resource messages (docs/protocol.md §8.3,
 * §8.5). Events are handled one at a time, in order, by the controller's queue.
 *
 * Beyond KubeEdge: a Device whose model is not there yet waits for it (no 10 × 1 s polling); a
 * model update reaches every profile and v1beta1 node using it; a model deleted while in use is
 * reported on each Device (Event + annotation) and removed from profiles and nodes.
 */
import { type Message, type MessageEnv, Operation } from "../../modules/mod.ts";
import { createLogger, jsonEqual } from "../../lib/mod.ts";
import type { KubeObject } from "../../kube/mod.ts";
import type { DeviceApiClient } from "./api.ts";
import type { TwinCoalescer } from "./coalescer.ts";
import type { ProfileWriter } from "./profile_writer.ts";
import { type DeviceRecord, DeviceState, newDeviceStatus, newerRv } from "./state.ts";
import {
  DeviceGroup,
  type DeviceModelObject,
  type DeviceObject,
  keyOf,
  type StatusTwin,
} from "./types.ts";
import {
  cloudUpdatedMessage,
  membershipDevice,
  membershipMessage,
  resourceMessage,
} from "./wire.ts";

const log = createLogger("devicecontroller");

/** Annotation set on a Device whose DeviceModel was deleted while it referenced it. */
export const ModelMissingAnnotation = "edgecloud.kubeedge.io/devicemodel-missing";
/** Reason of the Event recorded in that case. */
export const ModelDeletedReason = "DeviceModelDeleted";

/** Counters. */
export interface DownstreamStats {
  membership: number;
  cloudUpdated: number;
  resourceMessages: number;
  waitingForModel: number;
  modelDeletedReports: number;
  sendFailures: number;
}

/** What the downstream side needs. */
export interface DownstreamDeps {
  state: DeviceState;
  api: DeviceApiClient;
  profiles: ProfileWriter;
  coalescer: TwinCoalescer;
  env: MessageEnv;
  send: (msg: Message) => Promise<void>;
  /** The version the controller watches and writes Devices at. */
  deviceVersion: string;
  /** DeviceStatus (v1beta1) is served. */
  deviceStatus: boolean;
}

function desiredOf(dev: DeviceObject): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const t of dev.status?.twins ?? []) {
    if (t.propertyName) m.set(t.propertyName, t.desired ?? null);
  }
  return m;
}

function desiredChanged(a: DeviceObject, b: DeviceObject): boolean {
  const x = desiredOf(a);
  const y = desiredOf(b);
  if (x.size !== y.size) return true;
  for (const [k, v] of x) {
    if (!y.has(k) || !jsonEqual(v, y.get(k))) return true;
  }
  return false;
}

function profileChanged(a: DeviceObject, b: DeviceObject): boolean {
  return !jsonEqual(a.spec?.protocol, b.spec?.protocol) ||
    !jsonEqual(a.spec?.propertyVisitors, b.spec?.propertyVisitors) ||
    !jsonEqual(a.spec?.data, b.spec?.data) ||
    !jsonEqual(a.status?.twins as StatusTwin[] | undefined, b.status?.twins) ||
    a.spec?.deviceModelRef?.name !== b.spec?.deviceModelRef?.name;
}

/** See module docs. */
export class Downstream {
  readonly stats: DownstreamStats = {
    membership: 0,
    cloudUpdated: 0,
    resourceMessages: 0,
    waitingForModel: 0,
    modelDeletedReports: 0,
    sendFailures: 0,
  };

  constructor(readonly deps: DownstreamDeps) {}

  get #state(): DeviceState {
    return this.deps.state;
  }

  async #send(msg: Message): Promise<void> {
    try {
      await this.deps.send(msg);
    } catch (err) {
      this.stats.sendFailures++;
      log.error("send to cloudhub failed", { resource: msg.route.resource ?? "", error: err });
    }
  }

  // ---- DeviceModel events -------------------------------------------------------------------

  /** DeviceModel added or updated. */
  async modelUpserted(model: DeviceModelObject): Promise<void> {
    const key = keyOf(model);
    const prev = this.#state.models.get(key);
    this.#state.models.set(key, model);
    const ns = model.metadata?.namespace ?? "";
    const name = model.metadata?.name ?? "";
    const refs = this.#state.referencing(ns, name);
    if (!prev) {
      for (const rec of refs) {
        if (!rec.active) {
          if (rec.node) {
            log.info("device model arrived, handling waiting device", { device: rec.key });
            this.stats.waitingForModel = Math.max(0, this.stats.waitingForModel - 1);
            await this.#activate(rec);
          }
        } else if (rec.modelMissing) {
          rec.modelMissing = false;
          await this.#clearModelMissing(rec);
          await this.#sendModelTo(rec, Operation.Insert);
          if (rec.api === "v1alpha2") this.deps.profiles.markDirty(rec.ns, rec.node);
        }
      }
      return;
    }
    if (jsonEqual(prev.spec, model.spec)) return;
    // KubeEdge leaves `updateAllConfigMaps` empty and sends nothing: every user is updated here.
    for (const rec of refs) {
      if (rec.active && rec.api === "v1alpha2") this.deps.profiles.markDirty(rec.ns, rec.node);
    }
    for (const sent of [...this.#state.sentModels]) {
      const [node, sns, sname] = sent.split("|");
      if (sns === ns && sname === name) {
        await this.#send(
          resourceMessage(node, model, "DeviceModel", Operation.Update, this.deps.env),
        );
        this.stats.resourceMessages++;
      }
    }
  }

  /** DeviceModel deleted. */
  async modelDeleted(model: DeviceModelObject): Promise<void> {
    const key = keyOf(model);
    this.#state.models.delete(key);
    const ns = model.metadata?.namespace ?? "";
    const name = model.metadata?.name ?? "";
    for (const rec of this.#state.referencing(ns, name)) {
      if (!rec.active) continue;
      rec.modelMissing = true;
      if (rec.api === "v1alpha2") this.deps.profiles.markDirty(rec.ns, rec.node);
      await this.#reportModelMissing(rec);
    }
    for (const sent of [...this.#state.sentModels]) {
      const [node, sns, sname] = sent.split("|");
      if (sns === ns && sname === name) {
        this.#state.sentModels.delete(sent);
        await this.#send(
          resourceMessage(node, model, "DeviceModel", Operation.Delete, this.deps.env),
        );
        this.stats.resourceMessages++;
      }
    }
  }

  async #reportModelMissing(rec: DeviceRecord): Promise<void> {
    this.stats.modelDeletedReports++;
    log.warn("device model deleted while a device references it", {
      device: rec.key,
      model: rec.model,
    });
    const now = new Date(this.deps.env.now()).toISOString().replace(/\.\d+Z$/, "Z");
    const event: KubeObject = {
      apiVersion: "v1",
      kind: "Event",
      metadata: {
        name: `${rec.name}.${this.deps.env.newId().toLowerCase().replace(/[^a-z0-9]/g, "")}`,
        namespace: rec.ns,
      },
      involvedObject: {
        apiVersion: `${DeviceGroup}/${this.deps.deviceVersion}`,
        kind: "Device",
        name: rec.name,
        namespace: rec.ns,
        uid: rec.obj.metadata?.uid,
        resourceVersion: rec.obj.metadata?.resourceVersion,
      },
      reason: ModelDeletedReason,
      message:
        `DeviceModel ${rec.ns}/${rec.model} was deleted while this Device references it; the model was removed from node ${rec.node}`,
      type: "Warning",
      source: { component: "devicecontroller" },
      reportingComponent: "devicecontroller",
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      await this.deps.api.createEvent(rec.ns, event);
    } catch (err) {
      log.error("cannot record event", { device: rec.key, error: err });
    }
    try {
      await this.deps.api.mergePatch(this.deps.deviceVersion, "devices", rec.ns, rec.name, {
        metadata: { annotations: { [ModelMissingAnnotation]: rec.model } },
      });
    } catch (err) {
      log.error("cannot annotate device", { device: rec.key, error: err });
    }
  }

  async #clearModelMissing(rec: DeviceRecord): Promise<void> {
    if (rec.obj.metadata?.annotations?.[ModelMissingAnnotation] === undefined) return;
    try {
      await this.deps.api.mergePatch(this.deps.deviceVersion, "devices", rec.ns, rec.name, {
        metadata: { annotations: { [ModelMissingAnnotation]: null } },
      });
    } catch (err) {
      log.error("cannot clear device annotation", { device: rec.key, error: err });
    }
  }

  // ---- Device events ------------------------------------------------------------------------

  /** Device added (or first seen). */
  async deviceAdded(dev: DeviceObject): Promise<void> {
    const existing = this.#state.devices.get(keyOf(dev));
    if (existing) return this.deviceUpdated(dev);
    const rec = DeviceState.record(dev);
    rec.statusObj = dev;
    this.#state.devices.set(rec.key, rec);
    if (!rec.node) return;
    if (!this.#state.modelOf(rec)) {
      this.stats.waitingForModel++;
      log.info("device waits for its model", { device: rec.key, model: rec.model });
      return;
    }
    await this.#activate(rec);
  }

  /** Device modified. */
  async deviceUpdated(dev: DeviceObject): Promise<void> {
    const rec = this.#state.devices.get(keyOf(dev));
    if (!rec) return this.deviceAdded(dev);
    const old = rec.obj;
    const next = DeviceState.record(dev);
    const statusInDevice = next.api !== "v1beta1" || !this.deps.deviceStatus;
    // Our own PATCH responses may already be newer than this (lagging) watch event.
    if (
      statusInDevice &&
      (!rec.statusObj || rec.statusObj.kind === "DeviceStatus" ||
        newerRv(dev.metadata?.resourceVersion, rec.statusObj.metadata?.resourceVersion))
    ) {
      rec.statusObj = dev;
    }
    if (!rec.active) {
      const wasWaiting = rec.node && !this.#state.modelOf(rec);
      Object.assign(rec, { api: next.api, node: next.node, model: next.model, obj: dev });
      if (!rec.node) return;
      if (!this.#state.modelOf(rec)) {
        if (!wasWaiting) this.stats.waitingForModel++;
        return;
      }
      if (wasWaiting) this.stats.waitingForModel = Math.max(0, this.stats.waitingForModel - 1);
      return this.#activate(rec);
    }
    if (next.api !== rec.api || next.node !== rec.node) {
      // A move: removal on the old node (and its profile), addition on the new one.
      await this.#deactivate(rec, false);
      Object.assign(rec, { api: next.api, node: next.node, model: next.model, obj: dev });
      rec.modelMissing = false;
      if (!rec.node) return;
      if (!this.#state.modelOf(rec)) {
        this.stats.waitingForModel++;
        return;
      }
      return this.#activate(rec);
    }
    const oldModel = rec.model;
    rec.obj = dev;
    rec.model = next.model;
    if (rec.api === "v1alpha2") {
      if (profileChanged(old, dev)) this.deps.profiles.markDirty(rec.ns, rec.node);
      if (desiredChanged(old, dev)) {
        await this.#send(cloudUpdatedMessage(rec.node, dev, old, this.deps.env));
        this.stats.cloudUpdated++;
      }
      if (oldModel !== rec.model) rec.modelMissing = !this.#state.modelOf(rec);
      return;
    }
    if (oldModel !== rec.model) {
      rec.modelMissing = !this.#state.modelOf(rec);
      await this.#sendModelTo(rec, Operation.Insert);
      await this.#retireModel(rec.node, rec.ns, oldModel, rec.key);
    }
    if (!jsonEqual(old.spec, dev.spec)) {
      await this.#send(resourceMessage(rec.node, dev, "Device", Operation.Update, this.deps.env));
      this.stats.resourceMessages++;
    }
  }

  /** Device deleted. */
  async deviceDeleted(dev: DeviceObject): Promise<void> {
    const key = keyOf(dev);
    const rec = this.#state.devices.get(key);
    this.deps.coalescer.drop(key);
    if (!rec) return;
    this.#state.devices.delete(key);
    if (!rec.active) {
      if (rec.node && !this.#state.modelOf(rec)) {
        this.stats.waitingForModel = Math.max(0, this.stats.waitingForModel - 1);
      }
      return;
    }
    rec.obj = dev;
    await this.#deactivate(rec, true);
    if (rec.api === "v1beta1" && this.deps.deviceStatus) {
      // The owner reference lets a real cluster's GC do this; the embedded API has no GC.
      try {
        await this.deps.api.delete("v1beta1", "devicestatuses", rec.ns, rec.name);
      } catch (err) {
        log.warn("cannot delete device status", { device: key, error: err });
      }
    }
  }

  async #activate(rec: DeviceRecord): Promise<void> {
    rec.active = true;
    rec.modelMissing = false;
    const env = this.deps.env;
    if (rec.api === "v1alpha2") {
      await this.#send(
        membershipMessage(rec.node, [membershipDevice(rec.obj, true, env.now())], [], env),
      );
      this.stats.membership++;
      this.deps.profiles.markDirty(rec.ns, rec.node);
      return;
    }
    if (this.deps.deviceStatus) await this.#ensureDeviceStatus(rec);
    await this.#send(
      membershipMessage(rec.node, [membershipDevice(rec.obj, false, env.now())], [], env),
    );
    this.stats.membership++;
    await this.#sendModelTo(rec, Operation.Insert);
    await this.#send(resourceMessage(rec.node, rec.obj, "Device", Operation.Insert, env));
    this.stats.resourceMessages++;
  }

  async #deactivate(rec: DeviceRecord, deleted: boolean): Promise<void> {
    rec.active = false;
    const env = this.deps.env;
    const classic = rec.api === "v1alpha2";
    await this.#send(
      membershipMessage(rec.node, [], [membershipDevice(rec.obj, classic, env.now())], env),
    );
    this.stats.membership++;
    if (classic) {
      this.deps.profiles.markDirty(rec.ns, rec.node);
      return;
    }
    await this.#retireModel(rec.node, rec.ns, rec.model, rec.key);
    await this.#send(resourceMessage(rec.node, rec.obj, "Device", Operation.Delete, env));
    this.stats.resourceMessages++;
    if (!deleted) log.info("device moved off node", { device: rec.key });
  }

  /** Sends a v1beta1 record's model to its node unless that node+ns already has it. */
  async #sendModelTo(rec: DeviceRecord, op: string): Promise<void> {
    if (rec.api !== "v1beta1") return;
    const model = this.#state.modelOf(rec);
    if (!model) return;
    const sent = `${rec.node}|${rec.ns}|${rec.model}`;
    if (this.#state.sentModels.has(sent)) return;
    this.#state.sentModels.add(sent);
    await this.#send(resourceMessage(rec.node, model, "DeviceModel", op, this.deps.env));
    this.stats.resourceMessages++;
  }

  /** Deletes a model from a node when no other active device there references it. */
  async #retireModel(node: string, ns: string, model: string, except: string): Promise<void> {
    const sent = `${node}|${ns}|${model}`;
    if (!model || !this.#state.sentModels.has(sent)) return;
    if (this.#state.modelStillUsed(node, ns, model, except)) return;
    this.#state.sentModels.delete(sent);
    const obj = this.#state.models.get(`${ns}/${model}`) ??
      { metadata: { name: model, namespace: ns } };
    await this.#send(resourceMessage(node, obj, "DeviceModel", Operation.Delete, this.deps.env));
    this.stats.resourceMessages++;
  }

  async #ensureDeviceStatus(rec: DeviceRecord): Promise<void> {
    try {
      let ds = await this.deps.api.get("v1beta1", "devicestatuses", rec.ns, rec.name);
      if (!ds) {
        ds = await this.deps.api.create("v1beta1", "devicestatuses", rec.ns, newDeviceStatus(rec));
      }
      rec.statusObj = ds;
    } catch (err) {
      log.error("cannot ensure device status", { device: rec.key, error: err });
    }
  }
}
