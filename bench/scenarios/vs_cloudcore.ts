/**
 * Scenario `vs-cloudcore`: edgecloud's hub and real cloudcore (KubeEdge v1.23.1, built by hand;
 * its path in `--cloudcore` or CLOUDCORE_BIN) side by side in one run, on the same machine, each
 * with its own API (an edgecloud API-only process, so neither hub's RSS includes an API) and its
 * own fleet of `--nodes` edge-sim nodes (same client code, each node bootstrapped with a join
 * token, its own certificate, then an mTLS session with keepalives).
 *
 * Figures, for both hubs and their ratio:
 * - hub RSS per connected node (RSS with the fleet minus RSS before it, over nodes);
 * - fan-out: one ConfigMap that a pod on every node uses is updated (`--waves` times, the two
 *   hubs alternating), timed until every node has the new version; ACKed messages per second and
 *   hub CPU per message.
 *
 *   CLOUDCORE_BIN=... deno task bench:vs-cloudcore [--nodes 1000] [--waves 10]
 *
 * CLOUDCORE_V sets cloudcore's log verbosity (default 1); its log is kept in the work dir.
 *
 * Without cloudcore it says so and measures edgecloud alone.
 */
import { parseArgs } from "node:util";
import { obtainCredentials } from "../../edge/sim/credentials.ts";
import { EdgeSimulator } from "../../edge/sim/mod.ts";
import {
  type ChildHub,
  startApiOnly,
  startCloudcore,
  startEdgecloudHub,
} from "../../harness/serve_process.ts";
import { KubeClient, type KubeObject } from "../../kube/mod.ts";
import { setLogLevel } from "../../lib/log.ts";
import type { Message } from "../../modules/mod.ts";
import { mib, printTable, sleep, writeResult } from "../lib/report.ts";
import { sideBySide } from "../lib/hubs.ts";
import { waitForReadyNodes } from "../lib/edge_nodes.ts";
import { cloudcoreVersion, joinToken } from "../../harness/cloudcore_hub.ts";

setLogLevel("error");
const { values } = parseArgs({
  args: Deno.args,
  options: {
    nodes: { type: "string", default: "1000" },
    waves: { type: "string", default: "10" },
    cloudcore: { type: "string" },
    // Skip edgecloud's side (to look into cloudcore alone).
    "cloudcore-only": { type: "boolean", default: false },
  },
});
const NODES = Number(values.nodes);
const WAVES = Number(values.waves);
const CLOUDCORE = values.cloudcore ?? Deno.env.get("CLOUDCORE_BIN") ?? "";

interface Side {
  name: string;
  api: ChildHub;
  hub: ChildHub;
  kube: KubeClient;
  sim?: EdgeSimulator;
  seen: Map<string, number>;
  idleRss: number;
  fleetRss: number;
  waveMs: number[];
  cpuPerMsgUs: number[];
  /** Why its fan-out could not be measured. */
  failure?: string;
}

const root = await Deno.makeTempDir({ prefix: "bench-vs-cloudcore-" });
const sides: Side[] = [];
console.log(`work dir ${root} (kept with the hubs' logs when the run fails)`);

async function prepare(
  name: string,
  launch: (
    dir: string,
    kubeconfig: string,
  ) => Promise<{ hub: ChildHub; ws: number; https: number }>,
) {
  const api = await startApiOnly(`${root}/${name}-api`);
  const kube = KubeClient.fromFile(api.kubeconfig, { qps: 0 });
  const { hub, ws, https } = await launch(`${root}/${name}`, api.kubeconfig);
  await sleep(3_000);
  const side: Side = {
    name,
    api: api.hub,
    hub,
    kube,
    seen: new Map(),
    idleRss: hub.rss(),
    fleetRss: 0,
    waveMs: [],
    cpuPerMsgUs: [],
  };
  sides.push(side);
  const token = await joinToken(kube);
  const names = Array.from({ length: NODES }, (_, i) => `${name}-${i}`);
  console.log(`${name}: bootstrapping ${NODES} nodes through its cert server`);
  const creds = await obtainCredentials(names, {
    certServer: `127.0.0.1:${https}`,
    token,
    concurrency: 32,
  });
  side.sim = new EdgeSimulator({
    nodes: NODES,
    namePrefix: `${name}-`,
    server: `127.0.0.1:${ws}`,
    credentials: (n) => creds.get(n)!,
    nodeStatusInterval: 10,
    leaseInterval: 10,
    heartbeat: 15,
    observe: (node: string, msg: Message) => {
      if ((msg.route.resource ?? "").endsWith("/configmap/fan")) {
        side.seen.set(node, Number(msg.header.resourceVersion ?? 0));
      }
    },
  });
  await side.sim.start();
  await side.sim.waitUntil((s) => s.connected === NODES, 600_000, `${name}: every node`);
  // cloudcore skips a pod whose node it does not know yet as an edge node (and never sends it
  // later), so the pods come only after every Node exists and is Ready.
  await waitForReadyNodes(kube, NODES);
  await sleep(20_000);
  side.fleetRss = hub.rss();
  console.log(
    `${name}: idle ${mib(side.idleRss)} MiB, with ${NODES} nodes ${mib(side.fleetRss)} MiB`,
  );
  // One pod per node that uses ConfigMap "fan".
  await kube.create("/api/v1/namespaces/default/configmaps", {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "fan" },
    data: { v: "0" },
  });
  for (let i = 0; i < names.length; i += 50) {
    await Promise.all(
      names.slice(i, i + 50).map((n) =>
        kube.create("/api/v1/namespaces/default/pods", {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: `fan-${n}` },
          spec: {
            nodeName: n,
            automountServiceAccountToken: false,
            containers: [{ name: "c", image: "x", envFrom: [{ configMapRef: { name: "fan" } }] }],
          },
        })
      ),
    );
  }
  // cloudcore sends a ConfigMap when it changes, not when a pod that uses it appears (the edge
  // asks for it; edge-sim does not): an unmeasured first wave brings every node up to date.
  await sleep(5_000);
  try {
    await wave(side, 0);
  } catch (e) {
    // Reported in the results (and the hub's log kept) instead of ending the run.
    side.failure = (e as Error).message;
    console.log(`${name}: ${side.failure}`);
  }
  side.waveMs.length = 0;
  side.cpuPerMsgUs.length = 0;
  console.log(`${name}: ConfigMap on ${side.seen.size}/${NODES} nodes`);
}

