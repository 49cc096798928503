/**
 * One simulated edgecore: registers its node, reports node status and lease renewals on their
 * periods, answers every pod it receives with a pod status, optionally reports device twins, and
 * tracks what the hub sent (latest RV per object, duplicates after ACK, latency).
 */
import { Operation } from "../../modules/mod.ts";
import type { Message } from "../../modules/mod.ts";
import { edgeAcks } from "../client.ts";
import { MetaServerClient } from "../metaserver_client.ts";
import type { SimLink } from "./link.ts";
import { leaseUpdate, nodeInsert, nodeStatus, podStatus, twinEdgeUpdated } from "./messages.ts";
import type { SimStats } from "./stats.ts";
import { SimPods } from "./pods.ts";
import type { SimStream } from "./stream.ts";

/** Periodic behaviour of a node (seconds; 0 disables). */
export interface NodeBehaviour {
  nodeStatusInterval: number;
  leaseInterval: number;
  /** Devices per node; each reports its twin `twinHz` times a second. */
  devices: number;
  twinHz: number;
  /** Namespace of the simulated devices. */
  deviceNamespace: string;
  /** ± fraction applied to every period and to the first tick's phase. */
  jitter: number;
  /** Send a pod status for each pod insert/update received. */
  podStatus: boolean;
  /** Send the node insert on the first connect (default true; off for pure session counts). */
  register: boolean;
}

/**
 * Remembers the last N ACKed message ids with the connection they were ACKed on, so a true
 * duplicate (the same message again on the connection that carried its ACK, i.e. after the hub
 * had it) can be told from a legitimate resend after a drop (the ACK may have been lost).
 */
class RecentIds {
  readonly #ids = new Map<string, number>();
  constructor(readonly cap: number) {}
  get(id: string): number | undefined {
    return this.#ids.get(id);
  }
  add(id: string, epoch: number): void {
    this.#ids.set(id, epoch);
    if (this.#ids.size > this.cap) {
      const first = this.#ids.keys().next().value;
      if (first !== undefined) this.#ids.delete(first);
    }
  }
}

/** A simulated node; see module docs. */
export class SimNode {
  link: SimLink | undefined;
  /** The node's CloudStream tunnel, when the simulation has a stream server. */
  stream: SimStream | undefined;
  /** Device name → last twin value sent (benches check the API kept it). */
  readonly lastTwin = new Map<string, string>();
  /** Resource → latest RV received (downstream objects). */
  readonly objects = new Map<string, string>();
  /** Whether the first lease message (a create) went out. */
  #leaseCreated = false;
  /** The pods the hub gave this node (what its simulated kubelet serves). */
  readonly pods = new SimPods();
  readonly #listeners = new Set<(msg: Message) => void>();
  /** Pods whose Running status was reported, with the uid it was reported for. */
  readonly #reported = new Map<string, string>();
  #meta: MetaServerClient | undefined;
  readonly #acked = new RecentIds(2048);
  /** Latest timer handle of each periodic chain. */
  readonly #timers: Array<ReturnType<typeof setTimeout>> = [];
  #uid = "";
  #stopped = false;
  #registered = false;
  #twinSeq = 0;
  /** Connection number (1 = first connection). */
  #epoch = 0;

  constructor(
    readonly name: string,
    readonly behaviour: NodeBehaviour,
    readonly stats: SimStats,
    readonly observe?: (node: string, msg: Message) => void,
  ) {}

