/**
 * CloudHub session and delivery benchmark.
 *
 *   deno task bench:run bench/hub_bench.ts --sessions 1000 [--messages 20]
 *
 * 1. Hub: a CloudHub runs in a child process (so RSS is the hub's alone); `--sessions` edge
 *    clients (edge/client.ts, each with its own client certificate, mTLS, keepalive every 15 s)
 *    connect from this process. Reported: hub RSS per session above the idle process, and
 *    downstream ack-path messages per second (each message enqueued through the dispatcher,
 *    written, ACKed by the edge, ObjectSync success point saved in memory).
 * 2. Baseline, same run: a raw `npm:ws` TLS server with the same certificates in a child process,
 *    the same number of connections, the same message JSON sent one way and echoed back as an
 *    ACK by clients doing the same decode/encode work.
 * The ratios hub/baseline are what to compare across machines. ObjectSync records are kept in
 * memory here: the benchmark measures CloudHub, not a Kubernetes API.
 */
import { parseArgs } from "node:util";
import https from "node:https";
import { type WebSocket, WebSocketServer } from "ws";
import { createCA, signCSR, signServerCert, toPem } from "../pki/mod.ts";
import { createEdgeCsr } from "../edge/pki.ts";
import { EdgeClient } from "../edge/client.ts";
import { dialEdgeWebSocket } from "../edge/ws_transport.ts";
import { CloudHub } from "../hub/cloudhub.ts";
import { Bus } from "../modules/bus.ts";
import { setLogLevel } from "../lib/log.ts";
import {
  buildMessage,
  decodeMessage,
  encodeMessage,
  type Message,
  newRespByMessage,
} from "../modules/message.ts";
import { BENCH_CHILD_FLAGS } from "../harness/flags.ts";
import { readLines } from "../harness/lines.ts";

interface Pems {
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
}

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    sessions: { type: "string", default: "1000" },
    messages: { type: "string", default: "20" },
    role: { type: "string", default: "driver" },
    dir: { type: "string", default: "" },
    concurrency: { type: "string", default: "50" },
    window: { type: "string", default: "" },
    rounds: { type: "string", default: "5" },
  },
});

function podMessage(node: string, i: number): Message {
  const uid = `${node}-uid-${i}`;
  const rv = String(1000 + i);
  return buildMessage({
    source: "edgecontroller",
    group: "resource",
    operation: "update",
    resource: `node/${node}/default/pod/p${i}`,
  }, {
    kind: "Pod",
    apiVersion: "v1",
    metadata: {
      name: `p${i}`,
      namespace: "default",
      uid,
      resourceVersion: rv,
      labels: { app: "bench" },
    },
    spec: { nodeName: node, containers: [{ name: "c", image: "nginx:1.27" }] },
  }, { resourceVersion: rv });
}

function rss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Deno.memoryUsage().rss;
}

// ---------- child roles: line-delimited JSON commands on stdin, answers on stdout ----------

async function commandLoop(
  handle: (cmd: Record<string, unknown>) => Promise<unknown>,
): Promise<void> {
  const encoder = new TextEncoder();
  for await (const line of readLines(Deno.stdin.readable)) {
    const cmd = JSON.parse(line);
    const out = await handle(cmd);
    await Deno.stdout.write(encoder.encode(JSON.stringify(out) + "\n"));
    if (cmd.cmd === "exit") Deno.exit(0);
  }
}

