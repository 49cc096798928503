/**
 * Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) into the
 * JSON form, for the built-in types kubectl's typed clients send that way since client-go 1.31
 * (`kubectl create namespace|configmap|secret|service|serviceaccount|token`, `kubectl certificate
 * approve`). Responses stay JSON, which those clients also accept.
 *
 * The wire reader is protobufjs; the field tables below are hand-written from the field numbers of
 * k8s.io/api `generated.proto` (core/v1, authentication/v1, certificates/v1) and apimachinery
 * (ObjectMeta, OwnerReference, Time, IntOrString), limited to the types listed above.
 */
import protobuf from "protobufjs";
import { badRequest, unsupportedMediaType } from "./errors.ts";
import { setOwn } from "./own.ts";
import { encodeBase64 } from "../lib/mod.ts";

type Kind =
  | "string"
  | "bytes"
  | "bool"
  /** A *bool: false is kept. */
  | "optbool"
  | "int32"
  | "int64"
  | "time"
  | "intstr"
  | "map:string"
  | "map:bytes"
  | `msg:${string}`
  | `mapmsg:${string}`;

/** field number → [JSON name, kind, repeated]. */
type Table = Record<number, [string, Kind, boolean?]>;

const META: [string, Kind] = ["metadata", "msg:ObjectMeta"];

