/**
 * EdgeController downstream benchmark: API write → edge frame.
 *
 *   deno task bench:run bench/edgecontroller_bench.ts [--nodes 1000] [--pods 10000] [--concurrency 32]
 *
 * A child process ("server") runs the embedded API, CloudHub (mTLS WebSocket, in-memory ObjectSync
 * store) and EdgeController on one bus; this process runs `--nodes` edge clients (edge/client.ts,
 * ACKing like metamanager) and creates `--pods` pods through the API (`--concurrency` in flight),
 * each bound to an edge node.
 *
 * Reported, from the same run:
 * 1. EdgeController path: latency from the API POST of a pod to its `insert` frame at the edge
 *    (p50/p99), delivered msgs/s, and the server process's CPU time per delivered message (API +
 *    informer + EdgeController + CloudHub).
 * 2. CloudHub raw delivery (baseline): the server puts the same pod-insert messages straight onto
 *    the bus to `cloudhub` at the rate phase 1 achieved; same latency and CPU figures.
 * The ratios EC/raw are the figures to compare across machines.
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { startEmbeddedApi } from "../apiserver/mod.ts";
import { createCA, signCSR, signServerCert, toPem } from "../pki/mod.ts";
import { createEdgeCsr } from "../edge/pki.ts";
import { EdgeClient } from "../edge/client.ts";
import { CloudHub } from "../hub/cloudhub.ts";
import { Bus } from "../modules/bus.ts";
import { buildMessage, type Message } from "../modules/message.ts";
import { setLogLevel } from "../lib/log.ts";
import { KubeClient } from "../kube/mod.ts";
import { EdgeController } from "../controllers/edge/mod.ts";
import { BENCH_CHILD_FLAGS } from "../harness/flags.ts";
import { readLines } from "../harness/lines.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    nodes: { type: "string", default: "1000" },
    pods: { type: "string", default: "10000" },
    concurrency: { type: "string", default: "32" },
    role: { type: "string", default: "driver" },
  },
});

const encoder = new TextEncoder();

function nodeName(i: number): string {
  return `bench-edge-${i}`;
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

// ---------------------------------------------------------------- server (child process)

async function server(): Promise<void> {
  setLogLevel("error");
  const nodes = Number(args.nodes);
  const dataDir = await Deno.makeTempDir({ prefix: "ec-bench-" });
  const api = await startEmbeddedApi({ dataDir, port: 0 });
  const kube = KubeClient.fromYaml(api.kubeconfigYaml, { qps: 0, nodeLimit: nodes });
  const ids = Array.from({ length: nodes }, (_, i) => i);
  await pool(ids, 32, async (i) => {
    await kube.create("/api/v1/nodes", {
      metadata: { name: nodeName(i), labels: { "node-role.kubernetes.io/edge": "" } },
    });
  });
  const ca = await createCA();
  const serverCert = await signServerCert(ca, { ips: ["127.0.0.1"], dnsNames: ["localhost"] });
  const csr = await createEdgeCsr("bench");
  const clientCertPem = toPem(
    await signCSR(ca, csr.csrDer, { extKeyUsages: [], validityDays: 1 }),
    "CERTIFICATE",
  );
  const bus = new Bus({ inboxCapacity: 4096 });
  const busAt = new Map<string, number>();
  const hub = new CloudHub({
    tls: { certPem: serverCert.certPem, keyPem: serverCert.keyPem, caPem: ca.certPem },
    websocket: { address: "127.0.0.1", port: 0 },
    monitor: { enable: false },
    nodeLimit: nodes + 10,
    // One shared client certificate: the benchmark measures delivery, not per-node identity.
    authorization: false,
  });
  await hub.start({ bus });
  // EdgeController gets its own bus whose `cloudhub` is a relay that stamps the hand-over time.
  const ecBus = new Bus({ inboxCapacity: 4096 });
  ecBus.addModule("cloudhub");
  ecBus.addModule("edgecontroller");
  (async () => {
    for (;;) {
      try {
        const m = await ecBus.receive("cloudhub");
        if (m.route.resource?.includes("/pod/pod-")) {
          busAt.set(m.route.resource, performance.timeOrigin + performance.now());
        }
        await bus.send("cloudhub", m);
      } catch {
        return;
      }
    }
  })();
  const ec = new EdgeController({
    kube,
    nodeLimit: nodes,
    sendServicesToEdges: false,
    localIp: "127.0.0.1",
  });
  await ec.start({ bus: ecBus });

  const out = (o: unknown) => Deno.stdout.write(encoder.encode(JSON.stringify(o) + "\n"));
  await out({
    ready: true,
    ws: `127.0.0.1:${hub.ports.websocket}`,
    kubeconfig: api.kubeconfigYaml,
    caPem: ca.certPem,
    certPem: clientCertPem,
    keyPem: csr.keyPem,
  });
  for await (const line of readLines(Deno.stdin.readable)) {
    const cmd = JSON.parse(line);
    if (cmd.cmd === "times") {
      await out({ times: Object.fromEntries(busAt) });
    } else if (cmd.cmd === "cpu") {
      await out({ cpu: cpuMicros() });
    } else if (cmd.cmd === "raw") {
      // Same messages EdgeController would send, paced at `rate` msgs/s.
      const count: number = cmd.count;
      const interval = 1000 / cmd.rate;
      const start = performance.now();
      for (let i = 0; i < count; i++) {
        const due = start + i * interval;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        const name = `raw-${i}`;
        const node = nodeName(i % nodes);
        const rv = String(1_000_000 + i);
        const msg: Message = buildMessage({
          source: "edgecontroller",
          group: "resource",
          operation: "insert",
          resource: `node/${node}/default/pod/${name}`,
        }, {
          kind: "Pod",
          apiVersion: "v1",
          metadata: {
            name,
            namespace: "default",
            uid: crypto.randomUUID(),
            resourceVersion: rv,
            annotations: { t0: String(performance.timeOrigin + performance.now()) },
          },
          spec: { nodeName: node, containers: [{ name: "c", image: "nginx" }] },
        }, { resourceVersion: rv });
        await bus.send("cloudhub", msg);
      }
      await out({ sent: count });
    } else if (cmd.cmd === "stop") {
      break;
    }
  }
  await ec.stop();
  await hub.stop();
  ecBus.close();
  bus.close();
  await kube.close();
  await api.close();
  await Deno.remove(dataDir, { recursive: true });
  await out({ stopped: true });
}

// ---------------------------------------------------------------- driver

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function driver(): Promise<void> {
  setLogLevel("error");
  const nodes = Number(args.nodes);
  const pods = Number(args.pods);
  const concurrency = Number(args.concurrency);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...BENCH_CHILD_FLAGS,
      "--unstable-kv",
      "--unstable-net",
      new URL(import.meta.url).pathname,
      "--role",
      "server",
      "--nodes",
      String(nodes),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const replies = readLines(child.stdout);
  const writer = child.stdin.getWriter();
  const ask = async (cmd: unknown) => {
    await writer.write(encoder.encode(JSON.stringify(cmd) + "\n"));
    const r = await replies.next();
    return JSON.parse(r.value as string);
  };
  const setupStart = performance.now();
  const ready = JSON.parse((await replies.next()).value as string);
  console.log(
    `server ready: ${nodes} edge nodes, API + CloudHub + EdgeController (${
      Math.round(performance.now() - setupStart)
    } ms)`,
  );

  const t0 = new Map<string, number>();
  const t1 = new Map<string, number>();
  const ecLat: number[] = [];
  const frameAt = new Map<string, number>();
  const wallAt = new Map<string, number>();
  const rawLat: number[] = [];
  let ecDone = 0;
  let rawDone = 0;
  const clients: EdgeClient[] = [];
  const onMsg = (m: Message) => {
    if (m.route.operation !== "insert" || !m.route.resource?.startsWith("default/pod/")) return;
    const name = m.route.resource.slice("default/pod/".length);
    if (name.startsWith("raw-")) {
      // deno-lint-ignore no-explicit-any
      const sent = Number((m.content as any)?.metadata?.annotations?.t0);
      rawLat.push(performance.timeOrigin + performance.now() - sent);
      rawDone++;
    } else {
      const start = t0.get(name);
      if (start !== undefined) {
        const now = performance.now();
        ecLat.push(now - start);
        frameAt.set(name, now);
        wallAt.set(name, performance.timeOrigin + now);
        ecDone++;
      }
    }
  };
  const connectStart = performance.now();
  await pool(Array.from({ length: nodes }, (_, i) => i), 50, async (i) => {
    const c = new EdgeClient({
      server: ready.ws,
      nodeName: nodeName(i),
      caPem: ready.caPem,
      certPem: ready.certPem,
      keyPem: ready.keyPem,
      heartbeat: 15,
    });
    c.onMessage(onMsg);
    await c.connect();
    clients.push(c);
  });
  console.log(
    `${nodes} edge clients connected over mTLS WebSocket (${
      Math.round(performance.now() - connectStart)
    } ms)`,
  );

  const kube = KubeClient.fromYaml(ready.kubeconfig, { qps: 0 });
  const waitAll = async (done: () => number, n: number, what: string) => {
    const deadline = Date.now() + 300_000;
    while (done() < n) {
      if (Date.now() > deadline) throw new Error(`${what}: only ${done()}/${n} delivered`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  // Phase 1: pods through the API.
  const cpu0 = (await ask({ cmd: "cpu" })).cpu;
  const ecStart = performance.now();
  await pool(Array.from({ length: pods }, (_, i) => i), concurrency, async (i) => {
    const name = `pod-${i}`;
    t0.set(name, performance.now());
    await kube.create("/api/v1/namespaces/default/pods", {
      metadata: { name },
      spec: { nodeName: nodeName(i % nodes), containers: [{ name: "c", image: "nginx" }] },
    });
    t1.set(name, performance.now());
  });
  await waitAll(() => ecDone, pods, "EdgeController path");
  const ecWall = performance.now() - ecStart;
  const cpu1 = (await ask({ cmd: "cpu" })).cpu;
  // Where the time goes: the relay in the server stamped when EdgeController handed each
  // message to cloudhub (wall clock, same host).
  const times = (await ask({ cmd: "times" })).times as Record<string, number>;
  const handoverAt = (n: string) =>
    times[`node/${nodeName(Number(n.slice(4)) % nodes)}/default/pod/${n}`];
  const toHandover = [...t1].map(([n, at]) => handoverAt(n) - (performance.timeOrigin + at));
  const toFrame = [...wallAt].map(([n, at]) => at - handoverAt(n));
  const ecRate = pods / (ecWall / 1000);

  // Phase 2: raw CloudHub delivery of the same messages at the same rate.
  const cpu2 = (await ask({ cmd: "cpu" })).cpu;
  const rawStart = performance.now();
  await ask({ cmd: "raw", count: pods, rate: ecRate });
  await waitAll(() => rawDone, pods, "raw CloudHub path");
  const rawWall = performance.now() - rawStart;
  const cpu3 = (await ask({ cmd: "cpu" })).cpu;

  // From the POST's response (write committed) to the frame; negative when the frame won.
  const commitLat = [...frameAt].map(([n, at]) => at - (t1.get(n) ?? at)).sort((a, b) => a - b);
  const postLat = [...t1].map(([n, at]) => at - (t0.get(n) ?? at)).sort((a, b) => a - b);
  ecLat.sort((a, b) => a - b);
  rawLat.sort((a, b) => a - b);
  const ecCpu = (cpu1 - cpu0) / pods;
  const rawCpu = (cpu3 - cpu2) / pods;
  const f = (x: number) => x.toFixed(2);
  console.log(`nodes=${nodes} pods=${pods} concurrency=${concurrency}`);
  console.log(
    `EdgeController (API POST -> edge frame): p50=${f(percentile(ecLat, 50))} ms p99=${
      f(percentile(ecLat, 99))
    } ms ` +
      `rate=${ecRate.toFixed(0)} msg/s server CPU=${ecCpu.toFixed(0)} µs/msg`,
  );
  console.log(
    `  of which API POST round trip: p50=${f(percentile(postLat, 50))} ms p99=${
      f(percentile(postLat, 99))
    } ms; ` +
      `POST response -> edge frame: p50=${f(percentile(commitLat, 50))} ms p99=${
        f(percentile(commitLat, 99))
      } ms`,
  );
  const sorted = (a: number[]) => a.filter((x) => !Number.isNaN(x)).sort((x, y) => x - y);
  const h = sorted(toHandover);
  const fr = sorted(toFrame);
  console.log(
    `  POST response -> EdgeController hands it to cloudhub (API watch + informer + EC): ` +
      `p50=${f(percentile(h, 50))} ms p99=${f(percentile(h, 99))} ms; ` +
      `hand-over -> edge frame (CloudHub): p50=${f(percentile(fr, 50))} ms p99=${
        f(percentile(fr, 99))
      } ms`,
  );
  console.log(
    `CloudHub raw (bus -> edge frame, same rate): p50=${f(percentile(rawLat, 50))} ms p99=${
      f(percentile(rawLat, 99))
    } ms ` +
      `rate=${(pods / (rawWall / 1000)).toFixed(0)} msg/s server CPU=${rawCpu.toFixed(0)} µs/msg`,
  );
  console.log(
    `ratio EC/raw: p50 ${f(percentile(ecLat, 50) / percentile(rawLat, 50))}x, p99 ${
      f(percentile(ecLat, 99) / percentile(rawLat, 99))
    }x, CPU ${f(ecCpu / rawCpu)}x`,
  );

  await kube.close();
  await Promise.all(clients.map((c) => c.close()));
  await ask({ cmd: "stop" });
  await writer.close();
  await child.status;
}

if (import.meta.main) {
  if (args.role === "server") await server();
  else await driver();
}
