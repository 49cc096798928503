/**
 * Scenario `fanout`: downstream messages with ACK to 1,000 nodes, edgecloud vs a raw `npm:ws`
 * server measured in the same run.
 *
 *   deno task bench:fanout [--nodes 1000] [--waves 60] [--waves-per-round 5] [--sync-write-concurrency N] [--profile]
 *
 * `--profile` takes a CPU profile of the hub process over the waves (bench/results/
 * fanout-hub.cpuprofile) and prints self time by file.
 *
 * edgecloud: the hub (embedded API + CloudHub + EdgeController + SyncController) in its own
 * process; 1,000 simulated nodes in this process, each running one pod that references ConfigMap
 * `fan`. Each wave updates the ConfigMap once through the API; EdgeController fans it out to all
 * 1,000 nodes on the ACK path (queue, ObjectSync record, write, edge ACK). A wave runs from just
 * before the PATCH is sent to the moment the last node decodes the new version (timed by the
 * clients' observer; until Nov 2026 it ended when a 1 ms poll, started only after the PATCH's
 * response arrived, next looked: 2-23 ms late per wave, as that response reached this busy
 * process after the frames). Rate = nodes × waves / total wave time.
 *
 * Baseline: a plain `ws` server with the same mTLS in its own process, and the same 1,000
 * simulated edge nodes (same client code, same ACKs, keepalives, node status and lease
 * traffic), so the ratio compares the servers, not two client codes. Each wave sends the
 * ConfigMap message JSON captured from the hub (encoded once, a fresh message id per wave) to
 * every node and waits for all ACKs.
 *
 * Both setups stay connected for the whole run and take turns in rounds: `--waves-per-round`
 * edgecloud waves back to back, then as many raw waves while the hub process is stopped
 * (SIGSTOP, then SIGCONT), so each side runs alone on the machine like in a
 * run of its own, and both see the same stretch of a shared host. Until Nov 2026 all edgecloud
 * waves ran in one block and all raw waves in a second one after the hub had exited; the ratio
 * moved between 0.45 and 0.81 from one run to the next. Stopping the hub instead of leaving it
 * idle matters: its fleet's node status and lease traffic keeps it at ~20 % of a core, which
 * the raw server (it handles none of that) would otherwise pay for. After SIGCONT the hub first
 * catches up with what queued up while it was stopped (see `settle`), then runs one unmeasured
 * wave, so each measured wave overlaps the previous wave's tail (ACKs, success points) exactly
 * as in a continuous run. Until Nov 2026 the first wave of each round also carried that
 * backlog, 20-30 ms more than the others. The ratio is of the median wave rates.
 *
 * With `--cloudcore <path>` (or CLOUDCORE_BIN), real cloudcore takes a third turn in every
 * round on the same work: its own 1,000 simulated nodes (same client code, each bootstrapped
 * through cloudcore's cert server), a pod per node using ConfigMap `fan`, one PATCH per wave
 * through its API (an edgecloud API-only process beside it, see harness/cloudcore_hub.ts), timed
 * until its last node decodes the change. cloudcore and its API are stopped (SIGSTOP) while the
 * others run, and the hub while cloudcore runs. Its CPU per message is reported for cloudcore
 * alone and with its API (edgecloud's hub figure includes its embedded API).
 */
import { parseArgs } from "node:util";
import { spawnHub } from "../../harness/hub_launcher.ts";
import { createBenchPki, NodeCertIssuer } from "../../harness/pki.ts";
import { printTable, sleep, writeResult } from "../lib/report.ts";
import { EdgeSimulator } from "../../edge/sim/mod.ts";
import { KubeClient } from "../../kube/mod.ts";
import { encodeMessage, type Message } from "../../modules/message.ts";
import { setLogLevel } from "../../lib/log.ts";
import { BENCH_CHILD_FLAGS } from "../../harness/flags.ts";
import { readLines } from "../../harness/lines.ts";
import { waitForEdgeNodes, waitForReadyNodes } from "../lib/edge_nodes.ts";
import { CpuProfiler, printTopFiles, type ProfileSummary } from "../lib/cpu_profile.ts";
import { cpuSeconds } from "../../harness/proc.ts";
import process from "node:process";
import { trackChild } from "../../harness/children.ts";
import { obtainCredentials } from "../../edge/sim/credentials.ts";
import type { CloudcoreHub } from "../../harness/cloudcore_hub.ts";
import { cloudcoreBin, cloudcoreChoice, pause, resume, sideBySide } from "../lib/hubs.ts";