const TABLES: Record<string, Table> = {
  ObjectMeta: {
    1: ["name", "string"],
    2: ["generateName", "string"],
    3: ["namespace", "string"],
    5: ["uid", "string"],
    6: ["resourceVersion", "string"],
    7: ["generation", "int64"],
    8: ["creationTimestamp", "time"],
    9: ["deletionTimestamp", "time"],
    10: ["deletionGracePeriodSeconds", "int64"],
    11: ["labels", "map:string"],
    12: ["annotations", "map:string"],
    13: ["ownerReferences", "msg:OwnerReference", true],
    14: ["finalizers", "string", true],
  },
  OwnerReference: {
    1: ["kind", "string"],
    3: ["name", "string"],
    4: ["uid", "string"],
    5: ["apiVersion", "string"],
    6: ["controller", "optbool"],
    7: ["blockOwnerDeletion", "optbool"],
  },
  ConfigMap: {
    1: META,
    2: ["data", "map:string"],
    3: ["binaryData", "map:bytes"],
    4: ["immutable", "optbool"],
  },
  Secret: {
    1: META,
    2: ["data", "map:bytes"],
    3: ["type", "string"],
    4: ["stringData", "map:string"],
    5: ["immutable", "optbool"],
  },
  Namespace: { 1: META, 2: ["spec", "msg:NamespaceSpec"], 3: ["status", "msg:NamespaceStatus"] },
  NamespaceSpec: { 1: ["finalizers", "string", true] },
  NamespaceStatus: { 1: ["phase", "string"] },
  ServiceAccount: {
    1: META,
    2: ["secrets", "msg:ObjectReference", true],
    3: ["imagePullSecrets", "msg:LocalObjectReference", true],
    4: ["automountServiceAccountToken", "optbool"],
  },
  ObjectReference: {
    1: ["kind", "string"],
    2: ["namespace", "string"],
    3: ["name", "string"],
    4: ["uid", "string"],
    5: ["apiVersion", "string"],
    6: ["resourceVersion", "string"],
    7: ["fieldPath", "string"],
  },
  LocalObjectReference: { 1: ["name", "string"] },
  Service: { 1: META, 2: ["spec", "msg:ServiceSpec"], 3: ["status", "msg:ServiceStatus"] },
  ServiceSpec: {
    1: ["ports", "msg:ServicePort", true],
    2: ["selector", "map:string"],
    3: ["clusterIP", "string"],
    4: ["type", "string"],
    5: ["externalIPs", "string", true],
    7: ["sessionAffinity", "string"],
    8: ["loadBalancerIP", "string"],
    9: ["loadBalancerSourceRanges", "string", true],
    10: ["externalName", "string"],
    11: ["externalTrafficPolicy", "string"],
    12: ["healthCheckNodePort", "int32"],
    13: ["publishNotReadyAddresses", "bool"],
    14: ["sessionAffinityConfig", "msg:SessionAffinityConfig"],
    17: ["ipFamilyPolicy", "string"],
    18: ["clusterIPs", "string", true],
    19: ["ipFamilies", "string", true],
    20: ["allocateLoadBalancerNodePorts", "optbool"],
    21: ["loadBalancerClass", "string"],
    22: ["internalTrafficPolicy", "string"],
    23: ["trafficDistribution", "string"],
  },
  ServicePort: {
    1: ["name", "string"],
    2: ["protocol", "string"],
    3: ["port", "int32"],
    4: ["targetPort", "intstr"],
    5: ["nodePort", "int32"],
    6: ["appProtocol", "string"],
  },
  ServiceStatus: {},
  SessionAffinityConfig: { 1: ["clientIP", "msg:ClientIPConfig"] },
  ClientIPConfig: { 1: ["timeoutSeconds", "int32"] },
  TokenRequest: {
    1: META,
    2: ["spec", "msg:TokenRequestSpec"],
    3: ["status", "msg:TokenRequestStatus"],
  },
  TokenRequestSpec: {
    1: ["audiences", "string", true],
    3: ["boundObjectRef", "msg:BoundObjectReference"],
    4: ["expirationSeconds", "int64"],
  },
  BoundObjectReference: {
    1: ["kind", "string"],
    2: ["apiVersion", "string"],
    3: ["name", "string"],
    4: ["uid", "string"],
  },
  TokenRequestStatus: { 1: ["token", "string"], 2: ["expirationTimestamp", "time"] },
  CertificateSigningRequest: {
    1: META,
    2: ["spec", "msg:CertificateSigningRequestSpec"],
    3: ["status", "msg:CertificateSigningRequestStatus"],
  },
  CertificateSigningRequestSpec: {
    1: ["request", "bytes"],
    2: ["username", "string"],
    3: ["uid", "string"],
    4: ["groups", "string", true],
    5: ["usages", "string", true],
    6: ["extra", "mapmsg:ExtraValue"],
    7: ["signerName", "string"],
    8: ["expirationSeconds", "int32"],
  },
  CertificateSigningRequestStatus: {
    1: ["conditions", "msg:CertificateSigningRequestCondition", true],
    2: ["certificate", "bytes"],
  },
  CertificateSigningRequestCondition: {
    1: ["type", "string"],
    2: ["reason", "string"],
    3: ["message", "string"],
    4: ["lastUpdateTime", "time"],
    5: ["lastTransitionTime", "time"],
    6: ["status", "string"],
  },
  DeleteOptions: {
    1: ["gracePeriodSeconds", "int64"],
    2: ["preconditions", "msg:Preconditions"],
    3: ["orphanDependents", "optbool"],
    4: ["propagationPolicy", "string"],
    5: ["dryRun", "string", true],
  },
  Preconditions: { 1: ["uid", "string"], 2: ["resourceVersion", "string"] },
  // Decoded as a plain list (the JSON form of ExtraValue is an array of strings).
  ExtraValue: { 1: ["items", "string", true] },
};

const MAGIC = [0x6b, 0x38, 0x73, 0x00]; // "k8s\0"

function toNumber(v: number | { toNumber(): number }): number {
  return typeof v === "number" ? v : v.toNumber();
}

type Json = Record<string, unknown>;

function readMapEntry(r: protobuf.Reader, valueKind: Kind): [string, unknown] {
  const end = r.uint32() + r.pos;
  let key = "";
  let value: unknown = valueKind === "map:bytes" ? "" : valueKind === "map:string" ? "" : undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    const f = tag >>> 3;
    if (f === 1) key = r.string();
    else if (f === 2) {
      if (valueKind === "map:string") value = r.string();
      else if (valueKind === "map:bytes") value = encodeBase64(r.bytes());
      else {
        const inner = valueKind.slice("mapmsg:".length);
        const sub = readMessage(r, inner, r.uint32() + r.pos);
        value = inner === "ExtraValue" ? (sub.items ?? []) : sub;
      }
    } else r.skipType(tag & 7);
  }
  return [key, value];
}