  /** Registers a listener for downstream messages; returns its remover. */
  listen(listener: (msg: Message) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** This node's MetaServer (list, get and watch through the cloud's DynamicController). */
  metaServer(): MetaServerClient {
    this.#meta ??= new MetaServerClient({
      send: (m) => this.link?.connected ? this.link.send(m) : Promise.reject(new Error("offline")),
      onMessage: (l) => this.listen(l),
    }, this.name);
    return this.#meta;
  }

  /** Handles one downstream message (called by the link). */
  onMessage(msg: Message): void {
    for (const l of this.#listeners) l(msg);
    const s = this.stats;
    s.received++;
    this.observe?.(this.name, msg);
    s.downstreamLatency.add(Math.max(0, Date.now() - msg.header.timestamp));
    const op = msg.route.operation ?? "";
    if (op === Operation.Response && msg.header.parentId) {
      const sentAt = s.pending.get(msg.header.parentId);
      if (sentAt !== undefined) {
        s.pending.delete(msg.header.parentId);
        s.responses++;
        s.rtt.add(performance.now() - sentAt);
      }
      this.#learnUid(msg);
    }
    if (!edgeAcks(msg)) return;
    s.ackPathReceived++;
    const ackedOn = this.#acked.get(msg.header.id);
    if (ackedOn !== undefined) {
      if (ackedOn === this.#epoch) s.duplicatesAfterAck++;
      else s.resentAfterDrop++;
      return;
    }
    this.#acked.add(msg.header.id, this.#epoch);
    const resource = msg.route.resource ?? "";
    if (msg.header.resourceVersion) this.objects.set(resource, msg.header.resourceVersion);
    if (op === Operation.Delete) this.objects.delete(resource);
    const parts = resource.split("/");
    if (parts.length === 3 && parts[1] === "pod") {
      if (op === Operation.Delete) this.pods.delete(parts[0], parts[2]);
      else if (op === Operation.Insert || op === Operation.Update) {
        this.pods.upsert(parts[0], parts[2], msg.content);
      }
    }
    if (
      this.behaviour.podStatus && parts.length === 3 && parts[1] === "pod" &&
      (op === Operation.Insert || op === Operation.Update)
    ) {
      // Like edged, report a pod's status once it runs, not again for every update the cloud
      // sends (cloudcore forwards status-only changes too: answering each with a fresh status
      // would loop).
      const content = msg.content as { metadata?: { uid?: string } } | null;
      const uid = content?.metadata?.uid ?? "";
      const key = `${parts[0]}/${parts[2]}`;
      if (this.#reported.get(key) !== uid) {
        this.#reported.set(key, uid);
        this.#send("podstatus", podStatus(parts[0], parts[2], uid));
      }
    }
    if (parts.length === 3 && parts[1] === "pod" && op === Operation.Delete) {
      this.#reported.delete(`${parts[0]}/${parts[2]}`);
    }
  }

  /** Called by the link after each (re)connect: register once, then start the periodic work. */
  onOpen(): void {
    this.#epoch++;
    this.stats.connected++;
    this.stats.peakConnected = Math.max(this.stats.peakConnected, this.stats.connected);
    if (!this.#registered) {
      this.#registered = true;
      this.stats.everConnected++;
      if (this.behaviour.register) this.#send("node", nodeInsert(this.name));
      this.#startTimers();
    } else {
      this.stats.reconnects++;
    }
  }

  /** Called by the link when a connection ends. */
  onClose(): void {
    this.stats.connected--;
  }

  /** Stops timers (the link is closed by the simulator). */
  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
  }

  #learnUid(msg: Message): void {
    if (this.#uid) return;
    const c = msg.content as { Object?: { kind?: string; metadata?: { uid?: string } } } | null;
    if (c?.Object?.kind === "Node" && c.Object.metadata?.uid) this.#uid = c.Object.metadata.uid;
  }

  #send(kind: string, msg: Message, expectResponse = true): boolean {
    const link = this.link;
    if (!link?.connected) return false;
    if (expectResponse) this.stats.pending.set(msg.header.id, performance.now());
    this.stats.countSent(kind);
    link.send(msg).catch(() => {
      this.stats.sendErrors++;
      this.stats.pending.delete(msg.header.id);
    });
    return true;
  }

  #every(periodS: number, fn: () => void): void {
    if (!(periodS > 0)) return;
    const j = this.behaviour.jitter;
    const slot = this.#timers.length;
    const next = (first: boolean) => {
      const base = periodS * 1000;
      const ms = first ? Math.random() * base : base * (1 + j * (2 * Math.random() - 1));
      const t = setTimeout(() => {
        if (this.#stopped) return;
        fn();
        next(false);
      }, ms);
      this.#timers[slot] = t;
    };
    next(true);
  }

  #startTimers(): void {
    const b = this.behaviour;
    this.#every(
      b.nodeStatusInterval,
      () => this.#send("nodestatus", nodeStatus(this.name, this.#uid)),
    );
    this.#every(b.leaseInterval, () => {
      // The first renewal creates the Lease (once per node: it outlives sessions).
      if (this.#send("lease", leaseUpdate(this.name, undefined, !this.#leaseCreated))) {
        this.#leaseCreated = true;
      }
    });
    for (let d = 0; d < b.devices; d++) {
      const device = `${this.name}-dev-${d}`;
      this.#every(b.twinHz > 0 ? 1 / b.twinHz : 0, () => {
        const value = String(++this.#twinSeq);
        const msg = twinEdgeUpdated(b.deviceNamespace, device, { temperature: value });
        if (this.#send("twin", msg)) this.lastTwin.set(device, value);
      });
    }
  }
}
