/**
 * The seam between transports (WebSocket, QUIC) and CloudHub's sessions: a transport
 * authenticates a node, wraps the connection as an {@link EdgeConnection}, and hands it to the
 * {@link ConnectionAcceptor}. Sessions, the dispatcher and the queues never know which
 * transport a node uses, so a node may reconnect on either.
 */
import type { Message } from "../modules/mod.ts";

/** Transport names. */
export type TransportKind = "websocket" | "quic";

/** One authenticated, live connection from an edge node. */
export interface EdgeConnection {
  /** The node's identity (WebSocket: the `node_id` header, checked against the client cert CN). */
  readonly nodeId: string;
  /** `project_id` header when present. */
  readonly projectId: string;
  readonly transport: TransportKind;
  /** Peer address for logs, e.g. `127.0.0.1:53422`. */
  readonly remoteAddress: string;
  /**
   * Writes one message (the transport applies its framing and `TrimMessage` is NOT applied
   * here: callers pass the message exactly as it must appear on the wire). Writes are
   * serialised per connection. Returns nothing when the frame was queued in order at once (a
   * later failure closes the connection, which ends the session), or a promise when the write
   * must wait (back-pressure, an asynchronous transport), which rejects if it fails. Throws, or
   * returns a rejected promise, when the connection is closed.
   */
  write(msg: Message): void | Promise<void>;
  /**
   * True while the transport has stopped reading because its handlers are behind (back-pressure).
   * A keepalive still unread in the socket is then the hub's delay, not the edge's silence, so
   * the session does not time the node out for it.
   */
  readonly readPaused: boolean;
  /**
   * Sets the handler for incoming, already-decoded messages. Messages are delivered one at a
   * time in arrival order (the next is not delivered before the handler's promise settles),
   * except keepalives and ACKs, which are handled as soon as they are read (hub/inbound.ts).
   * Viaduct control operations (`config`, `ping`, `pong`) are answered by the transport itself
   * and never reach the handler.
   */
  onMessage(handler: (msg: Message) => void | Promise<void>): void;
  /** Closes the connection with a human-readable reason (WebSocket close reason, QUIC close reason). */
  close(reason: string): void;
  /** Resolves with the reason once the connection is closed, by either side. Never rejects. */
  readonly closed: Promise<string>;
}

/** Why a connection is refused before a session exists. */
export interface Refusal {
  /** HTTP status for transports that refuse at upgrade time (503 for the node limit). */
  status: number;
  reason: string;
}

/** What transports hand authenticated connections to (implemented by the session manager). */
export interface ConnectionAcceptor {
  /** Checked before accepting (e.g. before the WebSocket upgrade): `null` means OK. */
  admit(nodeId: string): Refusal | null;
  /** Takes ownership of a connection: starts its session (replacing any older one for the node). */
  accept(conn: EdgeConnection): void;
}

/**
 * The accept-queue length the TCP listeners ask for. Go's `net.Listen` (cloudcore) asks for
 * `net.core.somaxconn`; Node's default is 511, and when 10,000 edges reconnect at once a queue
 * that short overflows while the event loop is busy: the kernel drops the handshakes, the edges
 * retransmit after 1, 2, 4, 8 s, and `deno task bench:storm` took 25 s or 40 s depending on
 * how many hit the full queue (TcpExtListenOverflows: over a million on this machine). The
 * kernel caps the request at somaxconn, so asking for more is harmless.
 */
export const ListenBacklog = 65535;