setLogLevel("error");
const { values } = parseArgs({
  args: Deno.args,
  options: {
    nodes: { type: "string", default: "1000" },
    waves: { type: "string", default: "60" },
    "waves-per-round": { type: "string", default: "5" },
    "sync-write-concurrency": { type: "string" },
    profile: { type: "boolean", default: false },
    cloudcore: { type: "string" },
  },
});
const nodes = Number(values.nodes);
const waves = Number(values.waves);
const perRound = Math.max(1, Number(values["waves-per-round"]));

const dataDir = await Deno.makeTempDir({ prefix: "bench-fanout-" });
const pki = await createBenchPki();
const issuer = new NodeCertIssuer(pki);

/** The next line of `stream` on each call; rejects once the child has closed it. */
function lines(stream: ReadableStream<Uint8Array>): () => Promise<string> {
  const it = readLines(stream);
  return async (): Promise<string> => {
    const { value, done } = await it.next();
    if (done) throw new Error("child closed");
    return value;
  };
}

// ---------- edgecloud ----------
const swc = values["sync-write-concurrency"];
const inspectPort = 9340;
let profile: ProfileSummary | undefined;
const hub = await spawnHub({
  pki,
  dataDir,
  nofile: 65536,
  syncWriteConcurrency: swc ? Number(swc) : undefined,
  denoFlags: values.profile ? [`--inspect=127.0.0.1:${inspectPort}`] : [],
});
const kube = KubeClient.fromYaml(await Deno.readTextFile(hub.kubeconfigPath), { qps: 0 });
const seen = new Map<string, number>(); // rv → nodes that decoded it
const firstSeen = new Map<string, number>(); // rv → when the first node decoded it
const allSeen = new Map<string, number>(); // rv → when the last of `nodes` decoded it
/** A running wave's waiter: resolved by the observer when every node has decoded `rv`. */
type Waiter = { rv: string; resolve: () => void } | undefined;
let waveDone: Waiter;
let sample: Message | undefined;
/**
 * Counts the wave messages the clients decode. Both sides' clients run it, so they do the
 * same work per message (the raw side's waves end on the raw server's ACK count instead).
 */
function observer(
  seenBy: Map<string, number>,
  first: Map<string, number>,
  all?: typeof allSeen,
  waiter: () => Waiter = () => waveDone,
) {
  return (_n: string, msg: Message) => {
    if (msg.route.resource !== "default/configmap/fan" || msg.route.operation === "response") {
      return;
    }
    sample ??= msg;
    const rv = msg.header.resourceVersion ?? "";
    const now = performance.now();
    if (!first.has(rv)) first.set(rv, now);
    const n = (seenBy.get(rv) ?? 0) + 1;
    seenBy.set(rv, n);
    if (n === nodes && all) {
      all.set(rv, now);
      const w = waiter();
      if (w?.rv === rv) w.resolve();
    }
  };
}
const sim = new EdgeSimulator({
  nodes,
  server: hub.server,
  credentials: (n) => issuer.credentials(n),
  namePrefix: "fan-",
  heartbeat: 15,
  connectConcurrency: 64,
  podStatus: false,
  observe: observer(seen, firstSeen, allSeen),
});
// ---------- raw ws baseline ----------
const raw = trackChild(new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--no-check",
    ...BENCH_CHILD_FLAGS,
    new URL("../lib/raw_ws_server.ts", import.meta.url).pathname,
    JSON.stringify({
      certPem: pki.server.certPem,
      keyPem: pki.server.keyPem,
      caPem: pki.ca.certPem,
    }),
  ],
  stdin: "piped",
  stdout: "piped",
  stderr: "inherit",
}).spawn());
const readRaw = lines(raw.stdout);
const rawIn = raw.stdin.getWriter();
const rawCall = async (cmd: unknown) => {
  await rawIn.write(new TextEncoder().encode(JSON.stringify(cmd) + "\n"));
  return JSON.parse(await readRaw());
};
const { port } = JSON.parse(await readRaw());
// The same edge simulator as on the edgecloud side (same decode, ACK, bookkeeping, keepalives,
// node status and lease traffic), so the ratio compares the servers and not two client codes.
const rawSim = new EdgeSimulator({
  nodes,
  server: `127.0.0.1:${port}`,
  credentials: (n) => issuer.credentials(n),
  namePrefix: "fan-",
  heartbeat: 15,
  connectConcurrency: 64,
  podStatus: false,
  observe: observer(new Map(), new Map()),
});

