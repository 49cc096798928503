/**
 * An edge node client that speaks edgecore's side of CloudHub's WebSocket protocol
 * (docs/protocol.md §1.8, §3.2, §3.6): mTLS dial with `node_id`, a keepalive every `heartbeat`
 * seconds, ACKs for ack-path messages the way metamanager sends them (`NewRespByMessage(msg,
 * "OK")`, source and group copied), and optional reconnects after `2 × heartbeat`.
 *
 * It is honest to docs/protocol.md, not to what the hub accepts, so tests built on it check
 * compatibility. Used by tests, benchmarks and the edge simulator.
 *
 * @example
 * ```ts
 * const edge = new EdgeClient({ server: "127.0.0.1:10000", nodeName: "n1", caPem, certPem, keyPem });
 * await edge.connect();
 * const pod = await edge.waitFor((m) => m.route.resource === "default/pod/nginx", 5_000);
 * await edge.close();
 * ```
 */
import type { WebSocket } from "ws";
import {
  buildMessage,
  decodeMessage,
  defaultMessageEnv,
  encodeMessage,
  Group,
  type Message,
  type MessageEnv,
  newRespByMessage,
  Operation,
} from "../modules/mod.ts";
import { dialEdgeWebSocket, type DialOptions, type EdgeLink } from "./ws_transport.ts";
import { withTimeout } from "../lib/mod.ts";
import { wsFrameBytes } from "../protocol/mod.ts";

export { DefaultProjectId, EdgeConnectError } from "./ws_transport.ts";

/** Options of {@link EdgeClient}. */
export interface EdgeClientOptions extends DialOptions {
  /** Keepalive period in seconds (edgecore `heartbeat`, default 15); 0 disables keepalives. */
  heartbeat?: number;
  /**
   * Which received messages to ACK. Default {@link edgeAcks}; `false` never ACKs (tests of
   * resends).
   */
  ack?: false | ((msg: Message) => boolean);
  /** Reconnect after an unexpected close (default false), after `2 × heartbeat` s like edgecore. */
  reconnect?: boolean;
  /** Override the reconnect delay in ms. */
  reconnectDelayMs?: number;
  /** Ids and clock of messages the client creates. */
  env?: MessageEnv;
  /**
   * Keep every received message for {@link EdgeClient.received} / `waitFor` (default true);
   * load generators turn it off so memory stays flat.
   */
  keepHistory?: boolean;
}

/** How a connection ended. */
export interface EdgeClose {
  code: number;
  reason: string;
}

/** Thrown by {@link EdgeClient.waitFor} on timeout. */
export class WaitTimeoutError extends Error {
  override name = "WaitTimeoutError";
}

const AckedOperations: ReadonlySet<string> = new Set([
  Operation.Insert,
  Operation.Update,
  Operation.Delete,
  Operation.Patch,
]);

/**
 * metamanager's ACK rule: cloud messages of group `resource` that change or return objects
 * (insert/update/delete/patch, and `response`s carrying an object rather than `"OK"`).
 */
export function edgeAcks(msg: Message): boolean {
  if (msg.route.group !== Group.Resource) return false;
  const op = msg.route.operation ?? "";
  if (AckedOperations.has(op)) return true;
  return op === Operation.Response && typeof msg.content === "object" && msg.content !== null;
}

interface Waiter {
  predicate: (msg: Message) => boolean;
  resolve: (msg: Message) => void;
}

/** The edge client; see module docs. */
export class EdgeClient {
  readonly nodeName: string;
  readonly #opts: EdgeClientOptions;
  readonly #env: MessageEnv;
  #ws: WebSocket | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #closing = false;
  #received: Message[] = [];
  #waiters = new Set<Waiter>();
  #listeners = new Set<(msg: Message) => void>();
  #iteratorStops = new Set<() => void>();
  #closeWaiters: Array<(c: EdgeClose) => void> = [];
  #openWaiters: Array<() => void> = [];
  #lastClose: EdgeClose | undefined;
  /** Keepalives sent so far. */
  keepalivesSent = 0;
  /** ACKs sent so far. */
  acksSent = 0;
  /** Successful connects so far. */
  connects = 0;

  constructor(opts: EdgeClientOptions) {
    this.#opts = opts;
    this.nodeName = opts.nodeName;
    this.#env = opts.env ?? defaultMessageEnv;
  }

  /** True while a connection is open. */
  get connected(): boolean {
    return this.#ws !== undefined && this.#ws.readyState === 1;
  }

  /** Every message received so far, in order. */
  get received(): readonly Message[] {
    return this.#received;
  }

  /** How the last connection ended (undefined while none ended). */
  get lastClose(): EdgeClose | undefined {
    return this.#lastClose;
  }

  /** Forgets the received history. */
  clearReceived(): void {
    this.#received = [];
  }