async function runHubChild(pems: Pems): Promise<void> {
  setLogLevel("error");
  const hub = new CloudHub({
    tls: { certPem: pems.serverCertPem, keyPem: pems.serverKeyPem, caPem: pems.caPem },
    websocket: { address: "127.0.0.1", port: 0 },
    monitor: { enable: false },
    nodeLimit: 1_000_000,
    delivery: args.window ? { ackWindow: Number(args.window) } : undefined,
  });
  await hub.start({ bus: new Bus() });
  await commandLoop(async (cmd) => {
    switch (cmd.cmd) {
      case "port":
        return { port: hub.ports.websocket };
      case "rss":
        return { rss: rss(), heap: Deno.memoryUsage().heapUsed, sessions: hub.sessions.count };
      case "deliver": {
        const perNode = cmd.perNode as number;
        const nodes = hub.sessions.nodeIds;
        const msgs = nodes.flatMap((n) =>
          Array.from(
            { length: perNode },
            (_, i) => podMessage(n, cmd.round as number * perNode + i),
          )
        );
        const start = performance.now();
        for (const m of msgs) await hub.dispatcher.downstream(m);
        await hub.dispatcher.flush();
        for (;;) {
          let pending = 0;
          for (const n of nodes) pending += hub.pools.get(n).ack.depth;
          if (pending === 0) break;
          await new Promise((r) => setTimeout(r, 2));
        }
        return { count: msgs.length, ms: performance.now() - start };
      }
      default:
        return { ok: true };
    }
  });
}

