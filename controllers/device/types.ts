/**
 * Device and DeviceModel shapes of both API generations (docs/protocol.md §8.1), read loosely from
 * raw JSON, and the helpers that tell them apart.
 *
 * Both versions share one storage in the API (conversion strategy `None`), so a Device written as
 * v1alpha2 is listed under v1beta1 too with only `apiVersion` changed. The controller therefore
 * watches one version and classifies every object by its shape: `spec.nodeName` is the current
 * design, `spec.nodeSelector` the classic one.
 */
import type { KubeObject } from "../../kube/mod.ts";

/** API group of devices, models and statuses. */
export const DeviceGroup = "devices.kubeedge.io";

/** Which generation's behaviour applies to a Device. */
export type DeviceApi = "v1alpha2" | "v1beta1";

/** `TwinProperty`: a value and string metadata. */
export interface TwinProperty {
  value?: string;
  metadata?: Record<string, string>;
}

/** One entry of `status.twins`. */
export interface StatusTwin {
  propertyName?: string;
  desired?: TwinProperty;
  reported?: TwinProperty;
  observedDesired?: TwinProperty;
}

/** A Device as raw JSON with the fields the controller reads. */
export interface DeviceObject extends KubeObject {
  spec?: {
    deviceModelRef?: { name?: string };
    nodeName?: string;
    nodeSelector?: {
      nodeSelectorTerms?: { matchExpressions?: { key?: string; values?: string[] }[] }[];
    };
    protocol?: Record<string, unknown>;
    propertyVisitors?: Record<string, unknown>[];
    data?: { dataProperties?: unknown[]; dataTopic?: string };
    properties?: { name?: string; [k: string]: unknown }[];
    [k: string]: unknown;
  };
  status?: {
    twins?: StatusTwin[];
    state?: string;
    lastOnlineTime?: string;
    [k: string]: unknown;
  };
}

/** A DeviceModel property in either shape. */
export interface ModelProperty {
  name?: string;
  description?: string;
  /** v1beta1: `INT`, `FLOAT`, ...; v1alpha2: `{int:{accessMode,...}}`. */
  type?: string | Record<string, Record<string, unknown> | undefined>;
  accessMode?: string;
  minimum?: unknown;
  maximum?: unknown;
  unit?: string;
  [k: string]: unknown;
}

/** A DeviceModel as raw JSON. */
export interface DeviceModelObject extends KubeObject {
  spec?: { properties?: ModelProperty[]; [k: string]: unknown };
}

/**
 * The node a Device is bound to: `spec.nodeName` (v1beta1) or, for the classic design,
 * `nodeSelectorTerms[0].matchExpressions[0].values[0]` (§8.1). Empty when unbound.
 */
export function deviceNode(dev: DeviceObject): string {
  const spec = dev.spec ?? {};
  if (typeof spec.nodeName === "string" && spec.nodeName) return spec.nodeName;
  const v = spec.nodeSelector?.nodeSelectorTerms?.[0]?.matchExpressions?.[0]?.values?.[0];
  return typeof v === "string" ? v : "";
}

/** `spec.protocol` keys only the classic design has (v1beta1 uses `protocolName`). */
const CLASSIC_PROTOCOL_KEYS = ["opcua", "modbus", "bluetooth", "common", "customizedProtocol"];

/** Classic (v1alpha2) when the Device uses `nodeSelector` and has no `nodeName`. */
export function deviceApi(dev: DeviceObject): DeviceApi {
  const spec = dev.spec ?? {};
  if (spec.nodeName) return "v1beta1";
  if (spec.nodeSelector || dev.apiVersion === `${DeviceGroup}/v1alpha2`) return "v1alpha2";
  if (
    Array.isArray(spec.propertyVisitors) || Array.isArray(dev.status?.twins) && !spec.properties
  ) {
    return "v1alpha2";
  }
  const protocol = spec.protocol ?? {};
  if (CLASSIC_PROTOCOL_KEYS.some((k) => protocol[k] !== undefined)) return "v1alpha2";
  return "v1beta1";
}

/** The model name a Device references ("" when none). */
export function deviceModelName(dev: DeviceObject): string {
  const n = dev.spec?.deviceModelRef?.name;
  return typeof n === "string" ? n : "";
}

/** `<ns>/<name>`. */
export function keyOf(obj: KubeObject): string {
  return `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
}

/** Normalized `type` of a model property: `int`, `string`, `double`, `float`, `boolean`, `bytes`, `stream`, or "". */
export function propertyDataType(p: ModelProperty): string {
  if (typeof p.type === "string") return p.type.toLowerCase();
  if (p.type && typeof p.type === "object") {
    for (const t of ["int", "string", "double", "float", "boolean", "bytes"]) {
      if (p.type[t]) return t;
    }
  }
  return "";
}