async function wave(side: Side, i: number): Promise<void> {
  const cpu0 = side.hub.cpu();
  const t0 = performance.now();
  const cm = await side.kube.patch<KubeObject>(
    "/api/v1/namespaces/default/configmaps/fan",
    // A value no earlier wave wrote: a PATCH that changes nothing leaves the resourceVersion as
    // it is and sends no event (this is how the unmeasured first wave, writing the ConfigMap's
    // initial value again, once waited forever for cloudcore).
    { data: { v: `${side.name}-${i}-${Date.now()}` } },
    "application/merge-patch+json",
  );
  const rv = Number(cm.metadata?.resourceVersion);
  let have = 0;
  while ((have = [...side.seen.values()].filter((v) => v >= rv).length) < NODES) {
    if (performance.now() - t0 > 300_000) {
      throw new Error(`${side.name}: wave ${i} reached ${have}/${NODES} nodes in 300 s`);
    }
    await sleep(5);
  }
  const ms = performance.now() - t0;
  await sleep(1_000); // ACKs and ObjectSync writes settle
  side.waveMs.push(ms);
  side.cpuPerMsgUs.push(((side.hub.cpu() - cpu0) * 1e6) / NODES);
}

try {
  if (!values["cloudcore-only"]) {
    await prepare("edgecloud", (dir, kc) => startEdgecloudHub(dir, kc, NODES * 2));
  }
  if (CLOUDCORE) {
    await prepare("cloudcore", (dir, kc) => startCloudcore(CLOUDCORE, dir, kc, NODES * 2));
  } else {
    console.log("cloudcore: not run (give --cloudcore or CLOUDCORE_BIN)");
  }
  for (let i = 1; i <= WAVES; i++) {
    for (const s of sides) {
      if (s.failure) continue;
      try {
        await wave(s, i);
      } catch (e) {
        s.failure = (e as Error).message;
      }
    }
  }
} finally {
  for (const s of sides) await s.sim?.stop();
  for (const s of sides) {
    await s.hub.kill();
    await s.api.kill();
    await s.kube.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const fig = (s: Side) => ({
  kbPerNode: (s.fleetRss - s.idleRss) / NODES / 1024,
  msgsPerSec: NODES / (median(s.waveMs) / 1000),
  waveMs: median(s.waveMs),
  cpuUs: median(s.cpuPerMsgUs),
  rss: s.fleetRss,
});
const eSide = sides.find((s) => s.name === "edgecloud");
const cSide = sides.find((s) => s.name === "cloudcore");
const e = eSide ? fig(eSide) : undefined;
const c = cSide ? fig(cSide) : undefined;
const version = cSide ? cloudcoreVersion(cSide.hub.lines) : "";
const ok = (f: ReturnType<typeof fig> | undefined, s: Side | undefined) =>
  f && s && !s.failure ? f : undefined;
const table = [
  ["figure", "edgecloud", `cloudcore ${version}`.trim(), "edgecloud / cloudcore"],
  sideBySide(`hub RSS with ${NODES} nodes, MiB`, e && e.rss / 1048576, c && c.rss / 1048576),
  sideBySide("hub RSS per node, KB", e?.kbPerNode, c?.kbPerNode),
  sideBySide("fan-out wave (median), ms", ok(e, eSide)?.waveMs, ok(c, cSide)?.waveMs, 0),
  sideBySide("ACKed messages per second", ok(e, eSide)?.msgsPerSec, ok(c, cSide)?.msgsPerSec, 0),
  sideBySide("hub CPU per message, µs", ok(e, eSide)?.cpuUs, ok(c, cSide)?.cpuUs),
];
printTable(table);
await writeResult({
  scenario: "vs-cloudcore",
  command: `CLOUDCORE_BIN=... deno task bench:vs-cloudcore ${Deno.args.join(" ")}`.trim(),
  headline: {
    nodes: NODES,
    cloudcore: c ? `cloudcore ${version}` : "not run",
    edgecloudKbPerNode: e ? Math.round(e.kbPerNode * 10) / 10 : "not run",
    cloudcoreKbPerNode: c ? Math.round(c.kbPerNode * 10) / 10 : "not run",
    edgecloudMsgsPerSec: ok(e, eSide) ? Math.round(e!.msgsPerSec) : "not measured",
    cloudcoreMsgsPerSec: ok(c, cSide) ? Math.round(c!.msgsPerSec) : c ? "failed" : "not run",
  },
  table,
  compare: table,
  targets: [],
  details: {
    edgecloud: eSide?.waveMs,
    cloudcore: cSide?.waveMs,
    failures: sides.filter((s) => s.failure).map((s) => `${s.name}: ${s.failure}`),
    workDir: root,
  },
});
if (!sides.some((s) => s.failure)) await Deno.remove(root, { recursive: true }).catch(() => {});
else console.log(`hub logs kept in ${root}`);
Deno.exit(0);
