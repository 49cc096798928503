/**
 * Edge → Kubernetes (docs/protocol.md §8.4, §8.5): `twin/edge_updated` and `state/update` messages,
 * validated, coalesced per device and merge-patched into the Device's (or DeviceStatus's)
 * status; the edge gets one `"OK"` per message once its values are stored.
 *
 * Bad input (unknown device, property not in the device/model, malformed JSON, wrong types) is
 * counted and logged and answered with an error response (a `response` carrying Go's StatusError
 * JSON); it never affects other devices.
 */
import { getContentJson, type Message, type MessageEnv, ResourceType } from "../../modules/mod.ts";
import { createLogger, isRecord, Semaphore } from "../../lib/mod.ts";
import { isConflict, isNotFound, type KubeObject } from "../../kube/mod.ts";
import type { DeviceApiClient, DevicePlural } from "./api.ts";
import type { TwinBatch, TwinCoalescer, TwinUpdate } from "./coalescer.ts";
import { type DeviceRecord, type DeviceState, newDeviceStatus, newerRv } from "./state.ts";
import {
  type ModelProperty,
  propertyDataType,
  type StatusTwin,
  type TwinProperty,
} from "./types.ts";
import { errorResponse, okResponse } from "./wire.ts";

const log = createLogger("devicecontroller");

/** Why an upstream message was rejected. */
export type RejectReason =
  | "unknownResource"
  | "unknownDevice"
  | "malformed"
  | "wrongType"
  | "unknownProperty";

/** Counters. */
export interface UpstreamStats {
  twinMessages: number;
  stateMessages: number;
  membershipDetail: number;
  ok: number;
  errors: number;
  patches: number;
  conflicts: number;
  rejected: Record<RejectReason, number>;
  /** Rejected properties inside otherwise accepted messages. */
  rejectedProperties: number;
}

/** What the upstream side needs. */
export interface UpstreamDeps {
  state: DeviceState;
  api: DeviceApiClient;
  coalescer: TwinCoalescer;
  env: MessageEnv;
  send: (msg: Message) => Promise<void>;
  deviceVersion: string;
  deviceStatus: boolean;
  /** Send `error` messages for rejected input (default true). */
  errorResponses: boolean;
  /** Status PATCHes in flight at most (default 64). */
  maxConcurrentPatches?: number;
  /** When the edge gets its OK (see {@link AckMode}; default `stored`). */
  ackMode?: AckMode;
  /** Observes edge-message → API-stored latency in ms. */
  observeLatency?: (ms: number) => void;
}

/**
 * When an accepted twin/state message is answered:
 * - `stored` (default): after the PATCH carrying its values succeeded. An OK then means the value
 *   is in the API; if edgecloud dies first the edge still resends it. Under an API slower than
 *   the edge, OKs leave in bursts (one per merged message after each PATCH).
 * - `accepted`: as soon as it is validated and merged into the coalescer, at the rate messages
 *   arrive. Values are still retried until stored, but live only in memory until then.
 */
export type AckMode = "stored" | "accepted";

/** Thrown for invalid upstream content. */
export class TwinInputError extends Error {
  override name = "TwinInputError";
  constructor(readonly reason: RejectReason, message: string) {
    super(message);
  }
}

interface Parsed {
  node: string;
  kind: "twin" | "state" | "membershipDetail";
  deviceId: string;
}

/** Splits `node/<n>/device/<id>/twin/edge_updated` and friends. */
export function parseUpstreamResource(resource: string): Parsed {
  const parts = resource.split("/");
  if (parts[0] !== "node" || !parts[1]) {
    throw new TwinInputError("unknownResource", `resource ${JSON.stringify(resource)} has no node`);
  }
  const node = parts[1];
  const rest = parts.slice(2).join("/");
  if (rest.includes(ResourceType.MembershipDetail)) {
    return { node, kind: "membershipDetail", deviceId: "" };
  }
  for (
    const [suffix, kind] of [
      [ResourceType.TwinEdgeUpdated, "twin"],
      [ResourceType.StateUpdate, "state"],
    ] as const
  ) {
    if (rest.startsWith("device/") && rest.endsWith("/" + suffix)) {
      const id = rest.slice("device/".length, rest.length - suffix.length - 1);
      if (!id) break;
      return { node, kind, deviceId: id };
    }
  }
  throw new TwinInputError(
    "unknownResource",
    `resource ${JSON.stringify(resource)} is not for the device controller`,
  );
}

