/**
 * CloudHub's own work per downstream ack-path message, without sockets: under `deno bench`
 * (`deno task bench`), one ConfigMap change fanned out to 1,000 nodes goes bus → dispatcher →
 * ack queue → session → write, and every node's ACK comes back through the upstream handler
 * (decoded from its JSON, as a transport delivers it) to the session and the success point.
 * Connections are in-process fakes that encode the frame and answer it in the next macrotask.
 *
 * Baseline, same group: the same 1,000 messages' wire work done naively with nothing of ours,
 * `JSON.stringify` of each node's wire object and `JSON.parse` of each ACK, a fixed reference
 * that our own encoder's speed does not move. Measured here in November 2026 (2 shared cores,
 * the reference ~3.9 ms): at cf05113 41-46 ms per wave (10.4-11.6x the reference), after the
 * callback-driven session and synchronous enqueue 26-29 ms (6.9-7.5x).
 */
import { Bus } from "../modules/bus.ts";
import { ModuleRegistry } from "../modules/module.ts";
import { setLogLevel } from "../lib/log.ts";
import {
  buildMessage,
  decodeMessage,
  encodeMessage,
  type Message,
  newRespByMessage,
  sharedContentJson,
} from "../modules/message.ts";
import { CloudHub } from "../hub/cloudhub.ts";
import type { EdgeConnection } from "../hub/transport.ts";
import { AckQueue } from "../hub/ack_queue.ts";
import { KubeSyncStore } from "../kube/objectsync_kube.ts";
import type { KubeHttp } from "../kube/http.ts";

setLogLevel("error");
const NODES = 1000;

/** A connection whose edge ACKs every frame in the next macrotask, as a JSON frame. */
class LoopbackConnection implements EdgeConnection {
  readonly transport = "websocket" as const;
  readonly projectId = "bench";
  readonly remoteAddress = "in-process";
  readonly readPaused = false;
  readonly closed: Promise<string>;
  #handler: ((msg: Message) => void | Promise<void>) | undefined;
  #resolveClosed!: (reason: string) => void;

  constructor(readonly nodeId: string, readonly acks: Acks) {
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  write(msg: Message): void {
    encodeMessage(msg, sharedContentJson(msg.content));
    this.acks.queue(this, ackFrame(msg));
  }

  deliver(frame: Uint8Array): void {
    this.#handler?.(decodeMessage(frame));
  }

  onMessage(handler: (msg: Message) => void | Promise<void>): void {
    this.#handler = handler;
  }

  close(reason: string): void {
    this.#resolveClosed(reason);
  }
}

/** ACK frames waiting for the next macrotask, and a counter the waves wait on. */
class Acks {
  delivered = 0;
  #pending: Array<[LoopbackConnection, Uint8Array]> = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #waiter: { want: number; resolve: () => void } | undefined;

  queue(conn: LoopbackConnection, frame: Uint8Array): void {
    this.#pending.push([conn, frame]);
    this.#timer ??= setTimeout(() => this.#flush(), 0);
  }

  #flush(): void {
    this.#timer = undefined;
    const batch = this.#pending;
    this.#pending = [];
    for (const [conn, frame] of batch) conn.deliver(frame);
    this.delivered += batch.length;
    if (this.#waiter && this.delivered >= this.#waiter.want) this.#waiter.resolve();
  }

  until(want: number): Promise<void> {
    if (this.delivered >= want) return Promise.resolve();
    return new Promise((resolve) => (this.#waiter = { want, resolve }));
  }
}

const enc = new TextEncoder();
function ackFrame(msg: Message): Uint8Array {
  return enc.encode(encodeMessage(newRespByMessage(msg, "OK")));
}

function configMap(rv: number): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "fan", namespace: "default", uid: "uid-fan", resourceVersion: String(rv) },
    data: { "app.properties": "x=1\n".repeat(150) },
  };
}

function waveMessage(node: number, obj: Record<string, unknown>, rv: number): Message {
  return buildMessage(
    {
      source: "edgecontroller",
      group: "resource",
      operation: "update",
      resource: `node/n${node}/default/configmap/fan`,
    },
    obj,
    { resourceVersion: String(rv) },
  );
}

let rv = 100;

Deno.bench({
  name: "reference: JSON.stringify each wire object, JSON.parse each ACK",
  group: "ack path, 1,000 nodes",
  baseline: true,
  fn: () => {
    const obj = configMap(++rv);
    for (let i = 0; i < NODES; i++) {
      const id = crypto.randomUUID();
      JSON.stringify({
        header: { msg_id: id, timestamp: Date.now(), resourceversion: String(rv) },
        route: {
          source: "edgecontroller",
          group: "resource",
          operation: "update",
          resource: "default/configmap/fan",
        },
        content: obj,
      });
      JSON.parse(
        `{"header":{"msg_id":"${crypto.randomUUID()}","parent_msg_id":"${id}","timestamp":1},` +
          `"route":{"source":"edged","group":"resource","operation":"response",` +
          `"resource":"default/configmap/fan"},"content":"OK"}`,
      );
    }
  },
});

Deno.bench({
  name: "CloudHub: dispatcher, ack queue, session, ACK, success point",
  group: "ack path, 1,000 nodes",
  async fn(b) {
    const bus = new Bus();
    const registry = new ModuleRegistry(bus);
    const hub = new CloudHub({
      tls: { certPem: "", keyPem: "", caPem: "" },
      websocket: { enable: false },
      monitor: { enable: false },
      nodeLimit: NODES,
    });
    registry.register(hub);
    await registry.startAll();
    const acks = new Acks();
    for (let i = 0; i < NODES; i++) hub.acceptor.accept(new LoopbackConnection(`n${i}`, acks));
    // The first wave creates each node's record; the measured one updates a known object.
    for (const measured of [false, true]) {
      const obj = configMap(++rv);
      const want = acks.delivered + NODES;
      if (measured) b.start();
      for (let i = 0; i < NODES; i++) await bus.send("cloudhub", waveMessage(i, obj, rv));
      await acks.until(want);
      if (measured) b.end();
    }
    await registry.stopAll();
    bus.close();
  },
});

/** A KubeHttp whose writes succeed at once (the success points' own cost, without an API). */
const okHttp = {
  send: () => Promise.resolve(),
  request: () => Promise.resolve({ items: [] }),
} as unknown as KubeHttp;

// The ACK half alone, against the production store: each node's queue takes the ConfigMap
// message and its ACK saves the success point (`acked` → KubeSyncStore, held back and folded
// per record; the writes themselves are the API's cost, not measured here).
Deno.bench({
  name: "AckQueue: enqueue, take, acked into KubeSyncStore",
  group: "success point, 1,000 nodes",
  async fn(b) {
    const store = new KubeSyncStore(okHttp, { successPointDelayMs: 60_000 });
    const queues = Array.from(
      { length: NODES },
      (_, i) => new AckQueue({ nodeId: `n${i}`, syncStore: store }),
    );
    for (const measured of [false, true]) {
      const obj = configMap(++rv);
      if (measured) b.start();
      for (let i = 0; i < NODES; i++) {
        const q = queues[i];
        await q.enqueue(waveMessage(i, obj, rv));
        void q.acked(q.tryNext()!);
      }
      if (measured) b.end();
    }
    for (const q of queues) q.close();
    await store.flush();
  },
});
