/**
 * DeviceController twin-storm benchmark (issue 7): N devices on M nodes, each edge sending
 * `twin/edge_updated` at H Hz for S seconds.
 *
 *   deno task bench:run bench/device_bench.ts \
 *     [--devices 1000] [--nodes 100] [--hz 10] [--seconds 10] [--window 1000] [--transport bus|ws]
 *
 * Stack: the embedded API (HTTPS, Deno KV) and a DeviceController with the 1 s coalescing window.
 * `--transport bus` (default) sends the messages into the `devicecontroller` group exactly as
 * CloudHub does after decoding a frame; `--transport ws` runs the real CloudHub and one mTLS
 * WebSocket edge client per node.
 *
 * Reported:
 * - messages/s received by the controller vs status PATCHes/s sent to the API; their ratio is the
 *   figure to compare (KubeEdge: one PATCH per message, ratio 1.0);
 * - p50/p99 from an edge message to API state: the time from sending a value until a watch on
 *   DeviceStatus shows that value or a newer one for that property (a value superseded inside a
 *   window counts as stored when the newer one is);
 * - p99 from a message reaching the controller to its `"OK"` (values stored), and OKs received.
 */
import { parseArgs } from "node:util";
import { startEmbeddedApi } from "../apiserver/mod.ts";
import { buildMessage, Bus, type Message } from "../modules/mod.ts";
import { BusClosedError } from "../modules/bus.ts";
import { setLogLevel } from "../lib/log.ts";
import { KubeClient } from "../kube/mod.ts";
import { CloudHub } from "../hub/mod.ts";
import { EdgeClient } from "../edge/client.ts";
import { createBenchPki, NodeCertIssuer } from "../harness/pki.ts";
import {
  type DeviceApiClient,
  DeviceController,
  KubeDeviceApi,
} from "../controllers/device/mod.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    devices: { type: "string", default: "1000" },
    nodes: { type: "string", default: "100" },
    hz: { type: "string", default: "10" },
    seconds: { type: "string", default: "10" },
    window: { type: "string", default: "1000" },
    transport: { type: "string", default: "bus" },
    "patch-concurrency": { type: "string", default: "64" },
    ack: { type: "string", default: "stored" },
  },
});
const DEVICES = Number(args.devices);
const NODES = Number(args.nodes);
const HZ = Number(args.hz);
const SECONDS = Number(args.seconds);
const WINDOW = Number(args.window);
setLogLevel("error");

const nodeOf = (i: number) => `edge-${i % NODES}`;
const nameOf = (i: number) => `dev-${i}`;

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0;
}

/** Counts status PATCHes. */
class Counting implements DeviceApiClient {
  patches = 0;
  constructor(readonly inner: DeviceApiClient) {}
  servedVersions: DeviceApiClient["servedVersions"] = (p) => this.inner.servedVersions(p);
  get: DeviceApiClient["get"] = (...a) => this.inner.get(...a);
  create: DeviceApiClient["create"] = (...a) => this.inner.create(...a);
  delete: DeviceApiClient["delete"] = (...a) => this.inner.delete(...a);
  mergePatch: DeviceApiClient["mergePatch"] = (v, p, ns, n, body) => {
    // A twin write patches `status` on the main resource (no status subresource).
    if ((body as { status?: unknown }).status !== undefined) this.patches++;
    return this.inner.mergePatch(v, p, ns, n, body);
  };
  applyConfigMap: DeviceApiClient["applyConfigMap"] = (...a) => this.inner.applyConfigMap(...a);
  deleteConfigMap: DeviceApiClient["deleteConfigMap"] = (...a) => this.inner.deleteConfigMap(...a);
  listConfigMaps: DeviceApiClient["listConfigMaps"] = (s) => this.inner.listConfigMaps(s);
  createEvent: DeviceApiClient["createEvent"] = (...a) => this.inner.createEvent(...a);
}

/**
 * Runs one shutdown step, saying on stderr how long it took. Steps are bounded: after long runs
 * an informer's stop() has been seen to hang (see the final report), and a benchmark must end.
 */
