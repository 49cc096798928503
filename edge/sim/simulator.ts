/**
 * The edge simulator: N simulated edgecore nodes against one hub, on loopback only, bounded in
 * node count and duration. Used by `edgecloud edge-sim` and by the bench scenarios.
 *
 * @example
 * ```ts
 * const summary = await runEdgeSim({
 *   nodes: 100, server: "127.0.0.1:10000", credentials: async (n) => creds.get(n)!,
 *   durationS: 30, progress: (line) => console.error(line),
 * });
 * console.log(JSON.stringify(summary));
 * ```
 */
import { isIP } from "node:net";
import type { Message } from "../../modules/mod.ts";
import { type LinkOptions, type NodeCredentials, quicLink, type SimLink, wsLink } from "./link.ts";
import { type NodeBehaviour, SimNode } from "./node.ts";
import { ProgressLine, SimStats, type SimSummary } from "./stats.ts";
import { SimKubelet, type UpgradeServer } from "./kubelet.ts";
import { SimStream } from "./stream.ts";

/** Most nodes one simulator process may run. */
export const MAX_SIM_NODES = 50_000;
/** Longest run, seconds. */
export const MAX_SIM_DURATION_S = 3_600;

/** A simulator option out of bounds or a non-loopback target. */
export class SimOptionsError extends Error {
  override name = "SimOptionsError";
}

/** Options of {@link EdgeSimulator}. */
export interface SimOptions extends Partial<NodeBehaviour> {
  /** Number of nodes (1..{@link MAX_SIM_NODES}). */
  nodes: number;
  /** Hub `host:port` (WebSocket port for ws, QUIC port for quic); must be loopback. */
  server: string;
  /** Credentials of a node (bootstrap/cache with `obtainCredentials`, or made by a bench). */
  credentials: (nodeName: string) => Promise<NodeCredentials> | NodeCredentials;
  /** Node names are `<prefix><i>` (default `sim-`). */
  namePrefix?: string;
  /** Transport (default ws). */
  transport?: "ws" | "quic";
  /** Connections started per second (default 0: as fast as `connectConcurrency` allows). */
  rampPerSec?: number;
  /** Connects in flight at once (default 256). */
  connectConcurrency?: number;
  /** Keepalive period, s (default 15). */
  heartbeat?: number;
  /** Reconnect delay after a drop, ms, before jitter (default 2 × heartbeat like edgecore). */
  reconnectDelayMs?: number;
  /** How long an upstream request may wait for its response before it counts unanswered. */
  responseTimeoutMs?: number;
  /** Receives the live progress line (default: none). */
  progress?: (line: string) => void;
  /** Progress period, ms (default 1000). */
  progressIntervalMs?: number;
  /** Sees every downstream message (benches timestamp arrivals). */
  observe?: (node: string, msg: Message) => void;
  /**
   * CloudStream tunnel server `host:port` (`modules.cloudStream.tunnelPort`): each node keeps a
   * tunnel and serves logs, exec, attach, port-forward and stats from simulated containers.
   */
  streamServer?: string;
  /** Serves exec/attach/port-forward for the simulated kubelets (default: the simulated runtime). */
  upgradeServer?: UpgradeServer;
  /** Period of simulated log lines, ms (default 1000). */
  logIntervalMs?: number;
}

const LOOPBACK_NAMES = new Set(["localhost", "ip6-localhost"]);

/** Throws {@link SimOptionsError} unless `server` is a loopback `host:port`. */
export function assertLoopback(server: string): void {
  const i = server.lastIndexOf(":");
  const host = server.slice(0, i).replace(/^\[|\]$/g, "");
  const port = Number(server.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SimOptionsError(`server ${JSON.stringify(server)} is not host:port`);
  }
  const loop = LOOPBACK_NAMES.has(host) ||
    (isIP(host) === 4 && host.startsWith("127.")) || (isIP(host) === 6 && host === "::1");
  if (!loop) {
    throw new SimOptionsError(
      `server ${host} is not a loopback address: the simulator only targets this machine`,
    );
  }
}

