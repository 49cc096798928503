/**
 * DeviceController's in-memory view: the Devices it tracks (with what was sent for them), the
 * DeviceModels it knows, and which models each node+namespace has received.
 */
import type { KubeObject } from "../../kube/mod.ts";
import {
  type DeviceApi,
  deviceApi,
  DeviceGroup,
  deviceModelName,
  type DeviceModelObject,
  deviceNode,
  type DeviceObject,
  keyOf,
} from "./types.ts";

/** One tracked Device. */
export interface DeviceRecord {
  /** `<ns>/<name>`. */
  readonly key: string;
  readonly ns: string;
  readonly name: string;
  api: DeviceApi;
  node: string;
  model: string;
  obj: DeviceObject;
  /** Sent to its node (membership, profile, resource messages). */
  active: boolean;
  /** Active, but its model was deleted (reported on the Device). */
  modelMissing: boolean;
  /** The newest object holding this device's status (the Device or its DeviceStatus). */
  statusObj?: KubeObject;
}

/** Compares resourceVersions numerically when both are integers. */
export function newerRv(a: string | undefined, b: string | undefined): boolean {
  const x = Number(a);
  const y = Number(b);
  if (Number.isSafeInteger(x) && Number.isSafeInteger(y)) return x > y;
  return a !== b;
}

/** See module docs. */
export class DeviceState {
  readonly devices = new Map<string, DeviceRecord>();
  readonly models = new Map<string, DeviceModelObject>();
  /** `<node>|<ns>|<model>` for every v1beta1 DeviceModel sent to a node. */
  readonly sentModels = new Set<string>();

  /** A fresh record for a Device (inactive). */
  static record(dev: DeviceObject): DeviceRecord {
    return {
      key: keyOf(dev),
      ns: dev.metadata?.namespace ?? "",
      name: dev.metadata?.name ?? "",
      api: deviceApi(dev),
      node: deviceNode(dev),
      model: deviceModelName(dev),
      obj: dev,
      active: false,
      modelMissing: false,
    };
  }

  /** The model a record references, if known. */
  modelOf(rec: { ns: string; model: string }): DeviceModelObject | undefined {
    return rec.model ? this.models.get(`${rec.ns}/${rec.model}`) : undefined;
  }

  /** Records referencing model `<ns>/<name>`. */
  referencing(ns: string, model: string): DeviceRecord[] {
    return [...this.devices.values()].filter((r) => r.ns === ns && r.model === model);
  }

  /** Active classic devices of one node and namespace, by name (the profile's order). */
  profileDevices(ns: string, node: string): DeviceRecord[] {
    return [...this.devices.values()]
      .filter((r) => r.active && r.api === "v1alpha2" && r.ns === ns && r.node === node)
      .sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }

  /** True if another active v1beta1 device on node+ns uses the model. */
  modelStillUsed(node: string, ns: string, model: string, except: string): boolean {
    for (const r of this.devices.values()) {
      if (
        r.key !== except && r.active && r.api === "v1beta1" && r.node === node && r.ns === ns &&
        r.model === model
      ) return true;
    }
    return false;
  }

  /**
   * Finds the device an edge names: `<ns>/<name>` (v1beta1) or a classic device name, preferring
   * one bound to `node`.
   */
  lookup(id: string, node: string): DeviceRecord | undefined {
    if (id.includes("/")) return this.devices.get(id);
    let found: DeviceRecord | undefined;
    for (const r of this.devices.values()) {
      if (r.name !== id || r.api !== "v1alpha2") continue;
      if (r.node === node) return r;
      found ??= r;
    }
    return found;
  }
}

/** A new DeviceStatus for a device: same name and namespace, owned (controller) by the Device. */
export function newDeviceStatus(rec: DeviceRecord): KubeObject {
  return {
    apiVersion: `${DeviceGroup}/v1beta1`,
    kind: "DeviceStatus",
    metadata: {
      name: rec.name,
      namespace: rec.ns,
      ownerReferences: [{
        apiVersion: `${DeviceGroup}/v1beta1`,
        kind: "Device",
        name: rec.name,
        uid: rec.obj.metadata?.uid ?? "",
        controller: true,
        blockOwnerDeletion: true,
      }],
    },
    spec: {},
    status: {},
  } as KubeObject;
}