async function phase(what: string, fn: () => Promise<unknown>, limitMs = 10_000): Promise<void> {
  const t = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = await Promise.race([
    fn().then(() => false),
    new Promise<boolean>((r) => timer = setTimeout(() => r(true), limitMs)),
  ]);
  clearTimeout(timer);
  console.error(
    `${what}: ${
      timedOut
        ? `still running after ${limitMs} ms, moving on`
        : `${(performance.now() - t).toFixed(0)} ms`
    }`,
  );
}

async function inBatches<T>(items: T[], size: number, fn: (t: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

const dir = await Deno.makeTempDir({ prefix: "device-bench-" });
const api = await startEmbeddedApi({ dataDir: dir, port: 0, watchLogSize: 200_000 });
const kube = KubeClient.fromYaml(api.kubeconfigYaml, { qps: 0 });
const bus = new Bus({ inboxCapacity: 4096 });
const counting = new Counting(new KubeDeviceApi(kube));
const dc = new DeviceController({
  kube,
  api: counting,
  coalesceWindowMs: WINDOW,
  maxConcurrentPatches: Number(args["patch-concurrency"]),
  ackMode: args.ack === "accepted" ? "accepted" : "stored",
});

// Edge side bookkeeping: send time per device and sequence number.
const sentAt: Map<number, number>[] = Array.from({ length: DEVICES }, () => new Map());
const resolvedUpTo = new Int32Array(DEVICES).fill(-1);
const apiLatency: number[] = [];
let oks = 0;

let cleanup: (() => Promise<void>) | undefined;
try {
  console.log(`creating 1 model and ${DEVICES} devices on ${NODES} nodes ...`);
  await kube.create("/apis/devices.kubeedge.io/v1beta1/namespaces/default/devicemodels", {
    apiVersion: "devices.kubeedge.io/v1beta1",
    kind: "DeviceModel",
    metadata: { name: "m" },
    spec: { properties: [{ name: "temperature", type: "INT", accessMode: "ReadWrite" }] },
  });
  await inBatches(
    [...Array(DEVICES).keys()],
    50,
    (i) =>
      kube.create("/apis/devices.kubeedge.io/v1beta1/namespaces/default/devices", {
        apiVersion: "devices.kubeedge.io/v1beta1",
        kind: "Device",
        metadata: { name: nameOf(i) },
        spec: {
          deviceModelRef: { name: "m" },
          nodeName: nodeOf(i),
          properties: [{ name: "temperature" }],
        },
      }),
  );

  // Watch DeviceStatus: when a stored value appears, every sent value up to it is "in the API".
  const statuses = kube.informer<
    { metadata?: { name?: string }; status?: { twins?: { reported?: { value?: string } }[] } }
  >(
    "/apis/devices.kubeedge.io/v1beta1/devicestatuses",
  );
  const seen = (
    o: { metadata?: { name?: string }; status?: { twins?: { reported?: { value?: string } }[] } },
  ) => {
    const now = performance.now();
    const i = Number(o.metadata?.name?.slice(4));
    const v = Number(o.status?.twins?.[0]?.reported?.value ?? -1);
    if (!Number.isInteger(i) || v <= resolvedUpTo[i]) return;
    for (let s = resolvedUpTo[i] + 1; s <= v; s++) {
      const t = sentAt[i].get(s);
      if (t !== undefined) {
        apiLatency.push(now - t);
        sentAt[i].delete(s);
      }
    }
    resolvedUpTo[i] = v;
  };
  statuses.on({ add: seen, update: seen }).start();

  let send: (i: number, msg: Message) => Promise<void>;
  if (args.transport === "ws") {
    // The real CloudHub and one mTLS WebSocket edge client per node.
    const pki = await createBenchPki();
    const issuer = new NodeCertIssuer(pki);
    const hub = new CloudHub({
      tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem, caPem: pki.ca.certPem },
      websocket: { address: "127.0.0.1", port: 0 },
      monitor: { enable: false },
      nodeLimit: 100_000,
      advertiseAddress: "127.0.0.1",
    });
    await hub.start({ bus });
    const server = `127.0.0.1:${hub.ports.websocket}`;
    const edges: EdgeClient[] = [];
    await inBatches([...Array(NODES).keys()], 20, async (n) => {
      const creds = await issuer.credentials(`edge-${n}`);
      const c = new EdgeClient({ server, nodeName: `edge-${n}`, ...creds, heartbeat: 0 });
      c.onMessage((m) => {
        if (m.content === "OK") oks++;
      });
      await c.connect();
      edges[n] = c;
    });
    send = (i, msg) => edges[i % NODES].send(msg);
    cleanup = async () => {
      await Promise.all(edges.map((e) => e.close()));
      await hub.stop();
    };
  } else {
    bus.addModule("cloudhub");
    (async () => {
      for (;;) {
        try {
          const m = await bus.receive("cloudhub");
          if (m.content === "OK") oks++;
        } catch (err) {
          if (err instanceof BusClosedError) return;
          throw err;
        }
      }
    })();
    send = (_i, msg) => {
      msg.route.resource = `node/${nodeOf(_i)}/${msg.route.resource}`;
      return bus.sendToGroup("devicecontroller", msg);
    };
  }
  const t0 = performance.now();
  await dc.start({ bus });
  await statuses.synced;
  console.log(`controller started in ${(performance.now() - t0).toFixed(0)} ms (devices handled)`);

  // Drive: every 1/HZ s each device sends its next value.
  const ticks = HZ * SECONDS;
  const patchesBefore = counting.patches;
  const start = performance.now();
  let sent = 0;
  for (let tick = 0; tick < ticks; tick++) {
    const due = start + (tick * 1000) / HZ;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const batch: Promise<void>[] = [];
    for (let i = 0; i < DEVICES; i++) {
      const now = performance.now();
      sentAt[i].set(tick, now);
      const msg = buildMessage(
        {
          source: "twin",
          group: "resource",
          operation: "update",
          resource: `device/default/${nameOf(i)}/twin/edge_updated`,
        },
        {
          event_id: crypto.randomUUID(),
          timestamp: Date.now(),
          twin: {
            temperature: {
              actual: { value: String(tick), metadata: { timestamp: Date.now() } },
              metadata: { type: "int" },
            },
          },
        },
      );
      batch.push(send(i, msg));
      sent++;
    }
    await Promise.all(batch);
  }
  const driveMs = performance.now() - start;
  // Let the last window close and every value land.
  const deadline = performance.now() + 30_000;
  while (
    performance.now() < deadline && (resolvedUpTo.some((v) => v < ticks - 1) || oks < sent)
  ) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const totalMs = performance.now() - start;
  const patches = counting.patches - patchesBefore;
  const st = dc.stats();
  apiLatency.sort((a, b) => a - b);
  const lost = resolvedUpTo.filter((v) => v < ticks - 1).length;
  const result = {
    devices: DEVICES,
    nodes: NODES,
    hz: HZ,
    seconds: SECONDS,
    windowMs: WINDOW,
    patchConcurrency: Number(args["patch-concurrency"]),
    ackMode: args.ack,
    transport: args.transport,
    messagesSent: sent,
    messagesPerSec: Math.round(sent / (driveMs / 1000)),
    patches,
    patchesPerSec: Math.round(patches / (totalMs / 1000)),
    patchesPerMessage: Number((patches / sent).toFixed(4)),
    patchesPerDevicePerSec: Number((patches / DEVICES / (totalMs / 1000)).toFixed(3)),
    conflicts: st.upstream.conflicts,
    oks,
    devicesWithLastValueMissing: lost,
    apiStateLatencyMs: {
      samples: apiLatency.length,
      p50: Math.round(pct(apiLatency, 0.5)),
      p99: Math.round(pct(apiLatency, 0.99)),
      max: Math.round(apiLatency[apiLatency.length - 1] ?? 0),
    },
    okLatencyMs: st.latencyMs,
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(
    `messages/s ${result.messagesPerSec}, PATCHes/s ${result.patchesPerSec} ` +
      `(ratio ${result.patchesPerMessage}; KubeEdge 1.0), p99 edge message -> API state ` +
      `${result.apiStateLatencyMs.p99} ms, OKs ${oks}/${sent}`,
  );
  await Deno.mkdir("bench/results", { recursive: true });
  await Deno.writeTextFile(
    `bench/results/device_bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`,
    JSON.stringify(result, null, 2),
  );
  await phase("watch stop", () => statuses.stop());
} finally {
  await phase("controller stop", () => dc.stop());
  await phase("transport close", async () => await cleanup?.());
  bus.close();
  await phase("kube close", () => kube.close());
  await phase("api close", () => api.close());
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
// A step that timed out above may still hold a connection open.
Deno.exit(0);