function checkOptions(o: SimOptions): void {
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > MAX_SIM_NODES) {
    throw new SimOptionsError(`nodes must be an integer in 1..${MAX_SIM_NODES}, got ${o.nodes}`);
  }
  assertLoopback(o.server);
  if (o.streamServer) assertLoopback(o.streamServer);
  if (o.jitter !== undefined && !(o.jitter >= 0 && o.jitter < 1)) {
    throw new SimOptionsError(`jitter must be in [0, 1), got ${o.jitter}`);
  }
  if (o.rampPerSec !== undefined && !(o.rampPerSec >= 0)) {
    throw new SimOptionsError(`ramp must be >= 0, got ${o.rampPerSec}`);
  }
}

/** A running simulation; see module docs. */
export class EdgeSimulator {
  readonly stats = new SimStats();
  readonly nodes: SimNode[] = [];
  readonly #opts: SimOptions;
  readonly #behaviour: NodeBehaviour;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #progressTimer: ReturnType<typeof setInterval> | undefined;
  #stopping = false;
  #started: Promise<void> | undefined;

  /** @throws SimOptionsError */
  constructor(opts: SimOptions) {
    checkOptions(opts);
    this.#opts = opts;
    this.#behaviour = {
      nodeStatusInterval: opts.nodeStatusInterval ?? 10,
      leaseInterval: opts.leaseInterval ?? 10,
      devices: opts.devices ?? 0,
      twinHz: opts.twinHz ?? 1,
      deviceNamespace: opts.deviceNamespace ?? "default",
      jitter: opts.jitter ?? 0.1,
      podStatus: opts.podStatus ?? true,
      register: opts.register ?? true,
    };
    const prefix = opts.namePrefix ?? "sim-";
    for (let i = 0; i < opts.nodes; i++) {
      this.nodes.push(new SimNode(`${prefix}${i}`, this.#behaviour, this.stats, opts.observe));
    }
  }

  /**
   * Starts connecting (ramped) and returns once every node has made its first attempt. Failed
   * first attempts are retried by the node's link like a drop.
   */
  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    const o = this.#opts;
    const stats = this.stats;
    const timeout = o.responseTimeoutMs ?? 60_000;
    // One ticker for all nodes: link open/close detection, QUIC message hand-over, expiry.
    this.#ticker = setInterval(() => {
      for (const n of this.nodes) n.link?.poll();
      stats.expire(timeout);
      if (stats.allConnectedMs < 0 && stats.everConnected === this.nodes.length) {
        stats.allConnectedMs = performance.now() - stats.startedAt;
      }
    }, 50);
    if (o.progress) {
      const p = new ProgressLine(stats, this.nodes.length);
      this.#progressTimer = setInterval(() => o.progress!(p.line()), o.progressIntervalMs ?? 1000);
    }
    const ramp = o.rampPerSec ?? 0;
    const concurrency = Math.max(1, o.connectConcurrency ?? 256);
    const heartbeat = o.heartbeat ?? 15;
    const baseDelay = o.reconnectDelayMs ?? 2 * heartbeat * 1000;
    const jitter = this.#behaviour.jitter;
    const t0 = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < this.nodes.length && !this.#stopping) {
        const i = next++;
        if (ramp > 0) {
          const due = t0 + (i / ramp) * 1000;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          if (this.#stopping) return;
        }
        const node = this.nodes[i];
        let creds: NodeCredentials;
        try {
          creds = await o.credentials(node.name);
        } catch {
          stats.connectFailures++;
          continue;
        }
        const linkOpts: LinkOptions = {
          server: o.server,
          nodeName: node.name,
          credentials: creds,
          heartbeat,
          reconnectDelayMs: Math.round(baseDelay * (1 + jitter * (2 * Math.random() - 1))),
          onMessage: (m) => node.onMessage(m),
          onOpen: () => node.onOpen(),
          onClose: () => node.onClose(),
        };
        const link: SimLink = (o.transport ?? "ws") === "quic"
          ? quicLink(linkOpts)
          : wsLink(linkOpts);
        node.link = link;
        if (o.streamServer) {
          node.stream = new SimStream({
            server: o.streamServer,
            nodeName: node.name,
            internalIP: "127.0.0.1",
            credentials: creds,
            kubelet: new SimKubelet({
              nodeName: node.name,
              pods: node.pods,
              upgrade: o.upgradeServer,
              logIntervalMs: o.logIntervalMs,
            }),
          });
        }
        try {
          await link.connect();
          await node.stream?.start();
        } catch {
          stats.connectFailures++;
          // Retry like a dropped link: close and re-create on the next drop cycle.
          this.#retryLater(node, link, linkOpts.reconnectDelayMs);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  #retryLater(node: SimNode, link: SimLink, delayMs: number): void {
    const t = setTimeout(() => {
      if (this.#stopping || node.link !== link) return;
      link.connect().catch(() => {
        this.stats.connectFailures++;
        this.#retryLater(node, link, delayMs);
      });
    }, delayMs);
    this.#retries.add(t);
  }

  readonly #retries = new Set<ReturnType<typeof setTimeout>>();

  /** Drops every connection at once (no close handshake); links reconnect after their delay. */
  dropAll(): void {
    for (const n of this.nodes) n.link?.terminate();
  }

  /** Resolves when `pred(stats)` holds (polled every 50 ms) or rejects after `timeoutMs`. */
  async waitUntil(pred: (s: SimStats) => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!pred(this.stats)) {
      if (performance.now() > deadline) throw new Error(`edge-sim: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops every node and closes every link. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#started?.catch(() => {});
    clearInterval(this.#ticker);
    clearInterval(this.#progressTimer);
    for (const t of this.#retries) clearTimeout(t);
    for (const n of this.nodes) n.stop();
    await Promise.allSettled(this.nodes.map((n) => n.stream?.stop()));
    const links = this.nodes.map((n) => n.link).filter((l): l is SimLink => l !== undefined);
    for (let i = 0; i < links.length; i += 500) {
      await Promise.allSettled(links.slice(i, i + 500).map((l) => l.close()));
    }
  }

  /** The JSON summary (call after {@link stop} for final figures). */
  summary(): SimSummary {
    const s = this.stats;
    const secs = Math.max(1e-3, s.elapsedS());
    let objects = 0;
    for (const n of this.nodes) objects += n.objects.size;
    return {
      nodes: this.nodes.length,
      transport: this.#opts.transport ?? "ws",
      server: this.#opts.server,
      durationS: Math.round(secs * 10) / 10,
      connected: s.connected,
      peakConnected: s.peakConnected,
      allConnectedMs: Math.round(s.allConnectedMs),
      connectFailures: s.connectFailures,
      reconnects: s.reconnects,
      sent: { ...s.sent },
      sendErrors: s.sendErrors,
      received: s.received,
      ackPathReceived: s.ackPathReceived,
      acksSent: this.nodes.reduce((a, n) => a + (n.link?.acksSent ?? 0), 0),
      responses: s.responses,
      pendingAcks: s.pending.size,
      unanswered: s.unanswered,
      duplicatesAfterAck: s.duplicatesAfterAck,
      resentAfterDrop: s.resentAfterDrop,
      objects,
      rttMs: s.rtt.summary(),
      downstreamLatencyMs: s.downstreamLatency.summary(),
      upMsgsPerSec: Math.round(s.sentTotal / secs),
      downMsgsPerSec: Math.round(s.received / secs),
    };
  }
}

/** Options of {@link runEdgeSim}. */
export interface RunSimOptions extends SimOptions {
  /** Run length after start, seconds (1..{@link MAX_SIM_DURATION_S}). */
  durationS: number;
  /** Ends the run early. */
  signal?: AbortSignal;
}

/** Runs a simulation for `durationS` (or until `signal`), stops it and returns the summary. */
export async function runEdgeSim(opts: RunSimOptions): Promise<SimSummary> {
  if (!(opts.durationS > 0 && opts.durationS <= MAX_SIM_DURATION_S)) {
    throw new SimOptionsError(
      `duration must be in (0, ${MAX_SIM_DURATION_S}] s, got ${opts.durationS}`,
    );
  }
  const sim = new EdgeSimulator(opts);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const done = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, opts.durationS * 1000);
    opts.signal?.addEventListener("abort", () => resolve(), { once: true });
  });
  try {
    await Promise.race([sim.start(), done]);
    await done;
  } finally {
    clearTimeout(timer);
    await sim.stop();
  }
  return sim.summary();
}
