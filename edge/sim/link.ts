/**
 * One simulated node's connection to the hub, over WebSocket ({@link EdgeClient}) or QUIC
 * ({@link QuicEdgeClient}), behind one small interface so the simulator does not care which.
 * Both ACK ack-path messages themselves (metamanager's rule) and send keepalives.
 */
import { EdgeClient } from "../client.ts";
import { QuicEdgeClient } from "../quic_client.ts";
import type { Message } from "../../modules/mod.ts";

/** PEM credentials of one node. */
export interface NodeCredentials {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** A connection that can be dropped and comes back by itself. */
export interface SimLink {
  /** Connects once; rejects when refused. */
  connect(): Promise<void>;
  /** Sends one message; rejects when not connected. */
  send(msg: Message): Promise<void>;
  /** True while connected. */
  readonly connected: boolean;
  /** Successful connects so far (1 + reconnects). */
  readonly connects: number;
  /** ACKs the link sent for ack-path messages. */
  readonly acksSent: number;
  /** Drops the connection without a close handshake; it reconnects after its delay. */
  terminate(): void;
  /** Closes for good. */
  close(): Promise<void>;
  /** Called often by the simulator's ticker: reports opens/closes, hands over messages. */
  poll(): void;
}

/** What a link needs. */
export interface LinkOptions {
  /** `host:port` of the hub (WebSocket or QUIC port). */
  server: string;
  nodeName: string;
  credentials: NodeCredentials;
  /** Keepalive period in seconds. */
  heartbeat: number;
  /** Delay before reconnecting after a drop, ms (jitter applied by the caller). */
  reconnectDelayMs: number;
  /** Every received message. */
  onMessage: (msg: Message) => void;
  /** Called after each successful (re)connect. */
  onOpen?: () => void;
  /** Called when a connection ends. */
  onClose?: () => void;
}

/** A WebSocket link: {@link EdgeClient} with reconnects. */
export function wsLink(opts: LinkOptions): SimLink {
  const client = new EdgeClient({
    server: opts.server,
    nodeName: opts.nodeName,
    ...opts.credentials,
    heartbeat: opts.heartbeat,
    reconnect: true,
    reconnectDelayMs: opts.reconnectDelayMs,
  });
  let seenConnects = 0;
  let wasConnected = false;
  client.onMessage((msg) => {
    // EdgeClient keeps every message for tests; a long simulation must not.
    client.clearReceived();
    opts.onMessage(msg);
  });
  // EdgeClient has no open/close events; the simulator's one ticker calls poll() to watch its
  // counters (a timer per node would cost more than the check).
  const link: SimLink = {
    connect: async () => {
      await client.connect();
      link.poll();
    },
    send: (msg) => client.send(msg),
    get connected() {
      return client.connected;
    },
    get connects() {
      return client.connects;
    },
    get acksSent() {
      return client.acksSent;
    },
    terminate: () => client.terminate(),
    close: () => client.close(),
    poll() {
      const now = client.connected;
      if (client.connects !== seenConnects) {
        // A close (and maybe several reconnects) may have happened between two polls.
        if (wasConnected) opts.onClose?.();
        seenConnects = client.connects;
        wasConnected = true;
        opts.onOpen?.();
        if (!now) {
          wasConnected = false;
          opts.onClose?.();
        }
      } else if (wasConnected && !now) {
        wasConnected = false;
        opts.onClose?.();
      }
    },
  };
  return link;
}

/** Splits `host:port`. */
function hostPort(server: string): { hostname: string; port: number } {
  const i = server.lastIndexOf(":");
  return {
    hostname: server.slice(0, i).replace(/^\[|\]$/g, ""),
    port: Number(server.slice(i + 1)),
  };
}

/** A QUIC link: {@link QuicEdgeClient}, redialled after a drop. */
export function quicLink(opts: LinkOptions): SimLink {
  let client: QuicEdgeClient | undefined;
  let closing = false;
  let connects = 0;
  let acksBefore = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const { hostname, port } = hostPort(opts.server);
  const dial = async () => {
    const c = await QuicEdgeClient.connect({
      hostname,
      port,
      nodeId: opts.nodeName,
      credentials: opts.credentials,
      heartbeat: opts.heartbeat,
    });
    if (closing) {
      await c.close();
      return;
    }
    client = c;
    connects++;
    opts.onOpen?.();
    c.closed.then(() => {
      if (client !== c) return;
      acksBefore += c.acksSent;
      client = undefined;
      opts.onClose?.();
      if (!closing) schedule();
    });
  };
  const schedule = () => {
    timer = setTimeout(() => {
      timer = undefined;
      if (closing) return;
      dial().catch(() => {
        if (!closing) schedule();
      });
    }, opts.reconnectDelayMs);
  };
  return {
    connect: dial,
    send: (msg) => client ? client.send(msg) : Promise.reject(new Error("not connected")),
    get connected() {
      return client !== undefined;
    },
    get connects() {
      return connects;
    },
    get acksSent() {
      return acksBefore + (client?.acksSent ?? 0);
    },
    terminate: () => {
      client?.conn.close({ closeCode: 1, reason: "edge-sim drop" });
    },
    close: async () => {
      closing = true;
      clearTimeout(timer);
      await client?.close();
    },
    // QuicEdgeClient only records messages; hand new ones to the node and forget them.
    poll() {
      const c = client;
      if (!c || c.received.length === 0) return;
      const batch = c.received.splice(0, c.received.length);
      for (const msg of batch) opts.onMessage(msg);
    },
  };
}