  /** Dials the hub; rejects with {@link EdgeConnectError} when refused. */
  async connect(): Promise<void> {
    this.#closing = false;
    const link = await dialEdgeWebSocket(this.#opts);
    if (this.#closing) {
      link.ws.terminate();
      throw new Error("client closed while connecting");
    }
    this.#attach(link);
  }

  #attach(link: EdgeLink): void {
    const ws = link.ws;
    this.#ws = ws;
    this.connects++;
    ws.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => this.#onFrame(data));
    for (const data of link.takeEarlyFrames()) this.#onFrame(data);
    ws.on("error", () => {});
    ws.on(
      "close",
      (code: number, reason: Buffer) => this.#onClose(ws, { code, reason: reason.toString() }),
    );
    const hb = this.#opts.heartbeat ?? 15;
    if (hb > 0) {
      this.#heartbeatTimer = setInterval(() => {
        this.sendKeepalive().catch(() => {});
      }, hb * 1000);
    }
    const waiters = this.#openWaiters;
    this.#openWaiters = [];
    for (const w of waiters) w();
  }

  #onClose(ws: WebSocket, close: EdgeClose): void {
    if (this.#ws !== ws) return;
    clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;
    this.#ws = undefined;
    this.#lastClose = close;
    const waiters = this.#closeWaiters;
    this.#closeWaiters = [];
    for (const w of waiters) w(close);
    if (!this.#closing && this.#opts.reconnect) this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const delay = this.#opts.reconnectDelayMs ?? 2 * (this.#opts.heartbeat ?? 15) * 1000;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#closing) return;
      dialEdgeWebSocket(this.#opts).then((link) => {
        if (this.#closing) link.ws.terminate();
        else this.#attach(link);
      }, () => {
        if (!this.#closing) this.#scheduleReconnect();
      });
    }, delay);
  }

  #onFrame(data: Buffer | ArrayBuffer | Buffer[]): void {
    let msg: Message;
    try {
      msg = decodeMessage(wsFrameBytes(data));
    } catch {
      return; // edgecore logs and drops frames it cannot read
    }
    const ack = this.#opts.ack ?? edgeAcks;
    if (ack && ack(msg)) {
      const resp = newRespByMessage(msg, "OK", this.#env);
      this.send(resp).then(() => this.acksSent++, () => {});
    }
    if (this.#opts.keepHistory ?? true) this.#received.push(msg);
    for (const l of this.#listeners) l(msg);
    for (const w of this.#waiters) {
      if (w.predicate(msg)) {
        this.#waiters.delete(w);
        w.resolve(msg);
      }
    }
  }

  /** Sends one message as one text frame (gorilla WriteJSON: JSON + `\n`). */
  send(msg: Message): Promise<void> {
    return this.sendRaw(encodeMessage(msg) + "\n");
  }

  /** Sends raw text or bytes as one frame (tests of malformed input). */
  sendRaw(data: string | Uint8Array): Promise<void> {
    const ws = this.#ws;
    if (!ws || ws.readyState !== 1) {
      return Promise.reject(new Error(`${this.nodeName} is not connected`));
    }
    return new Promise((resolve, reject) =>
      ws.send(data, (err) => (err ? reject(err) : resolve()))
    );
  }

  /** The keepalive edgecore sends every heartbeat (§1.8). */
  keepaliveMessage(): Message {
    return buildMessage(
      {
        source: "websocket",
        group: Group.Resource,
        operation: Operation.Keepalive,
        resource: "node",
      },
      "ping",
      { env: this.#env },
    );
  }

  /** Sends one keepalive now. */
  async sendKeepalive(): Promise<void> {
    await this.send(this.keepaliveMessage());
    this.keepalivesSent++;
  }

  /** Calls `listener` for every message received from now on; returns an unsubscribe function. */
  onMessage(listener: (msg: Message) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Messages received from now on, as an async iterator; it ends when `signal` aborts or the
   * client is closed with {@link close}.
   *
   * @example
   * ```ts
   * for await (const msg of edge.messages(ac.signal)) console.log(msg.route.resource);
   * ```
   */
  async *messages(signal?: AbortSignal): AsyncGenerator<Message> {
    const buffered: Message[] = [];
    let wake: (() => void) | undefined;
    const unsubscribe = this.onMessage((msg) => {
      buffered.push(msg);
      wake?.();
    });
    const onAbort = () => wake?.();
    signal?.addEventListener("abort", onAbort);
    this.#iteratorStops.add(onAbort);
    try {
      for (;;) {
        while (buffered.length > 0) yield buffered.shift() as Message;
        if (signal?.aborted || this.#closing) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      unsubscribe();
      signal?.removeEventListener("abort", onAbort);
      this.#iteratorStops.delete(onAbort);
    }
  }

  /**
   * Resolves with the first received message (already received or future) matching
   * `predicate`. Rejects with {@link WaitTimeoutError} after `timeoutMs`.
   */
  waitFor(predicate: (msg: Message) => boolean, timeoutMs = 10_000): Promise<Message> {
    const found = this.#received.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new WaitTimeoutError(`${this.nodeName}: no matching message within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        predicate,
        resolve: (msg) => {
          clearTimeout(timer);
          resolve(msg);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** Resolves when the current connection closes (immediately if none is open). */
  waitClosed(timeoutMs = 10_000): Promise<EdgeClose> {
    if (!this.#ws) return Promise.resolve(this.#lastClose ?? { code: 0, reason: "" });
    return withTimeout(
      new Promise((resolve) => this.#closeWaiters.push(resolve)),
      timeoutMs,
      () => new WaitTimeoutError(`${this.nodeName}: still connected after ${timeoutMs} ms`),
    );
  }

  /** Resolves when a (re)connection is open. */
  waitOpen(timeoutMs = 10_000): Promise<void> {
    if (this.connected) return Promise.resolve();
    return withTimeout(
      new Promise<void>((resolve) => this.#openWaiters.push(resolve)),
      timeoutMs,
      () => new WaitTimeoutError(`${this.nodeName}: not connected within ${timeoutMs} ms`),
    );
  }

  /** Drops the connection without a close handshake (a crash or network loss). */
  terminate(): void {
    this.#ws?.terminate();
  }

  /** Closes the connection (1000) and stops keepalives and reconnects. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const stop of this.#iteratorStops) stop();
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    const ws = this.#ws;
    if (!ws) return;
    const closed = new Promise<EdgeClose>((resolve) => this.#closeWaiters.push(resolve));
    ws.close(1000, "edge closing");
    const timer = setTimeout(() => ws.terminate(), 2_000);
    await closed;
    clearTimeout(timer);
  }
}
