/**
 * The classic device profile (docs/protocol.md §8.5): ConfigMap `device-profile-config-<node>` in the
 * Device's namespace, key `deviceProfile.json`, read by mappers.
 *
 * Unlike cloudcore ≤ v1.11, which edits the stored JSON in place (and so keeps stale models and
 * never reacts to model changes), the profile is rebuilt from the current Devices and
 * DeviceModels every time; the JSON shape and key order are those of
 * `@v1.10.0:cloud/pkg/devicecontroller/types/deviceprofile.go`.
 */
import {
  deviceModelName,
  type DeviceModelObject,
  type DeviceObject,
  type ModelProperty,
  propertyDataType,
  type StatusTwin,
  type TwinProperty,
} from "./types.ts";

/** ConfigMap name prefix. */
export const DeviceProfileConfigPrefix = "device-profile-config-";
/** The ConfigMap key. */
export const DeviceProfileJson = "deviceProfile.json";

/** The profile ConfigMap's name for a node. */
export function profileConfigMapName(node: string): string {
  return DeviceProfileConfigPrefix + node;
}

/** Protocol keys of `spec.protocol` in cloudcore's order, with their profile names. */
const PROTOCOLS: [key: string, name: string][] = [
  ["opcua", "opcua"],
  ["modbus", "modbus"],
  ["bluetooth", "bluetooth"],
  ["customizedProtocol", "customized-protocol"],
];
/** Visitor protocol keys, checked in cloudcore's order (modbus first). */
const VISITORS: [key: string, name: string][] = [
  ["modbus", "modbus"],
  ["opcua", "opcua"],
  ["bluetooth", "bluetooth"],
  ["customizedProtocol", "customized-protocol"],
];

type Json = Record<string, unknown>;

function twinProperty(p: TwinProperty | undefined): Json {
  // Go: `Value string json:"value,"` is always emitted; metadata is omitempty.
  const out: Json = { value: p?.value ?? "" };
  if (p?.metadata && Object.keys(p.metadata).length > 0) out.metadata = p.metadata;
  return out;
}

function twin(t: StatusTwin): Json {
  const out: Json = {};
  if (t.propertyName) out.propertyName = t.propertyName;
  out.desired = twinProperty(t.desired);
  out.reported = twinProperty(t.reported);
  return out;
}

function visitors(dev: DeviceObject): Json[] {
  const out: Json[] = [];
  for (const v of dev.spec?.propertyVisitors ?? []) {
    const pv: Json = {};
    if (v.propertyName) {
      pv.name = v.propertyName;
      pv.propertyName = v.propertyName;
    }
    const model = deviceModelName(dev);
    if (model) pv.modelName = model;
    let protocol = "";
    let config: unknown;
    for (const [key, name] of VISITORS) {
      if (v[key] !== undefined && v[key] !== null) {
        protocol = name;
        config = v[key];
        break;
      }
    }
    if (protocol) pv.protocol = protocol;
    if (typeof v.reportCycle === "number" && v.reportCycle) pv.reportCycle = v.reportCycle;
    if (typeof v.collectCycle === "number" && v.collectCycle) pv.collectCycle = v.collectCycle;
    if (v.customizedValues !== undefined && v.customizedValues !== null) {
      pv.customizedValues = v.customizedValues;
    }
    if (config !== undefined) pv.visitorConfig = config;
    out.push(pv);
  }
  return out;
}

function protocolOf(dev: DeviceObject): { instance: string; entry: Json } {
  const name = dev.metadata?.name ?? "";
  const spec = dev.spec?.protocol ?? {};
  const entry: Json = {};
  let config: unknown = null;
  let instance = "";
  for (const [key, proto] of PROTOCOLS) {
    if (spec[key] !== undefined && spec[key] !== null) {
      instance = `${proto}-${name}`;
      entry.name = instance;
      entry.protocol = proto;
      config = spec[key];
      break;
    }
  }
  entry.protocolConfig = config;
  entry.protocolCommonConfig = spec.common ?? null;
  return { instance, entry };
}

function instance(dev: DeviceObject, protocol: string): Json {
  const name = dev.metadata?.name ?? "";
  const out: Json = {};
  if (name) {
    out.id = name;
    out.name = name;
  }
  if (protocol) out.protocol = protocol;
  const model = deviceModelName(dev);
  if (model) out.model = model;
  const twins = dev.status?.twins ?? [];
  if (twins.length > 0) out.twins = twins.map(twin);
  const data = dev.spec?.data;
  const props = Array.isArray(data?.dataProperties) ? data.dataProperties : [];
  if (props.length > 0 || data?.dataTopic) {
    const d: Json = {};
    if (props.length > 0) d.dataProperties = props;
    if (data?.dataTopic) d.dataTopic = data.dataTopic;
    out.data = d;
  }
  const pvs = visitors(dev);
  if (pvs.length > 0) out.propertyVisitors = pvs;
  return out;
}

const NUMERIC = new Set(["int", "double", "float"]);

/** A model property in the profile (`types.Property`), from either model shape. */
export function profileProperty(p: ModelProperty): Json {
  const dataType = propertyDataType(p);
  // v1alpha2 nests the details under the type key; v1beta1 keeps them flat.
  const detail: Record<string, unknown> = typeof p.type === "object" && p.type
    ? (p.type[dataType] ?? {}) as Record<string, unknown>
    : p;
  const out: Json = {};
  if (p.name) out.name = p.name;
  if (dataType) out.dataType = dataType;
  if (p.description) out.description = p.description;
  if (detail.accessMode) out.accessMode = detail.accessMode;
  // Go stores typed values in interface{} fields: omitempty drops only nil, so a numeric type's
  // zero default/minimum/maximum is still written, while bytes has no default at all.
  if (NUMERIC.has(dataType)) {
    out.defaultValue = detail.defaultValue ?? 0;
    out.minimum = detail.minimum ?? 0;
    out.maximum = detail.maximum ?? 0;
  } else if (dataType === "string") {
    out.defaultValue = detail.defaultValue ?? "";
  } else if (dataType === "boolean") {
    out.defaultValue = detail.defaultValue ?? false;
  }
  if (NUMERIC.has(dataType) && typeof detail.unit === "string" && detail.unit) {
    out.unit = detail.unit;
  }
  return out;
}

function model(m: DeviceModelObject): Json {
  const out: Json = {};
  if (m.metadata?.name) out.name = m.metadata.name;
  const props = (m.spec?.properties ?? []).map(profileProperty);
  if (props.length > 0) out.properties = props;
  return out;
}

/**
 * Builds the profile for the classic Devices bound to one node in one namespace. Devices are
 * listed in the given order; each referenced model present in `models` (by name) appears once.
 * Returns null when there are no devices (the ConfigMap is then deleted).
 */
export function buildProfile(
  devices: DeviceObject[],
  models: (name: string) => DeviceModelObject | undefined,
): Json | null {
  if (devices.length === 0) return null;
  const instances: Json[] = [];
  const protocols: Json[] = [];
  const modelList: Json[] = [];
  const seen = new Set<string>();
  for (const dev of devices) {
    const p = protocolOf(dev);
    instances.push(instance(dev, p.instance));
    protocols.push(p.entry);
    const name = deviceModelName(dev);
    const m = name ? models(name) : undefined;
    if (m && !seen.has(name)) {
      seen.add(name);
      modelList.push(model(m));
    }
  }
  const out: Json = { deviceInstances: instances };
  if (modelList.length > 0) out.deviceModels = modelList;
  out.protocols = protocols;
  return out;
}