// ---------- cloudcore (optional) ----------
const ccChoice = cloudcoreChoice(cloudcoreBin(values.cloudcore), { nodeLimit: nodes * 2 });
let cc: CloudcoreHub | undefined;
let ccKube: KubeClient | undefined;
let ccSim: EdgeSimulator | undefined;
const ccSeen = new Map<string, number>();
const ccFirst = new Map<string, number>();
const ccAll = new Map<string, number>();
let ccWaveDone: Waiter;
const ccWaves: number[] = [];
let ccDelivered = 0;
let ccStopped = false;
let ccFailure = "";

/**
 * Starts cloudcore with its fleet and pods. cloudcore forgets for good a pod created before it
 * knows the pod's node as an edge node, so pods come after every Node is Ready; and it sends a
 * ConfigMap when the ConfigMap changes, not with a pod that uses it (the edge asks for it;
 * edge-sim does not), so one unmeasured wave brings every node up to date.
 */
async function startCloudcoreSide(): Promise<void> {
  cc = (await ccChoice!.start(`${dataDir}/cloudcore`)) as CloudcoreHub;
  ccKube = KubeClient.fromYaml(await Deno.readTextFile(cc.kubeconfigPath), { qps: 0 });
  const names = Array.from({ length: nodes }, (_, i) => `fan-${i}`);
  console.log(`${ccChoice!.label}: bootstrapping ${nodes} nodes through its cert server`);
  const creds = await obtainCredentials(names, {
    certServer: cc.certServer,
    token: cc.token,
    concurrency: 32,
  });
  ccSim = new EdgeSimulator({
    nodes,
    server: cc.server,
    credentials: (n) => creds.get(n)!,
    namePrefix: "fan-",
    heartbeat: 15,
    connectConcurrency: 64,
    podStatus: false,
    observe: observer(ccSeen, ccFirst, ccAll, () => ccWaveDone),
  });
  await ccSim.start();
  await ccSim.waitUntil((st) => st.connected === nodes, 180_000, "all nodes connected (cloudcore)");
  await waitForReadyNodes(ccKube, nodes);
  await createFanWork(ccKube);
  // A node that holds its pod is in cloudcore's location cache for the ConfigMap.
  await ccSim.waitUntil(
    () =>
      ccSim!.nodes.every((n) => [...n.objects.keys()].some((k) => k.startsWith("default/pod/"))),
    180_000,
    "every node has its pod (cloudcore)",
  );
  await ccWave("warm-0");
}

/** ConfigMap `fan` and one pod per node that uses it. */
async function createFanWork(k: KubeClient): Promise<void> {
  await k.create("/api/v1/namespaces/default/configmaps", {
    metadata: { name: "fan", namespace: "default" },
    data: { v: "0" },
  });
  for (let i = 0; i < nodes; i += 50) {
    await Promise.all(
      Array.from(
        { length: Math.min(50, nodes - i) },
        (_, k2) =>
          k.create("/api/v1/namespaces/default/pods", {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: `fan-pod-${i + k2}`, namespace: "default" },
            spec: {
              nodeName: `fan-${i + k2}`,
              containers: [{
                name: "c",
                image: "nginx",
                envFrom: [{ configMapRef: { name: "fan" } }],
              }],
            },
          }),
      ),
    );
  }
}

/** One ConfigMap change through cloudcore's API, until its last node decoded it; returns ms. */
async function ccWave(v: string): Promise<{ rv: string; ms: number }> {
  const t0 = performance.now();
  const cm = await ccKube!.patch("/api/v1/namespaces/default/configmaps/fan", {
    data: { v },
  }) as { metadata: { resourceVersion: string } };
  const rv = cm.metadata.resourceVersion;
  if (!ccAll.has(rv)) {
    const done = Promise.withResolvers<void>();
    ccWaveDone = { rv, resolve: done.resolve };
    const timer = setTimeout(done.resolve, 60_000);
    await done.promise;
    clearTimeout(timer);
    ccWaveDone = undefined;
  }
  if (!ccAll.has(rv)) {
    throw new Error(`cloudcore: wave ${v} reached ${ccSeen.get(rv) ?? 0}/${nodes} nodes in 60 s`);
  }
  return { rv, ms: ccAll.get(rv)! - t0 };
}

