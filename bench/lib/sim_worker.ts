/**
 * A child process running part of a simulated fleet (one process holds at most ~19k sockets
 * under this machine's fd limit, and a second process uses the second core). Controlled with
 * one JSON command per stdin line; answers one JSON line per command on stdout:
 * `start`, `stats`, `drop` (drop every connection at once), `stop` (returns the summary).
 *
 * Started by {@link ./sim_workers.ts}; not a user command (use `edgecloud edge-sim`).
 */
import { loadKeyPairPem } from "../../pki/mod.ts";
import { EdgeSimulator, type SimOptions } from "../../edge/sim/mod.ts";
import { setLogLevel } from "../../lib/log.ts";
import { NodeCertIssuer } from "../../harness/pki.ts";
import { readLines } from "../../harness/lines.ts";
import { obtainCredentials } from "../../edge/sim/credentials.ts";
import type { NodeCredentials } from "../../edge/sim/link.ts";

/** Configuration passed as the first argument (JSON). */
export interface SimWorkerConfig {
  server: string;
  /** The CA a node certificate is signed with here (unless `bootstrap` is given). */
  caCertPath: string;
  caKeyPath: string;
  /**
   * Bootstrap every node as a real edge does instead: join token → CSR → `/edge.crt` at the
   * hub's cert server (the hub then signs each node's certificate).
   */
  bootstrap?: { certServer: string; token: string };
  sim: Omit<SimOptions, "server" | "credentials" | "progress" | "observe">;
}

/** What `stats` answers. */
export interface SimWorkerStats {
  connected: number;
  everConnected: number;
  reconnects: number;
  connectFailures: number;
  received: number;
  ackPathReceived: number;
  duplicatesAfterAck: number;
  resentAfterDrop: number;
  /** Pod objects held across this worker's nodes. */
  pods: number;
  /** Pod ack-path messages received since start. */
  podMessages: number;
  rss: number;
}

setLogLevel("error");
const cfg = JSON.parse(Deno.args[0]) as SimWorkerConfig;
const prefix = cfg.sim.namePrefix ?? "sim-";
const names = Array.from({ length: cfg.sim.nodes }, (_, i) => `${prefix}${i}`);
// Every certificate exists before connecting, so the connect phase measures connects only.
let credentials: (node: string) => NodeCredentials | Promise<NodeCredentials>;
if (cfg.bootstrap) {
  const creds = await obtainCredentials(names, { ...cfg.bootstrap, concurrency: 32 });
  credentials = (n) => creds.get(n)!;
} else {
  const ca = await loadKeyPairPem(
    await Deno.readTextFile(cfg.caCertPath),
    await Deno.readTextFile(cfg.caKeyPath),
  );
  const issuer = new NodeCertIssuer({ ca, server: ca });
  for (let i = 0; i < names.length; i += 200) {
    await Promise.all(names.slice(i, i + 200).map((n) => issuer.credentials(n)));
  }
  credentials = (n) => issuer.credentials(n);
}
let podMessages = 0;
const sim = new EdgeSimulator({
  ...cfg.sim,
  server: cfg.server,
  credentials,
  observe: (_n, m) => {
    if (m.route.operation !== "response" && /^[^/]+\/pod\/[^/]+$/.test(m.route.resource ?? "")) {
      podMessages++;
    }
  },
});

function stats(): SimWorkerStats {
  const s = sim.stats;
  let pods = 0;
  for (const n of sim.nodes) {
    for (const k of n.objects.keys()) if (k.includes("/pod/")) pods++;
  }
  return {
    connected: s.connected,
    everConnected: s.everConnected,
    reconnects: s.reconnects,
    connectFailures: s.connectFailures,
    received: s.received,
    ackPathReceived: s.ackPathReceived,
    duplicatesAfterAck: s.duplicatesAfterAck,
    resentAfterDrop: s.resentAfterDrop,
    pods,
    podMessages,
    rss: Deno.memoryUsage().rss,
  };
}

const enc = new TextEncoder();
const reply = (v: unknown) => Deno.stdout.writeSync(enc.encode(JSON.stringify(v) + "\n"));
reply({ ready: true });
for await (const line of readLines(Deno.stdin.readable)) {
  const cmd = JSON.parse(line) as { cmd: string };
  if (cmd.cmd === "start") {
    // Do not wait for every connect: the driver polls `stats`.
    sim.start().catch(() => {});
    reply({ ok: true });
  } else if (cmd.cmd === "stats") {
    reply(stats());
  } else if (cmd.cmd === "drop") {
    sim.dropAll();
    reply({ ok: true });
  } else if (cmd.cmd === "stop") {
    await sim.stop();
    reply(sim.summary());
    Deno.exit(0);
  }
}
