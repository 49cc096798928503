/**
 * Failure-test helpers: an edge node (the real {@link EdgeClient}) that records, per object, the
 * latest resourceVersion it handled, ACKs like metamanager, and counts true duplicates (a message
 * ACKed on a connection arriving again on that same connection, i.e. after the hub had the ACK)
 * and stale deliveries (an older RV after a newer one was handled).
 */
import { edgeAcks, EdgeClient } from "../../edge/client.ts";
import type { NodeCredentials } from "../../edge/sim/mod.ts";
import type { Message } from "../../modules/message.ts";
import { waitUntil } from "../wait.ts";

/** An edge node with delivery bookkeeping. */
export class RecordingEdge {
  readonly client: EdgeClient;
  /** `<ns>/pod/<name>` → latest RV handled (deleted objects are removed). */
  readonly objects = new Map<string, bigint>();
  /** Resources whose delete was handled. */
  readonly deleted = new Set<string>();
  /** msg id → connection number on which we ACKed it. */
  readonly #ackedOn = new Map<string, number>();
  /** Messages handled per resource since {@link markEpoch}. */
  readonly sinceEpoch = new Map<string, number>();
  duplicates = 0;
  redeliveredAfterDrop = 0;
  stale = 0;
  /** While false the node does not ACK (an edge that crashes before persisting). */
  ackEnabled = true;

  constructor(
    server: string,
    readonly name: string,
    creds: NodeCredentials,
    reconnectDelayMs = 30,
  ) {
    this.client = new EdgeClient({
      server,
      nodeName: name,
      ...creds,
      heartbeat: 0,
      reconnect: true,
      reconnectDelayMs,
      ack: (m) => this.ackEnabled && edgeAcks(m),
    });
    this.client.onMessage((m) => this.#handle(m));
  }

  #handle(m: Message): void {
    this.client.clearReceived();
    if (!edgeAcks(m)) return;
    const resource = m.route.resource ?? "";
    if (!/^[^/]+\/pod\/[^/]+$/.test(resource)) return;
    const conn = this.client.connects;
    const prev = this.#ackedOn.get(m.header.id);
    if (prev !== undefined) {
      if (prev === conn) this.duplicates++;
      else this.redeliveredAfterDrop++;
    }
    if (this.ackEnabled) this.#ackedOn.set(m.header.id, conn);
    this.sinceEpoch.set(resource, (this.sinceEpoch.get(resource) ?? 0) + 1);
    const rv = BigInt(m.header.resourceVersion || "0");
    const have = this.objects.get(resource);
    if (m.route.operation === "delete") {
      this.objects.delete(resource);
      this.deleted.add(resource);
      return;
    }
    if (have !== undefined && rv < have) {
      this.stale++;
      return;
    }
    if (this.deleted.has(resource) && m.route.operation !== "insert") {
      // An update for an object already deleted here would resurrect it.
      this.stale++;
      return;
    }
    this.deleted.delete(resource);
    this.objects.set(resource, rv);
  }

  /** Starts counting {@link sinceEpoch} afresh. */
  markEpoch(): void {
    this.sinceEpoch.clear();
  }

  connect(): Promise<void> {
    return this.client.connect();
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** A pod bound to `node`. */
export function podBody(name: string, node: string, labels: Record<string, string> = {}): unknown {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels },
    spec: { nodeName: node, containers: [{ name: "c", image: "nginx" }] },
  };
}

/** An edge Node object (label with the empty value EdgeController selects on). */
export function edgeNodeBody(name: string): unknown {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "node-role.kubernetes.io/edge": "" } },
    status: {},
  };
}

/** Polls `fn` every 20 ms until truthy; throws with `what` and `detail()` after `timeoutMs`. */
export async function until(
  fn: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
  detail: () => string = () => "",
): Promise<void> {
  await waitUntil(fn, what, { timeoutMs, detail });
}
