/**
 * DeviceController's wire contents (docs/protocol.md §8.2–8.5): membership updates, twin documents
 * and the messages that carry them. Keys are built in Go struct order so that the JSON matches
 * cloudcore byte for byte.
 */
import {
  buildMessage,
  buildResource,
  buildResourceForDevice,
  Group,
  type Message,
  type MessageEnv,
  MessageSuccessfulContent,
  ModuleName,
  Operation,
  ResourceType,
} from "../../modules/mod.ts";
import { failureStatus, goStatusError } from "../../kube/mod.ts";
import {
  DeviceGroup,
  type DeviceModelObject,
  type DeviceObject,
  type StatusTwin,
} from "./types.ts";

/** `types.MsgTwin` as sent by the classic controller. */
export interface MsgTwin {
  expected: { value: string; metadata: { timestamp: number } };
  optional: boolean;
  metadata: { type: string };
  expected_version: { cloud: number; edge: number };
}

/** `types.Device` in a membership update. */
export interface MembershipDevice {
  id: string;
  name: string;
  description?: string;
  twin?: Record<string, MsgTwin>;
}

/** `types.MembershipUpdate`: lists are `null` when empty (no omitempty in Go). */
export interface MembershipUpdate {
  event_id: string;
  timestamp: number;
  added_devices: MembershipDevice[] | null;
  removed_devices: MembershipDevice[] | null;
}

/** `strconv.ParseInt(resourceVersion)`; 0 when it is not an integer (Go logs and uses 0). */
export function cloudVersion(rv: string | undefined): number {
  const n = Number(rv);
  return Number.isSafeInteger(n) ? n : 0;
}

/** One classic twin: desired value, `type` metadata (default `string`), versions (§8.5). */
export function msgTwin(
  t: StatusTwin,
  rv: string | undefined,
  now: number,
  type?: string,
): MsgTwin {
  return {
    expected: { value: t.desired?.value ?? "", metadata: { timestamp: now } },
    optional: false,
    metadata: { type: type ?? t.desired?.metadata?.type ?? "string" },
    expected_version: { cloud: cloudVersion(rv), edge: 0 },
  };
}

/** Twins of every `status.twins` entry of a classic Device. */
export function twinsOf(dev: DeviceObject, now: number): Record<string, MsgTwin> {
  const out: Record<string, MsgTwin> = {};
  for (const t of dev.status?.twins ?? []) {
    if (t.propertyName) out[t.propertyName] = msgTwin(t, dev.metadata?.resourceVersion, now);
  }
  return out;
}

/**
 * The Device of a membership update: classic ids are the name and carry twins; current ids are
 * `<ns>/<name>` without twins (§8.3, §8.5).
 */
export function membershipDevice(
  dev: DeviceObject,
  classic: boolean,
  now: number,
): MembershipDevice {
  const name = dev.metadata?.name ?? "";
  const out: MembershipDevice = {
    id: classic ? name : `${dev.metadata?.namespace ?? ""}/${name}`,
    name,
  };
  const description = dev.metadata?.labels?.description;
  if (description) out.description = description;
  if (classic) out.twin = twinsOf(dev, now);
  return out;
}

/** `node/<node>/membership` update, source devicecontroller, group twin (noAck). */
export function membershipMessage(
  node: string,
  added: MembershipDevice[],
  removed: MembershipDevice[],
  env: MessageEnv,
): Message {
  const content: MembershipUpdate = {
    event_id: env.newId(),
    timestamp: env.now(),
    added_devices: added.length ? added : null,
    removed_devices: removed.length ? removed : null,
  };
  return buildMessage(
    {
      source: ModuleName.DeviceController,
      group: Group.Twin,
      operation: Operation.Update,
      resource: buildResourceForDevice(node, ResourceType.Membership),
    },
    content,
    { env },
  );
}

/**
 * `node/<node>/device/<name>/twin/cloud_updated` with every current twin, plus the twins removed
 * since `old` marked `metadata.type: "deleted"` (§8.5).
 */
export function cloudUpdatedMessage(
  node: string,
  dev: DeviceObject,
  old: DeviceObject,
  env: MessageEnv,
): Message {
  const now = env.now();
  const rv = dev.metadata?.resourceVersion;
  const twin = twinsOf(dev, now);
  for (const t of old.status?.twins ?? []) {
    if (t.propertyName && !(t.propertyName in twin)) {
      twin[t.propertyName] = msgTwin(t, rv, now, "deleted");
    }
  }
  return buildMessage(
    {
      source: ModuleName.DeviceController,
      group: Group.Twin,
      operation: Operation.Update,
      resource: buildResourceForDevice(
        node,
        `device/${dev.metadata?.name ?? ""}/${ResourceType.TwinCloudUpdated}`,
      ),
    },
    { event_id: env.newId(), timestamp: now, twin },
    { env },
  );
}

/** A `device` or `devicemodel` resource message (ack path; RV and GVK set, §8.3). */
export function resourceMessage(
  node: string,
  obj: DeviceObject | DeviceModelObject,
  kind: "Device" | "DeviceModel",
  operation: string,
  env: MessageEnv,
): Message {
  const content = { ...obj, apiVersion: `${DeviceGroup}/v1beta1`, kind };
  const type = kind === "Device" ? ResourceType.Device : ResourceType.DeviceModel;
  return buildMessage(
    {
      source: ModuleName.DeviceController,
      group: Group.Resource,
      operation,
      resource: buildResource(
        node,
        obj.metadata?.namespace ?? "",
        type,
        obj.metadata?.name ?? "",
      ),
    },
    content,
    { env, resourceVersion: obj.metadata?.resourceVersion },
  );
}

/** The `"OK"` response to an upstream twin message (§8.4): resource `node/<node>/twin`. */
export function okResponse(req: Message, node: string, env: MessageEnv): Message {
  return buildMessage(
    {
      source: ModuleName.DeviceController,
      group: Group.Twin,
      operation: Operation.Response,
      resource: buildResourceForDevice(node, ResourceType.Twin),
    },
    MessageSuccessfulContent,
    { env, parentId: req.header.id },
  );
}

/**
 * The answer to a rejected upstream message: a `response` (parent id = the request) whose content
 * is Go's `*StatusError` JSON (`{"ErrStatus":{...metav1.Status}}`), the error form cloudcore's
 * controllers put in responses. CloudHub sends it on the no-ack path (§4.2), so it reaches the
 * edge even though it carries no resourceVersion; a bare `error` operation would be dropped by
 * the ack path.
 */
export function errorResponse(
  req: Message,
  node: string,
  reason: string,
  env: MessageEnv,
): Message {
  return buildMessage(
    {
      source: ModuleName.DeviceController,
      group: Group.Twin,
      operation: Operation.Response,
      resource: buildResourceForDevice(node, ResourceType.Twin),
    },
    goStatusError(failureStatus(400, reason)),
    { env, parentId: req.header.id },
  );
}