async function runBaselineChild(pems: Pems): Promise<void> {
  const server = https.createServer({
    cert: pems.serverCertPem,
    key: pems.serverKeyPem,
    ca: pems.caPem,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.2",
  });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const sockets: Array<{ ws: WebSocket; node: string }> = [];
  let acks = 0;
  let onAck: (() => void) | undefined;
  server.on("upgrade", (req, socket, head) => {
    const node = String(req.headers["node_id"] ?? "");
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.push({ ws, node });
      ws.on("message", () => {
        acks++;
        onAck?.();
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await commandLoop(async (cmd) => {
    switch (cmd.cmd) {
      case "port":
        return { port };
      case "rss":
        return { rss: rss(), heap: Deno.memoryUsage().heapUsed, sessions: sockets.length };
      case "deliver": {
        const perNode = cmd.perNode as number;
        const total = sockets.length * perNode;
        acks = 0;
        const start = performance.now();
        const done = new Promise<void>((resolve) => {
          onAck = () => acks >= total && resolve();
        });
        for (const { ws, node } of sockets) {
          for (let i = 0; i < perNode; i++) {
            const m = podMessage(node, cmd.round as number * perNode + i);
            m.route.resource = m.route.resource!.split("/").slice(2).join("/");
            ws.send(encodeMessage(m) + "\n");
          }
        }
        if (total > 0) await done;
        return { count: total, ms: performance.now() - start };
      }
      default:
        return { ok: true };
    }
  });
}

// ---------- driver ----------

class Child {
  readonly #proc: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;

  constructor(role: string, dir: string) {
    this.#proc = new Deno.Command(Deno.execPath(), {
      // HUB_BENCH_CHILD_FLAGS (e.g. "--cpu-prof") lets a profile of the child be taken.
      args: [
        "run",
        ...BENCH_CHILD_FLAGS,
        "--v8-flags=--expose-gc",
        ...(Deno.env.get("HUB_BENCH_CHILD_FLAGS")?.split(" ").filter(Boolean) ?? []),
        import.meta.filename!,
        "--role",
        role,
        "--dir",
        dir,
        ...(args.window ? ["--window", args.window] : []),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#proc.stdin.getWriter();
    this.#lines = readLines(this.#proc.stdout)[Symbol.asyncIterator]();
  }

  async call<T>(cmd: Record<string, unknown>): Promise<T> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(cmd) + "\n"));
    const { value, done } = await this.#lines.next();
    if (done) throw new Error(`child exited during ${JSON.stringify(cmd)}`);
    return JSON.parse(value) as T;
  }

  async close(): Promise<void> {
    try {
      await this.call({ cmd: "exit" });
    } catch {
      // exited already
    }
    await this.#writer.close().catch(() => {});
    await this.#proc.status;
  }
}

async function inBatches<T>(
  items: T[],
  size: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

interface Side {
  idleRss: number;
  connectedRss: number;
  sessions: number;
  perSessionBytes: number;
  /** JS heap growth per session (the rest of the RSS growth is native: TLS, sockets). */
  heapPerSessionBytes: number;
  connectMs: number;
  messagesPerRound: number;
  /** ACKed messages per second of each measured round. */
  rounds: number[];
  /** Median of {@link rounds}. */
  msgsPerSec: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function connectSide(child: Child, connectAll: () => Promise<void>): Promise<Side> {
  const idle = await child.call<{ rss: number; heap: number }>({ cmd: "rss" });
  const t0 = performance.now();
  await connectAll();
  const connectMs = performance.now() - t0;
  // a second sample lets lazily allocated buffers settle
  await child.call({ cmd: "rss" });
  const connected = await child.call<{ rss: number; heap: number; sessions: number }>({
    cmd: "rss",
  });
  return {
    idleRss: idle.rss,
    connectedRss: connected.rss,
    sessions: connected.sessions,
    perSessionBytes: (connected.rss - idle.rss) / Math.max(1, connected.sessions),
    heapPerSessionBytes: (connected.heap - idle.heap) / Math.max(1, connected.sessions),
    connectMs,
    messagesPerRound: 0,
    rounds: [],
    msgsPerSec: 0,
  };
}

async function deliverRound(
  child: Child,
  side: Side,
  perNode: number,
  round: number,
): Promise<void> {
  const d = await child.call<{ count: number; ms: number }>({ cmd: "deliver", perNode, round });
  side.messagesPerRound = d.count;
  side.rounds.push(d.count / (d.ms / 1000));
}

async function driver(): Promise<void> {
  const sessions = Number(args.sessions);
  const perNode = Number(args.messages);
  const concurrency = Number(args.concurrency);
  const roundsWanted = Number(args.rounds);
  setLogLevel("error");
  const dir = await Deno.makeTempDir({ prefix: "hub-bench-" });
  console.error(`preparing ${sessions} client certificates ...`);
  const ca = await createCA();
  const server = await signServerCert(ca, { ips: ["127.0.0.1"], dnsNames: ["localhost"] });
  const pems: Pems = {
    caPem: ca.certPem,
    serverCertPem: server.certPem,
    serverKeyPem: server.keyPem,
  };
  await Deno.writeTextFile(`${dir}/pems.json`, JSON.stringify(pems));
  const nodes = Array.from({ length: sessions }, (_, i) => `bench-node-${i}`);
  const certs = new Map<string, { certPem: string; keyPem: string }>();
  await inBatches(nodes, 100, async (node) => {
    const csr = await createEdgeCsr(node);
    const der = await signCSR(ca, csr.csrDer, { extKeyUsages: [], validityDays: 1 });
    certs.set(node, { certPem: toPem(der, "CERTIFICATE"), keyPem: csr.keyPem });
  });

  const hubChild = new Child("hub", dir);
  const baseChild = new Child("baseline", dir);
  const { port: hubPort } = await hubChild.call<{ port: number }>({ cmd: "port" });
  const { port: basePort } = await baseChild.call<{ port: number }>({ cmd: "port" });

  console.error("hub: connecting edge clients (edge/client.ts, keepalive 15 s) ...");
  const clients: EdgeClient[] = [];
  const hub = await connectSide(hubChild, () =>
    inBatches(nodes, concurrency, async (node) => {
      const c = new EdgeClient({
        server: `127.0.0.1:${hubPort}`,
        nodeName: node,
        caPem: ca.certPem,
        ...certs.get(node)!,
        heartbeat: 15,
        keepHistory: false,
      });
      await c.connect();
      clients.push(c);
    }));

  // Baseline: raw ws, same TLS, same JSON, clients decode + ACK like the edge client.
  console.error("baseline: connecting raw ws clients ...");
  const raw: WebSocket[] = [];
  const base = await connectSide(baseChild, () =>
    inBatches(nodes, concurrency, async (node) => {
      const link = await dialEdgeWebSocket({
        server: `127.0.0.1:${basePort}`,
        nodeName: node,
        caPem: ca.certPem,
        ...certs.get(node)!,
      });
      const ws = link.ws;
      const onFrame = (data: Uint8Array) => {
        const msg = decodeMessage(data);
        ws.send(encodeMessage(newRespByMessage(msg, "OK")) + "\n");
      };
      ws.on("message", onFrame);
      for (const data of link.takeEarlyFrames()) onFrame(data as Uint8Array);
      raw.push(ws);
    }));

  // Warm-up, then alternate hub and baseline rounds so machine noise hits both alike.
  console.error(`delivering ${perNode} messages per node, ${roundsWanted} rounds each ...`);
  const warm = Math.max(1, Math.floor(perNode / 4));
  await hubChild.call({ cmd: "deliver", perNode: warm, round: 0 });
  await baseChild.call({ cmd: "deliver", perNode: warm, round: 0 });
  for (let r = 1; r <= roundsWanted; r++) {
    await deliverRound(hubChild, hub, perNode, r);
    await deliverRound(baseChild, base, perNode, r);
  }
  hub.msgsPerSec = median(hub.rounds);
  base.msgsPerSec = median(base.rounds);
  // Rounds run back to back, so a paired ratio cancels most of the machine's load swings.
  const pairedRatio = median(hub.rounds.map((h, i) => h / base.rounds[i]));

  const keepalives = clients.reduce((n, c) => n + c.keepalivesSent, 0);
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(raw.map((ws) =>
    new Promise<void>((r) => {
      ws.once("close", () => r());
      ws.close();
    })
  ));
  await hubChild.close();
  await baseChild.close();
  await Deno.remove(dir, { recursive: true });

  const kb = (b: number) => (b / 1024).toFixed(1);
  const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
  const rows = [
    ["", "hub (CloudHub)", "raw ws baseline", "ratio hub/base"],
    ["sessions", String(hub.sessions), String(base.sessions), ""],
    ["idle RSS (MiB)", mb(hub.idleRss), mb(base.idleRss), ""],
    ["connected RSS (MiB)", mb(hub.connectedRss), mb(base.connectedRss), ""],
    [
      "RSS per session (KiB)",
      kb(hub.perSessionBytes),
      kb(base.perSessionBytes),
      (hub.perSessionBytes / base.perSessionBytes).toFixed(2),
    ],
    [
      "JS heap per session (KiB)",
      kb(hub.heapPerSessionBytes),
      kb(base.heapPerSessionBytes),
      (hub.heapPerSessionBytes / base.heapPerSessionBytes).toFixed(2),
    ],
    ["connect all (ms)", hub.connectMs.toFixed(0), base.connectMs.toFixed(0), ""],
    ["messages per round", String(hub.messagesPerRound), String(base.messagesPerRound), ""],
    [
      "ACKed msgs/s (median)",
      hub.msgsPerSec.toFixed(0),
      base.msgsPerSec.toFixed(0),
      (hub.msgsPerSec / base.msgsPerSec).toFixed(2),
    ],
    [
      "ACKed msgs/s (rounds)",
      hub.rounds.map((x) => x.toFixed(0)).join(" "),
      base.rounds.map((x) => x.toFixed(0)).join(" "),
      "",
    ],
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join("  "));
  const result = {
    bench: "hub_bench",
    date: new Date().toISOString(),
    deno: Deno.version.deno,
    cpus: navigator.hardwareConcurrency,
    sessions,
    messagesPerNode: perNode,
    keepaliveSeconds: 15,
    keepalivesSentDuringRun: keepalives,
    hub,
    baseline: base,
    ratios: {
      rssPerSession: hub.perSessionBytes / base.perSessionBytes,
      ackedMsgsPerSec: hub.msgsPerSec / base.msgsPerSec,
      ackedMsgsPerSecPairedMedian: pairedRatio,
    },
  };
  await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
  const out = new URL(
    `./results/hub_bench-${result.date.replace(/[:.]/g, "-")}.json`,
    import.meta.url,
  );
  await Deno.writeTextFile(out, JSON.stringify(result, null, 2) + "\n");
  console.log(`wrote ${out.pathname}`);
}

if (import.meta.main) {
  if (args.role === "driver") {
    await driver();
  } else {
    const pems = JSON.parse(await Deno.readTextFile(`${args.dir}/pems.json`)) as Pems;
    if (args.role === "hub") await runHubChild(pems);
    else await runBaselineChild(pems);
  }
}