/** Go `json.Unmarshal` of a TwinValue: `value` *string, `metadata.timestamp` int64. */
function twinValue(v: unknown, where: string): { value?: string; ts?: number } | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) throw new TwinInputError("wrongType", `${where} must be an object`);
  const value = v.value;
  if (value !== undefined && value !== null && typeof value !== "string") {
    throw new TwinInputError("wrongType", `${where}.value must be a string`);
  }
  let ts: number | undefined;
  if (v.metadata !== undefined && v.metadata !== null) {
    if (!isRecord(v.metadata)) {
      throw new TwinInputError("wrongType", `${where}.metadata must be an object`);
    }
    const t = v.metadata.timestamp;
    if (t !== undefined && t !== null && (typeof t !== "number" || !Number.isInteger(t))) {
      throw new TwinInputError("wrongType", `${where}.metadata.timestamp must be an integer`);
    }
    ts = typeof t === "number" ? t : 0;
  }
  return { value: typeof value === "string" ? value : undefined, ts };
}

/** Checks a value against a model property type; returns an error text or "". */
export function checkValueType(value: string, prop: ModelProperty | undefined): string {
  if (!prop) return "";
  const t = propertyDataType(prop);
  switch (t) {
    case "int":
      return /^[-+]?\d+$/.test(value.trim()) ? "" : `value ${JSON.stringify(value)} is not an int`;
    case "float":
    case "double":
      return value.trim() !== "" && Number.isFinite(Number(value))
        ? ""
        : `value ${JSON.stringify(value)} is not a ${t}`;
    case "boolean":
      return value === "true" || value === "false"
        ? ""
        : `value ${JSON.stringify(value)} is not a boolean`;
    default:
      return "";
  }
}

function twinProp(value: string, ts: number | undefined, type: string | undefined): TwinProperty {
  const metadata: Record<string, string> = {};
  if (ts !== undefined) metadata.timestamp = String(ts);
  if (type !== undefined) metadata.type = type;
  return Object.keys(metadata).length > 0 ? { value, metadata } : { value };
}

/** See module docs. */
export class Upstream {
  readonly stats: UpstreamStats = {
    twinMessages: 0,
    stateMessages: 0,
    membershipDetail: 0,
    ok: 0,
    errors: 0,
    patches: 0,
    conflicts: 0,
    rejected: {
      unknownResource: 0,
      unknownDevice: 0,
      malformed: 0,
      wrongType: 0,
      unknownProperty: 0,
    },
    rejectedProperties: 0,
  };

  readonly #patchSlots: Semaphore;

  constructor(readonly deps: UpstreamDeps) {
    this.#patchSlots = new Semaphore(deps.maxConcurrentPatches ?? 64);
  }

  /** Handles one message from the `devicecontroller` inbox. Never throws. */
  async handle(msg: Message): Promise<void> {
    const received = this.deps.env.now();
    const parts = (msg.route.resource ?? "").split("/");
    // Known even when the rest of the resource is unusable, so the edge still gets an answer.
    let node = parts[0] === "node" ? parts[1] ?? "" : "";
    try {
      const parsed = parseUpstreamResource(msg.route.resource ?? "");
      node = parsed.node;
      if (parsed.kind === "membershipDetail") {
        this.stats.membershipDetail++;
        return;
      }
      const rec = this.deps.state.lookup(parsed.deviceId, node);
      if (!rec || rec.node !== node) {
        throw new TwinInputError(
          "unknownDevice",
          `device ${JSON.stringify(parsed.deviceId)} is not bound to node ${node}`,
        );
      }
      let content: unknown;
      try {
        content = getContentJson(msg);
      } catch (err) {
        throw new TwinInputError("malformed", (err as Error).message);
      }
      if (parsed.kind === "twin") this.#twin(msg, rec, node, content, received);
      else this.#stateUpdate(msg, rec, node, content, received);
    } catch (err) {
      if (!(err instanceof TwinInputError)) throw err;
      this.stats.rejected[err.reason]++;
      log.warn("upstream device message rejected", {
        reason: err.reason,
        resource: msg.route.resource ?? "",
        id: msg.header.id,
        error: err.message,
      });
      if (node && this.deps.errorResponses) {
        this.stats.errors++;
        await this.#send(errorResponse(msg, node, err.message, this.deps.env));
      }
    }
  }