/** CPU seconds spent during one side's waves: its server process, and this process (clients). */
const cpu = { hub: 0, hubClients: 0, raw: 0, rawClients: 0, cc: 0, ccApi: 0, ccClients: 0 };
/** Runs `wave` and adds the CPU both processes spent meanwhile to `cpu`. */
async function measured<T>(
  server: number,
  side: "hub" | "raw" | "cc",
  wave: () => Promise<T>,
): Promise<T> {
  const s0 = cpuSeconds(server);
  const a0 = side === "cc" && cc!.apiPid ? cpuSeconds(cc!.apiPid) : 0;
  const c0 = process.cpuUsage();
  const out = await wave();
  cpu[side] += cpuSeconds(server) - s0;
  if (side === "cc" && cc!.apiPid) cpu.ccApi += cpuSeconds(cc!.apiPid) - a0;
  const d = process.cpuUsage(c0);
  cpu[side === "hub" ? "hubClients" : side === "raw" ? "rawClients" : "ccClients"] +=
    (d.user + d.system) / 1e6;
  return out;
}

/**
 * Waits after SIGCONT until the hub has caught up with what reached it while it was stopped:
 * its fleet's node status, lease and keepalive messages of the raw turn, and the success-point
 * token bucket refilled meanwhile. In a run of its own that work is spread over time rather
 * than landing in the first wave of each round (those waves were 20-30 ms longer than the
 * rest). Done once a 50 ms window shows at most one 10 ms CPU tick (the steady background,
 * paced success points and the fleet's reports, stays under that), at most 1 s. Returns ms.
 */
async function settle(pids: number[], maxMs = 1000): Promise<number> {
  const t0 = performance.now();
  let before = pids.map(cpuSeconds);
  while (performance.now() - t0 < maxMs) {
    await sleep(50);
    const now = pids.map(cpuSeconds);
    if (now.every((t, i) => t - before[i] <= 0.01)) break;
    before = now;
  }
  return performance.now() - t0;
}
const settles: number[] = [];
const ccSettles: number[] = [];

