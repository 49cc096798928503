/**
 * QUIC vs WebSocket, measured in one run against one CloudHub: N edge sessions per transport
 * (default 500), then downstream messages/s through the bus, dispatcher and session queues to
 * all of them, and the hub process's memory per session. The edge clients run in a child
 * process so the hub's RSS is the hub's alone. Prints one line per transport and the ratio
 * QUIC / WebSocket.
 *
 * Run: deno task bench:run --v8-flags=--expose-gc bench/quic_bench.ts [sessions] [msgsPerNode]
 * Under `deno bench` the file only registers codec micro-benchmarks (viaduct vs JSON).
 */
import { Bus } from "../modules/bus.ts";
import { buildMessage, decodeMessage, encodeMessage, type Message } from "../modules/message.ts";
import { encodeFrame, FrameReader } from "../protocol/viaduct.ts";
import { setLogLevel } from "../lib/log.ts";
import { CloudHub } from "../hub/cloudhub.ts";
import { QuicServer } from "../hub/quic.ts";
import { createCA, signCSR, signServerCert, toPem } from "../pki/mod.ts";
import { createEdgeCsr } from "../edge/pki.ts";
import { EdgeClient } from "../edge/client.ts";
import { QuicEdgeClient } from "../edge/quic_client.ts";
import { BENCH_CHILD_FLAGS } from "../harness/flags.ts";
import { readLines } from "../harness/lines.ts";

type Transport = "websocket" | "quic";

interface Creds {
  caPem: string;
  nodes: Record<string, { certPem: string; keyPem: string }>;
}

const BENCH_RESOURCE = "bench/topic";

function nodeName(t: Transport, i: number): string {
  return `${t === "quic" ? "q" : "w"}${i}`;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function rssMiB(): number {
  return Deno.memoryUsage().rss / 1024 / 1024;
}

function heapMiB(): number {
  return Deno.memoryUsage().heapUsed / 1024 / 1024;
}

async function lines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  for await (const line of readLines(stream)) onLine(line);
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function hubMain(sessions: number, perNode: number): Promise<void> {
  setLogLevel("error");
  const ca = await createCA();
  const server = await signServerCert(ca, { ips: ["127.0.0.1"], dnsNames: ["localhost"] });
  const creds: Creds = { caPem: ca.certPem, nodes: {} };
  for (const t of ["websocket", "quic"] as Transport[]) {
    for (let i = 0; i < sessions; i++) {
      const name = nodeName(t, i);
      const csr = await createEdgeCsr(name);
      const der = await signCSR(ca, csr.csrDer, { extKeyUsages: [2], validityDays: 1 });
      creds.nodes[name] = { certPem: toPem(der, "CERTIFICATE"), keyPem: csr.keyPem };
    }
  }
  const dir = await Deno.makeTempDir();
  const credsFile = `${dir}/creds.json`;
  await Deno.writeTextFile(credsFile, JSON.stringify(creds));

  const bus = new Bus({ inboxCapacity: 4096 });
  const hub = new CloudHub({
    tls: { certPem: server.certPem, keyPem: server.keyPem, caPem: ca.certPem },
    websocket: { address: "127.0.0.1", port: 0 },
    monitor: { enable: false },
    nodeLimit: sessions * 4,
    noAckCapacity: perNode * 2,
  });
  await hub.start({ bus });
  const quic = new QuicServer({
    hostname: "127.0.0.1",
    port: 0,
    tls: { certPem: server.certPem, keyPem: server.keyPem, caPem: ca.certPem },
    acceptor: hub.acceptor,
  });
  await quic.start();

  const results: Record<
    Transport,
    { rate: number; kib: number; heapKib: number; connectS: number }
  > = {
    websocket: { rate: 0, kib: 0, heapKib: 0, connectS: 0 },
    quic: { rate: 0, kib: 0, heapKib: 0, connectS: 0 },
  };
  try {
    for (const t of ["websocket", "quic"] as Transport[]) {
      gc();
      await new Promise((r) => setTimeout(r, 200));
      gc();
      const rss0 = rssMiB();
      const heap0 = heapMiB();
      const port = t === "quic" ? quic.addr.port : hub.ports.websocket;
      const expected = sessions * perNode;
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--unstable-net",
          "--unstable-kv",
          ...BENCH_CHILD_FLAGS,
          new URL(import.meta.url).pathname,
          "--clients",
          t,
          String(port),
          String(sessions),
          String(expected),
          credsFile,
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      let ready = false;
      let done = false;
      const reader = lines(child.stdout, (line) => {
        if (line === "ready") ready = true;
        if (line === "done") done = true;
      });
      const c0 = performance.now();
      await waitFor(() => ready && hub.sessions.count === sessions, `${t} sessions`);
      results[t].connectS = (performance.now() - c0) / 1000;
      gc();
      await new Promise((r) => setTimeout(r, 500));
      gc();
      results[t].kib = (rssMiB() - rss0) * 1024 / sessions;
      results[t].heapKib = (heapMiB() - heap0) * 1024 / sessions;

      const t0 = performance.now();
      for (let k = 0; k < perNode; k++) {
        for (let i = 0; i < sessions; i++) {
          // Group `user` takes the no-ack path: this measures the transport, not ObjectSync.
          const msg: Message = buildMessage({
            source: "router_eventbus",
            group: "user",
            operation: "publish",
            resource: `node/${nodeName(t, i)}/${BENCH_RESOURCE}`,
          }, { seq: k, payload: "x".repeat(200) });
          await bus.send("cloudhub", msg);
        }
      }
      await waitFor(() => done, `${t} delivery`);
      results[t].rate = expected / ((performance.now() - t0) / 1000);

      await child.stdin.close();
      await child.status;
      await reader;
      await waitFor(() => hub.sessions.count === 0, `${t} sessions to end`);
    }
  } finally {
    await quic.stop();
    await hub.stop();
    bus.close();
    await Deno.remove(dir, { recursive: true });
  }
  const f = (n: number) => n.toFixed(1);
  console.log(`sessions per transport: ${sessions}, downstream messages per node: ${perNode}`);
  for (const t of ["websocket", "quic"] as Transport[]) {
    const r = results[t];
    console.log(
      `${t.padEnd(9)}  ${f(r.rate).padStart(9)} msg/s  ${
        f(r.kib).padStart(7)
      } KiB RSS/session (JS heap ${f(r.heapKib)} KiB)  connect ${f(r.connectS)} s`,
    );
  }
  console.log(
    `ratio quic/websocket: throughput ${
      (results.quic.rate / results.websocket.rate).toFixed(2)
    }, memory ${(results.quic.kib / results.websocket.kib).toFixed(2)}`,
  );
}

async function clientsMain(
  t: Transport,
  port: number,
  sessions: number,
  expected: number,
  credsFile: string,
): Promise<void> {
  setLogLevel("error");
  const creds = JSON.parse(await Deno.readTextFile(credsFile)) as Creds;
  let count = 0;
  const onMessage = (m: Message) => {
    if (m.route.resource !== BENCH_RESOURCE) return;
    if (++count === expected) console.log("done");
  };
  const closers: Array<() => Promise<void>> = [];
  const connectOne = async (i: number) => {
    const name = nodeName(t, i);
    const c = creds.nodes[name];
    if (t === "quic") {
      const edge = await QuicEdgeClient.connect({
        hostname: "127.0.0.1",
        port,
        nodeId: name,
        credentials: { caPem: creds.caPem, ...c },
      });
      edge.onMessage(onMessage);
      closers.push(() => edge.close());
    } else {
      const edge = new EdgeClient({
        server: `127.0.0.1:${port}`,
        nodeName: name,
        caPem: creds.caPem,
        ...c,
      });
      edge.onMessage(onMessage);
      await edge.connect();
      closers.push(() => edge.close());
    }
  };
  for (let i = 0; i < sessions; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, sessions - i) }, (_, k) => connectOne(i + k)),
    );
  }
  console.log("ready");
  // Run until the parent closes our stdin.
  for await (const _ of Deno.stdin.readable) { /* ignore input */ }
  await Promise.all(closers.map((c) => c()));
  Deno.exit(0);
}