  async #send(msg: Message): Promise<void> {
    try {
      await this.deps.send(msg);
    } catch (err) {
      log.error("send to cloudhub failed", { resource: msg.route.resource ?? "", error: err });
    }
  }

  #ack(msg: Message, node: string, received: number): () => void {
    return () => {
      this.stats.ok++;
      this.deps.observeLatency?.(this.deps.env.now() - received);
      void this.#send(okResponse(msg, node, this.deps.env));
    };
  }

  #twin(msg: Message, rec: DeviceRecord, node: string, content: unknown, received: number): void {
    this.stats.twinMessages++;
    if (!isRecord(content)) throw new TwinInputError("malformed", "content is not a JSON object");
    const twin = content.twin;
    if (twin !== undefined && twin !== null && !isRecord(twin)) {
      throw new TwinInputError("wrongType", "twin must be an object");
    }
    const reported = new Map<string, TwinProperty>();
    const observed = new Map<string, TwinProperty>();
    const allowed = this.#allowedProperties(rec);
    const modelProps = new Map<string, ModelProperty>();
    for (const p of this.deps.state.modelOf(rec)?.spec?.properties ?? []) {
      if (p.name) modelProps.set(p.name, p);
    }
    const problems: string[] = [];
    let candidates = 0;
    for (const [name, raw] of Object.entries(twin ?? {})) {
      if (!isRecord(raw)) throw new TwinInputError("wrongType", `twin.${name} must be an object`);
      const actual = twinValue(raw.actual, `twin.${name}.actual`);
      const expected = twinValue(raw.expected, `twin.${name}.expected`);
      let type: string | undefined;
      if (raw.metadata !== undefined && raw.metadata !== null) {
        if (!isRecord(raw.metadata)) {
          throw new TwinInputError("wrongType", `twin.${name}.metadata must be an object`);
        }
        const t = raw.metadata.type;
        if (t !== undefined && t !== null && typeof t !== "string") {
          throw new TwinInputError("wrongType", `twin.${name}.metadata.type must be a string`);
        }
        type = typeof t === "string" ? t : "";
      }
      candidates++;
      if (!allowed.has(name)) {
        problems.push(`property ${JSON.stringify(name)} is not in device ${rec.key}`);
        continue;
      }
      const bad = [actual?.value, expected?.value]
        .map((v) => v === undefined ? "" : checkValueType(v, modelProps.get(name)))
        .find((e) => e);
      if (bad) {
        problems.push(`property ${JSON.stringify(name)}: ${bad}`);
        continue;
      }
      if (actual?.value !== undefined) reported.set(name, twinProp(actual.value, actual.ts, type));
      if (rec.api === "v1beta1" && expected?.value !== undefined) {
        observed.set(name, twinProp(expected.value, expected.ts, type));
      }
    }
    if (problems.length > 0) {
      this.stats.rejectedProperties += problems.length;
      log.warn("twin properties rejected", { device: rec.key, problems: problems.join("; ") });
      if (problems.length === candidates) {
        const reason = problems.some((p) => p.includes("is not in device"))
          ? "unknownProperty"
          : "wrongType";
        throw new TwinInputError(reason, problems.join("; "));
      }
    }
    const ack = this.#ack(msg, node, received);
    if (reported.size === 0 && observed.size === 0) {
      ack(); // nothing to store (e.g. an empty twin map): answered at once, like cloudcore
      return;
    }
    this.#accept(rec.key, { reported, observedDesired: observed, receivedAt: received }, ack);
  }

  /** Hands values to the coalescer; the OK goes out now or once they are stored (`ackMode`). */
  #accept(key: string, update: TwinUpdate, ack: () => void): void {
    if (this.deps.ackMode === "accepted") {
      this.deps.coalescer.add(key, update);
      ack();
    } else {
      this.deps.coalescer.add(key, { ...update, ack });
    }
  }

  #stateUpdate(
    msg: Message,
    rec: DeviceRecord,
    node: string,
    content: unknown,
    received: number,
  ): void {
    this.stats.stateMessages++;
    if (!isRecord(content)) throw new TwinInputError("malformed", "content is not a JSON object");
    // Go matches the untagged `Device` field case-insensitively.
    const key = Object.keys(content).find((k) => k.toLowerCase() === "device");
    const device = key ? content[key] : undefined;
    if (!isRecord(device)) throw new TwinInputError("malformed", "content has no device object");
    const state: { state?: string; lastOnlineTime?: string } = {};
    for (const f of ["state", "lastOnlineTime"] as const) {
      const v = device[f];
      if (v === undefined || v === null) continue;
      if (typeof v !== "string") {
        throw new TwinInputError("wrongType", `device.${f} must be a string`);
      }
      state[f] = v;
    }
    this.#accept(rec.key, { state, receivedAt: received }, this.#ack(msg, node, received));
  }

  #allowedProperties(rec: DeviceRecord): Set<string> {
    const out = new Set<string>();
    if (rec.api === "v1beta1") {
      for (const p of rec.obj.spec?.properties ?? []) if (p.name) out.add(p.name);
      return out;
    }
    for (const t of rec.obj.status?.twins ?? []) if (t.propertyName) out.add(t.propertyName);
    for (const p of this.deps.state.modelOf(rec)?.spec?.properties ?? []) {
      if (p.name) out.add(p.name);
    }
    return out;
  }

  // ---- flushing -----------------------------------------------------------------------------

  #target(rec: DeviceRecord): { version: string; plural: DevicePlural } {
    if (rec.api === "v1beta1" && this.deps.deviceStatus) {
      return { version: "v1beta1", plural: "devicestatuses" };
    }
    return { version: this.deps.deviceVersion, plural: "devices" };
  }

  /**
   * Writes one coalesced batch: a merge patch of `status` on the main resource (KubeEdge's device
   * CRDs have no status subresource, so `/status` is a 404 on a real cluster) carrying the full
   * twin list (merge
   * patch replaces arrays) with the object's resourceVersion as precondition, so a concurrent
   * change of `desired` is never overwritten; on conflict the object is re-read and the patch
   * rebuilt.
   */
  async flush(key: string, batch: TwinBatch): Promise<void> {
    const rec = this.deps.state.devices.get(key);
    if (!rec) {
      batch.acks.length = 0;
      return;
    }
    const { version, plural } = this.#target(rec);
    let base = rec.statusObj;
    for (let attempt = 0;; attempt++) {
      if (!base || (plural === "devicestatuses" && base.kind !== "DeviceStatus")) {
        base = await this.#fetchBase(rec, version, plural);
      }
      const body = this.#patchBody(base, batch);
      try {
        this.stats.patches++;
        const patched = await this.#patchSlots.run(() =>
          this.deps.api.mergePatch(version, plural, rec.ns, rec.name, body)
        );
        if (
          !rec.statusObj ||
          newerRv(patched.metadata?.resourceVersion, rec.statusObj.metadata?.resourceVersion)
        ) {
          rec.statusObj = patched;
        }
        return;
      } catch (err) {
        if (isConflict(err) && attempt < 5) {
          this.stats.conflicts++;
          base = undefined;
          continue;
        }
        if (isNotFound(err) && plural === "devicestatuses" && attempt < 5) {
          // Someone deleted the DeviceStatus: make a new one and write into it.
          rec.statusObj = undefined;
          base = undefined;
          continue;
        }
        throw err;
      }
    }
  }

  async #fetchBase(rec: DeviceRecord, version: string, plural: DevicePlural): Promise<KubeObject> {
    const got = await this.deps.api.get(version, plural, rec.ns, rec.name);
    if (got) return got;
    if (plural !== "devicestatuses") {
      throw new Error(`device ${rec.key} not found in the API`);
    }
    try {
      return await this.deps.api.create("v1beta1", "devicestatuses", rec.ns, newDeviceStatus(rec));
    } catch (err) {
      if (isNotFound(err)) throw err;
      const again = await this.deps.api.get(version, plural, rec.ns, rec.name);
      if (again) return again;
      throw err;
    }
  }

  #patchBody(base: KubeObject, batch: TwinBatch): Record<string, unknown> {
    const status = (base.status ?? {}) as { twins?: StatusTwin[] };
    const twins: StatusTwin[] = (status.twins ?? []).map((t) => ({ ...t }));
    const find = (name: string): StatusTwin => {
      let t = twins.find((x) => x.propertyName === name);
      if (!t) {
        // KubeEdge appends an empty entry first and drops the value (§8.4 quirk); not here.
        t = { propertyName: name };
        twins.push(t);
      }
      return t;
    };
    for (const [name, v] of batch.reported) find(name).reported = v;
    for (const [name, v] of batch.observedDesired) find(name).observedDesired = v;
    const out: Record<string, unknown> = {};
    if (batch.reported.size > 0 || batch.observedDesired.size > 0) out.twins = twins;
    if (batch.state?.state !== undefined) out.state = batch.state.state;
    if (batch.state?.lastOnlineTime !== undefined) out.lastOnlineTime = batch.state.lastOnlineTime;
    return {
      metadata: { resourceVersion: base.metadata?.resourceVersion },
      status: out,
    };
  }
}