let hubDelivered = 0;
const hubWaves: number[] = [];
/** API write → first node's frame, per wave (the part the raw baseline has no counterpart for). */
const hubFirst: number[] = [];
const baseWaves: number[] = [];
let hubSummary: ReturnType<EdgeSimulator["summary"]> | undefined;
let hubStopped = false;
try {
  await sim.start();
  await sim.waitUntil((s) => s.connected === nodes, 180_000, "all nodes connected");
  await waitForEdgeNodes(kube, nodes);
  await createFanWork(kube);
  // Every node holds its pod (and so is in the ConfigMap's location set) before the waves.
  await sim.waitUntil(
    () => sim.nodes.every((n) => [...n.objects.keys()].some((k) => k.startsWith("default/pod/"))),
    120_000,
    "every node has its pod",
  );
  await sim.waitUntil(() => sample !== undefined, 60_000, "the ConfigMap reached a node");
  await rawSim.start();
  await rawSim.waitUntil((st) => st.connected === nodes, 180_000, "all nodes connected (raw)");
  const payload = encodeMessage(sample!) + "\n";
  if (ccChoice) {
    try {
      await startCloudcoreSide();
    } catch (err) {
      ccFailure = (err as Error).message;
      console.log(`cloudcore: ${ccFailure}`);
    }
    if (cc) {
      pause(cc);
      ccStopped = true;
    }
  }
  await sleep(2000);
  console.log(`${nodes} nodes on each side; ${waves} ConfigMap waves each, alternating`);
  const profiler = values.profile ? await CpuProfiler.attach(inspectPort) : undefined;
  await profiler?.start();
  /** One ConfigMap change through the API, until the last node has decoded it; returns ms. */
  const hubWave = async (v: string) => {
    const t0 = performance.now();
    const cm = await kube.patch("/api/v1/namespaces/default/configmaps/fan", {
      data: { v },
    }) as { metadata: { resourceVersion: string } };
    const rv = cm.metadata.resourceVersion;
    // The wave ends when the last node decodes it, timed by the observer itself: the PATCH's
    // response may reach this process after that (its event loop is busy with 1,000 nodes'
    // frames), and neither that delay nor a polling interval belongs to the hub's time.
    if (!allSeen.has(rv)) {
      const done = Promise.withResolvers<void>();
      waveDone = { rv, resolve: done.resolve };
      const timer = setTimeout(done.resolve, 30_000);
      await done.promise;
      clearTimeout(timer);
      waveDone = undefined;
    }
    return { rv, t0, ms: (allSeen.get(rv) ?? performance.now()) - t0 };
  };
  for (let w = 1; w <= waves; w++) {
    if ((w - 1) % perRound === 0) {
      // A round starts with an unmeasured wave, so that every measured wave shares the machine
      // with the tail of the one before it (its ACKs and success points) as in a continuous
      // run; the last wave's tail before the stop is no one's, like the first wave's ever.
      await hubWave(`warm-${w}`);
    }
    await measured(hub.pid, "hub", async () => {
      const { rv, t0, ms } = await hubWave(String(w));
      const first = (firstSeen.get(rv) ?? NaN) - t0;
      hubFirst.push(first);
      hubWaves.push(ms);
      hubDelivered += seen.get(rv) ?? 0;
      console.log(
        `wave ${w}: edgecloud ${seen.get(rv) ?? 0}/${nodes} nodes in ${ms.toFixed(0)} ms ` +
          `(first node after ${first.toFixed(0)} ms)`,
      );
    });
    if (w % perRound !== 0 && w < waves) continue;
    // The raw side's turn: as many waves as the hub just ran, with the hub stopped.
    Deno.kill(hub.pid, "SIGSTOP");
    hubStopped = true;
    for (let r = hubWaves.length - baseWaves.length; r > 0; r--) {
      const { ms } = await measured(raw.pid, "raw", () => rawCall({ cmd: "wave", payload }));
      baseWaves.push(ms);
      console.log(`wave ${baseWaves.length}: raw ${nodes}/${nodes} nodes in ${ms.toFixed(0)} ms`);
    }
    // cloudcore's turn, with the hub still stopped.
    if (cc && !ccFailure) {
      resume(cc);
      ccStopped = false;
      // cloudcore works off what queued while it was stopped through its API (a GET and a PUT
      // per node status, one worker), which takes it longer than the hub: up to 10 s, until
      // both it and its API are quiet.
      ccSettles.push(await settle(cc.apiPid ? [cc.pid, cc.apiPid] : [cc.pid], 10_000));
      try {
        await ccWave(`warm-${w}`);
        for (let r = hubWaves.length - ccWaves.length; r > 0; r--) {
          const { rv, ms } = await measured(cc.pid, "cc", () => ccWave(String(w * 1000 + r)));
          ccWaves.push(ms);
          ccDelivered += ccSeen.get(rv) ?? 0;
          console.log(
            `wave ${ccWaves.length}: cloudcore ${ccSeen.get(rv)}/${nodes} nodes in ${
              ms.toFixed(0)
            } ms`,
          );
        }
      } catch (err) {
        ccFailure = (err as Error).message;
        console.log(ccFailure);
      }
      pause(cc);
      ccStopped = true;
    }
    Deno.kill(hub.pid, "SIGCONT");
    hubStopped = false;
    if (w < waves) settles.push(await settle([hub.pid]));
  }
  if (profiler) {
    profile = await profiler.stop(
      new URL("../results/fanout-hub.cpuprofile", import.meta.url).pathname,
    );
    printTopFiles(profile, "hub");
  }
} finally {
  if (hubStopped) Deno.kill(hub.pid, "SIGCONT");
  if (cc && ccStopped) resume(cc);
  await ccSim?.stop();
  await ccKube?.close();
  await cc?.kill();
  hubSummary = sim.summary();
  await sim.stop();
  await rawSim.stop();
  await rawCall({ cmd: "stop" }).catch(() => {});
  await raw.status;
  await kube.close();
  await hub.kill("SIGTERM");
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
}

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
// Per-wave rates; the headline ratio is of their medians (a wave that met a GC pause or a
// neighbour's burst on either side moves a mean, not the median).
const hubRate = nodes / (med(hubWaves) / 1000);
const baseRate = nodes / (med(baseWaves) / 1000);
const ratio = hubRate / baseRate;
const meanRatio = (hubDelivered / sum(hubWaves)) / ((nodes * waves) / sum(baseWaves));
const rows: (string | number)[][] = [
  ["side", "msgs delivered+ACKed", "total s", "median wave ms", "msgs/s (median wave)"],
  [
    "edgecloud (API → edge, ACKed)",
    hubDelivered,
    (sum(hubWaves) / 1000).toFixed(2),
    med(hubWaves).toFixed(1),
    hubRate.toFixed(0),
  ],
  [
    "raw npm:ws (same mTLS, ACKed)",
    nodes * waves,
    (sum(baseWaves) / 1000).toFixed(2),
    med(baseWaves).toFixed(1),
    baseRate.toFixed(0),
  ],
  ["ratio edgecloud / raw", "", "", "", ratio.toFixed(2)],
];
console.log();
printTable(rows);
const perMsgUs = (s: number, msgs: number) => Math.round(s / Math.max(1, msgs) * 1e6);
const cpuLine = `CPU during the waves, µs per message: edgecloud hub ${
  perMsgUs(cpu.hub, hubDelivered)
}, its edge clients ${perMsgUs(cpu.hubClients, hubDelivered)}; raw server ${
  perMsgUs(cpu.raw, nodes * waves)
}, its clients ${perMsgUs(cpu.rawClients, nodes * waves)}`;
// Each side's server and its clients share the machine's cores, so on a small machine the wave
// rate follows the two processes' CPU together: this ratio is what the rate ratio tends to.
const cpuRatio = (perMsgUs(cpu.raw, nodes * waves) + perMsgUs(cpu.rawClients, nodes * waves)) /
  Math.max(1, perMsgUs(cpu.hub, hubDelivered) + perMsgUs(cpu.hubClients, hubDelivered));