/** A pod-sized message for the codec micro-benchmarks. */
function samplePod(): Message {
  return buildMessage(
    {
      source: "edgecontroller",
      group: "resource",
      operation: "insert",
      resource: "default/pod/nginx",
    },
    {
      kind: "Pod",
      apiVersion: "v1",
      metadata: {
        name: "nginx",
        namespace: "default",
        uid: crypto.randomUUID(),
        resourceVersion: "4711",
      },
      spec: {
        containers: [{ name: "nginx", image: "nginx:1.27", ports: [{ containerPort: 80 }] }],
      },
      status: { phase: "Pending" },
    },
    { resourceVersion: "4711" },
  );
}

if (!import.meta.main) {
  // Under `deno bench` (deno task bench): per-message codec cost, viaduct vs the WebSocket
  // lane's JSON (the baseline), each group printed as a ratio.
  const pod = samplePod();
  const json = encodeMessage(pod);
  const frame = encodeFrame(pod);
  Deno.bench({
    name: "websocket JSON encode",
    group: "encode",
    baseline: true,
    fn: () => void encodeMessage(pod),
  });
  Deno.bench({ name: "viaduct frame encode", group: "encode", fn: () => void encodeFrame(pod) });
  Deno.bench({
    name: "websocket JSON decode",
    group: "decode",
    baseline: true,
    fn: () => void decodeMessage(json),
  });
  Deno.bench({
    name: "viaduct frame decode",
    group: "decode",
    fn: () => void new FrameReader().push(frame),
  });
}

if (import.meta.main) {
  const args = Deno.args;
  if (args[0] === "--clients") {
    await clientsMain(
      args[1] as Transport,
      Number(args[2]),
      Number(args[3]),
      Number(args[4]),
      args[5],
    );
  } else {
    await hubMain(Number(args[0] ?? 500), Number(args[1] ?? 20));
  }
}
