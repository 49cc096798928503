/**
 * The upstream messages a simulated edgecore sends (docs/protocol.md §7.1, §8.4), with the sources,
 * groups and content shapes edged/metamanager and the twin module use.
 *
 * @example
 * ```ts
 * const msg = nodeInsert("edge-1");
 * // route: edged/meta insert default/node/edge-1, content a v1.Node labelled as an edge node
 * ```
 */
import {
  buildMessage,
  Group,
  type Message,
  type MessageEnv,
  Operation,
} from "../../modules/mod.ts";
import { v4 as uuidv4 } from "uuid";

/** The namespace edgecore uses for node-scoped requests. */
export const NODE_NAMESPACE = "default";
/** Namespace of node leases. */
export const LEASE_NAMESPACE = "kube-node-lease";

function edged(
  operation: string,
  resource: string,
  content: unknown,
  env?: MessageEnv,
): Message {
  return buildMessage({ source: "edged", group: Group.Meta, operation, resource }, content, {
    env,
  });
}

function conditions(now: string): unknown[] {
  return [
    {
      type: "Ready",
      status: "True",
      reason: "EdgeReady",
      message: "edge is posting ready status",
      lastHeartbeatTime: now,
      lastTransitionTime: now,
    },
  ];
}

function nodeStatusBody(now: string): Record<string, unknown> {
  return {
    capacity: { cpu: "2", memory: "4Gi", pods: "110" },
    allocatable: { cpu: "2", memory: "3900Mi", pods: "110" },
    conditions: conditions(now),
    addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
    daemonEndpoints: { kubeletEndpoint: { Port: 10350 } },
    nodeInfo: {
      architecture: "amd64",
      operatingSystem: "linux",
      kubeletVersion: "v1.29.5-kubeedge-v1.18.0",
      containerRuntimeVersion: "containerd://1.7.0",
      kernelVersion: "6.1.0",
      osImage: "edgecloud edge-sim",
      kubeProxyVersion: "",
      machineID: "",
      systemUUID: "",
      bootID: "",
    },
  };
}

/** `<ns>/node/<name>` insert with the v1.Node edged registers (edge role label, empty value). */
export function nodeInsert(name: string, env?: MessageEnv): Message {
  const now = new Date(env?.now() ?? Date.now()).toISOString().replace(/\.\d+Z$/, "Z");
  return edged(Operation.Insert, `${NODE_NAMESPACE}/node/${name}`, {
    kind: "Node",
    apiVersion: "v1",
    metadata: {
      name,
      labels: {
        "node-role.kubernetes.io/edge": "",
        "node-role.kubernetes.io/agent": "",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
      },
    },
    spec: {},
    status: nodeStatusBody(now),
  }, env);
}

/** `<ns>/nodestatus/<name>` update with a `NodeStatusRequest` (Go field names, no JSON tags). */
export function nodeStatus(name: string, uid: string, env?: MessageEnv): Message {
  const now = new Date(env?.now() ?? Date.now()).toISOString().replace(/\.\d+Z$/, "Z");
  return edged(Operation.Update, `${NODE_NAMESPACE}/nodestatus/${name}`, {
    UID: uid,
    Status: nodeStatusBody(now),
    ExtendResources: {},
  }, env);
}

/**
 * `kube-node-lease/lease/<name>` update: the node lease renewal; `insert` (create) for the first
 * one, as edged's lease controller creates the Lease it then renews (an update of a Lease that
 * does not exist is NotFound on cloudcore and on edgecloud alike).
 */
export function leaseUpdate(name: string, env?: MessageEnv, create = false): Message {
  const now = new Date(env?.now() ?? Date.now()).toISOString().replace("Z", "000Z");
  return edged(create ? Operation.Insert : Operation.Update, `${LEASE_NAMESPACE}/lease/${name}`, {
    kind: "Lease",
    apiVersion: "coordination.k8s.io/v1",
    metadata: { name, namespace: LEASE_NAMESPACE },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: now },
  }, env);
}

/** `<ns>/podstatus/<pod>` update with a `PodStatusRequest` reporting the pod Running. */
export function podStatus(
  namespace: string,
  name: string,
  uid: string,
  env?: MessageEnv,
): Message {
  const now = new Date(env?.now() ?? Date.now()).toISOString().replace(/\.\d+Z$/, "Z");
  return edged(Operation.Update, `${namespace}/podstatus/${name}`, {
    UID: uid,
    Name: name,
    Status: {
      phase: "Running",
      conditions: [
        { type: "Initialized", status: "True", lastTransitionTime: now },
        { type: "Ready", status: "True", lastTransitionTime: now },
        { type: "ContainersReady", status: "True", lastTransitionTime: now },
        { type: "PodScheduled", status: "True", lastTransitionTime: now },
      ],
      hostIP: "127.0.0.1",
      podIP: "10.0.0.1",
      startTime: now,
      containerStatuses: [],
    },
  }, env);
}

/**
 * `device/<ns>/<name>/twin/edge_updated` from the twin module (source `twin`, group `resource`):
 * a `DeviceTwinUpdate` whose `actual` values are reported.
 */
export function twinEdgeUpdated(
  namespace: string,
  device: string,
  twins: Record<string, string>,
  env?: MessageEnv,
): Message {
  const ts = env?.now() ?? Date.now();
  const twin: Record<string, unknown> = {};
  for (const [prop, value] of Object.entries(twins)) {
    twin[prop] = {
      actual: { value, metadata: { timestamp: ts } },
      metadata: { type: "string" },
    };
  }
  return buildMessage(
    {
      source: "twin",
      group: Group.Resource,
      operation: Operation.Update,
      resource: `device/${namespace}/${device}/twin/edge_updated`,
    },
    { event_id: uuidv4(), timestamp: ts, twin },
    { env },
  );
}