const cpuRatioLine = `ratio of CPU per message, server + clients (raw / edgecloud): ${
  cpuRatio.toFixed(2)
}`;
console.log(cpuLine);
console.log(cpuRatioLine);
const ccRate = ccWaves.length ? nodes / (med(ccWaves) / 1000) : undefined;
const ccMsgs = Math.max(1, ccDelivered);
const compare = [
  ["figure", "edgecloud", ccChoice?.label ?? "cloudcore", "edgecloud / cloudcore"],
  sideBySide("ACKed messages per second (median wave)", hubRate, ccRate, 0),
  sideBySide("median wave, ms", med(hubWaves), ccRate ? med(ccWaves) : undefined, 1),
  sideBySide(
    "hub CPU per message, µs (edgecloud: with its embedded API)",
    perMsgUs(cpu.hub, hubDelivered),
    ccRate ? perMsgUs(cpu.cc + cpu.ccApi, ccMsgs) : undefined,
    0,
  ),
  sideBySide(
    "hub CPU per message, µs (cloudcore alone)",
    perMsgUs(cpu.hub, hubDelivered),
    ccRate ? perMsgUs(cpu.cc, ccMsgs) : undefined,
    0,
  ),
];
console.log();
printTable(compare);
if (ccFailure) console.log(`cloudcore: ${ccFailure}`);
console.log(`ratio of total wave times (mean rates): ${meanRatio.toFixed(2)}`);
await writeResult({
  scenario: swc ? `fanout-swc${swc}` : "fanout",
  command: `deno task bench:fanout ${Deno.args.join(" ")}`.trim(),
  headline: {
    nodes,
    waves,
    hubMsgsPerSec: Math.round(hubRate),
    rawMsgsPerSec: Math.round(baseRate),
    ratio: Math.round(ratio * 100) / 100,
    meanRatio: Math.round(meanRatio * 100) / 100,
    cpuRatio: Math.round(cpuRatio * 100) / 100,
    lost: nodes * waves - hubDelivered,
    duplicatesAfterAck: hubSummary?.duplicatesAfterAck ?? 0,
    cloudcore: ccChoice ? ccChoice.label : "not run",
    cloudcoreMsgsPerSec: ccRate ? Math.round(ccRate) : ccChoice ? "failed" : "not run",
  },
  table: rows,
  compare,
  targets: [{
    name: "fanout vs raw ws",
    target: ">= 0.90",
    value: ratio.toFixed(2),
    met: ratio >= 0.9,
  }],
  details: {
    hubWaves,
    hubFirstFrameMs: hubFirst,
    settleMs: settles.map((ms) => Math.round(ms)),
    baseWaves,
    cloudcoreWaves: ccWaves,
    cloudcoreSettleMs: ccSettles.map((ms) => Math.round(ms)),
    cloudcoreFailure: ccFailure || undefined,
    cpuSeconds: cpu,
    sim: hubSummary,
    profile,
  },
  notes: [
    "edgecloud waves include the API write, the watch event and EdgeController's fan-out; the raw side starts at the send",
    `the two setups take turns of ${perRound} waves, both connected throughout; the hub is ` +
    "stopped (SIGSTOP) during the raw turns; ratio = median-wave rates",
    `ratio of total wave times: ${meanRatio.toFixed(2)}`,
    cpuLine,
    cpuRatioLine,
    ccChoice
      ? `${ccChoice.label} took a third turn per round on its own 1,000 nodes and API ` +
        "(stopped while the others ran)"
      : "cloudcore: not run (give --cloudcore <path> or CLOUDCORE_BIN)",
  ],
});