function readMessage(r: protobuf.Reader, type: string, end: number): Json {
  const table = TABLES[type];
  const out: Json = {};
  while (r.pos < end) {
    const tag = r.uint32();
    const spec = table?.[tag >>> 3];
    if (!spec) {
      r.skipType(tag & 7);
      continue;
    }
    const [name, kind, repeated] = spec;
    let value: unknown;
    if (kind === "string") value = r.string();
    else if (kind === "bytes") value = encodeBase64(r.bytes());
    else if (kind === "bool" || kind === "optbool") value = r.bool();
    else if (kind === "int32") value = r.int32();
    else if (kind === "int64") value = toNumber(r.int64() as unknown as number);
    else if (kind === "time") {
      const t = readRaw(r, { 1: ["seconds", "int64"], 2: ["nanos", "int32"] });
      value = t.seconds === undefined
        ? undefined
        : new Date(Number(t.seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
    } else if (kind === "intstr") {
      const t = readRaw(r, {
        1: ["type", "int64"],
        2: ["intVal", "int32"],
        3: ["strVal", "string"],
      });
      value = Number(t.type ?? 0) === 1 ? t.strVal ?? "" : t.intVal ?? 0;
    } else if (kind.startsWith("map")) {
      const [k, v] = readMapEntry(r, kind);
      const m = (out[name] ?? {}) as Json;
      setOwn(m, String(k), v); // a "__proto__" map key is data, not a prototype
      out[name] = m;
      continue;
    } else {
      value = readMessage(r, kind.slice(4), r.uint32() + r.pos);
    }
    if (repeated) {
      ((out[name] ??= []) as unknown[]).push(value);
      continue;
    }
    // Go marshals zero values of non-pointer fields; JSON omits them.
    if (
      value === "" || value === 0 || value === false && kind !== "optbool" || value === undefined
    ) continue;
    if (
      typeof value === "object" && value && !Array.isArray(value) && Object.keys(value).length === 0
    ) continue;
    out[name] = value;
  }
  return out;
}

function readRaw(r: protobuf.Reader, table: Table): Json {
  const end = r.uint32() + r.pos;
  const out: Json = {};
  while (r.pos < end) {
    const tag = r.uint32();
    const spec = table[tag >>> 3];
    if (!spec) {
      r.skipType(tag & 7);
      continue;
    }
    const [name, kind] = spec;
    out[name] = kind === "string"
      ? r.string()
      : kind === "int32"
      ? r.int32()
      : toNumber(r.int64() as unknown as number);
  }
  return out;
}

/** True when the body starts with the Kubernetes protobuf envelope magic. */
export function isK8sProtobuf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && MAGIC.every((b, i) => bytes[i] === b);
}

/** Decodes a `k8s\0` + runtime.Unknown envelope into the object's JSON form. */
export function decodeK8sProtobuf(bytes: Uint8Array): Json {
  if (!isK8sProtobuf(bytes)) throw badRequest("protobuf body without the k8s envelope");
  try {
    const r = protobuf.Reader.create(bytes.subarray(4));
    let apiVersion = "", kind = "";
    let raw: Uint8Array | undefined;
    while (r.pos < r.len) {
      const tag = r.uint32();
      const f = tag >>> 3;
      if (f === 1) {
        const tm = readRaw(r, { 1: ["apiVersion", "string"], 2: ["kind", "string"] });
        apiVersion = String(tm.apiVersion ?? "");
        kind = String(tm.kind ?? "");
      } else if (f === 2) raw = r.bytes();
      else r.skipType(tag & 7);
    }
    if (!TABLES[kind] || !raw) {
      throw unsupportedMediaType(
        `protobuf bodies of kind ${kind || "(none)"} are not supported; send application/json`,
      );
    }
    const inner = protobuf.Reader.create(raw);
    return { apiVersion, kind, ...readMessage(inner, kind, inner.len) };
  } catch (e) {
    if (e instanceof Error && e.name === "ApiError") throw e;
    throw badRequest(`malformed protobuf body: ${(e as Error).message}`);
  }
}
