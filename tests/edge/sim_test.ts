/**
 * The edge simulator against the real stack (embedded API + CloudHub + EdgeController): nodes
 * register themselves, report status, receive pods, ACK them and answer with pod statuses.
 */
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { startStack } from "../../harness/stack.ts";
import { assertLoopback, EdgeSimulator, SimOptionsError } from "../../edge/sim/mod.ts";
import { setLogLevel } from "../../lib/log.ts";
import { runEdgeSimCli } from "../../cli/edge_sim.ts";
import { spawnHub } from "../../harness/hub_launcher.ts";
import { createBenchPki } from "../../harness/pki.ts";
import { waitUntil } from "../wait.ts";

setLogLevel("error");

Deno.test("edge-sim: nodes register, report status, get their pods and report pod status", async () => {
  const stack = await startStack();
  const sim = new EdgeSimulator({
    nodes: 4,
    server: stack.server,
    credentials: (n) => stack.issuer.credentials(n),
    namePrefix: "simt-",
    nodeStatusInterval: 0.2,
    leaseInterval: 0,
    heartbeat: 1,
    jitter: 0.2,
  });
  try {
    await sim.start();
    await sim.waitUntil((s) => s.connected === 4, 10_000, "4 connected");
    // node insert creates the Node objects with the edge label.
    await sim.waitUntil((s) => s.responses >= 8, 10_000, "node insert + status responses");
    for (let i = 0; i < 4; i++) {
      const node = await stack.kube.get(`/api/v1/nodes/simt-${i}`) as {
        metadata: { labels: Record<string, string> };
      };
      assertEquals(node.metadata.labels["node-role.kubernetes.io/edge"], "");
    }
    for (let i = 0; i < 4; i++) {
      await stack.kube.create("/api/v1/namespaces/default/pods", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `p${i}`, namespace: "default" },
        spec: { nodeName: `simt-${i}`, containers: [{ name: "c", image: "nginx" }] },
      });
    }
    await sim.waitUntil(
      () => sim.nodes.every((n) => [...n.objects.keys()].some((k) => k.startsWith("default/pod/"))),
      10_000,
      "every node has its pod",
    );
    await sim.waitUntil((s) => (s.sent.podstatus ?? 0) >= 4, 10_000, "4 pod statuses");
    // The pod status reaches the API (Running).
    await waitUntil(
      async () => {
        const pod = await stack.kube.get("/api/v1/namespaces/default/pods/p0") as {
          status?: { phase?: string };
        };
        return pod.status?.phase === "Running";
      },
      "pod p0 Running",
      { intervalMs: 50 },
    );
  } finally {
    await sim.stop();
    await stack.close();
  }
  const summary = sim.summary();
  assertEquals(summary.nodes, 4);
  assertEquals(summary.duplicatesAfterAck, 0);
  assert(summary.ackPathReceived >= 4);
  assert(summary.acksSent >= 4);
  assert(summary.rttMs.count > 0);
});

Deno.test("edge-sim: the first lease message creates the Lease, later ones renew it", async () => {
  const stack = await startStack();
  const sim = new EdgeSimulator({
    nodes: 1,
    server: stack.server,
    credentials: (n) => stack.issuer.credentials(n),
    namePrefix: "simlease-",
    nodeStatusInterval: 0,
    leaseInterval: 0.1,
    heartbeat: 1,
  });
  try {
    await sim.start();
    await sim.waitUntil((s) => (s.sent.lease ?? 0) >= 3, 10_000, "3 lease messages");
    // Renewals (updates) of a Lease that exists: its renewTime moves on.
    const renewTime = async () =>
      ((await stack.kube.get(
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/simlease-0",
      )) as {
        spec: { renewTime: string };
      }).spec.renewTime;
    const first = await renewTime();
    await waitUntil(async () => (await renewTime()) !== first, "the lease renewed", {
      intervalMs: 50,
    });
  } finally {
    await sim.stop();
    await stack.close();
  }
});

Deno.test("edge-sim: a dropped fleet reconnects by itself", async () => {
  const stack = await startStack();
  const sim = new EdgeSimulator({
    nodes: 3,
    server: stack.server,
    credentials: (n) => stack.issuer.credentials(n),
    namePrefix: "simr-",
    nodeStatusInterval: 0,
    leaseInterval: 0,
    heartbeat: 1,
    reconnectDelayMs: 50,
  });
  try {
    await sim.start();
    await sim.waitUntil((s) => s.connected === 3, 10_000, "3 connected");
    sim.dropAll();
    await sim.waitUntil((s) => s.reconnects >= 3 && s.connected === 3, 10_000, "3 reconnected");
  } finally {
    await sim.stop();
    await stack.close();
  }
});

Deno.test("edge-sim: refuses non-loopback servers and out-of-bound sizes", () => {
  assertLoopback("127.0.0.1:10000");
  assertLoopback("[::1]:10000");
  assertLoopback("localhost:1");
  assertThrows(() => assertLoopback("10.0.0.1:10000"), SimOptionsError, "loopback");
  assertThrows(() => assertLoopback("example.com:443"), SimOptionsError, "loopback");
  assertThrows(() => assertLoopback("127.0.0.1"), SimOptionsError, "host:port");
  const creds = () => ({ caPem: "", certPem: "", keyPem: "" });
  assertThrows(
    () => new EdgeSimulator({ nodes: 0, server: "127.0.0.1:1", credentials: creds }),
    SimOptionsError,
  );
  assertThrows(
    () => new EdgeSimulator({ nodes: 60_000, server: "127.0.0.1:1", credentials: creds }),
    SimOptionsError,
  );
});

Deno.test("edge-sim command: usage errors and non-loopback targets exit 2 before dialling", async () => {
  const errs: string[] = [];
  const io = { out: () => {}, err: (t: string) => void errs.push(t), tty: false };
  assertEquals(await runEdgeSimCli(["--server", "10.0.0.1:10000", "--token", "a.b.c.d"], io), 2);
  assert(errs.at(-1)?.includes("loopback"));
  assertEquals(
    await runEdgeSimCli(
      ["--server", "127.0.0.1:1", "--cert-server", "8.8.8.8:10002", "--token", "a.b.c.d"],
      io,
    ),
    2,
  );
  assertEquals(await runEdgeSimCli(["--server", "127.0.0.1:1", "--transport", "tcp"], io), 2);
  assertEquals(await runEdgeSimCli(["--server", "127.0.0.1:1"], io), 2); // no token
  assertEquals(await runEdgeSimCli(["--bogus"], io), 2);
  const out: string[] = [];
  assertEquals(await runEdgeSimCli(["--help"], { ...io, out: (t) => void out.push(t) }), 0);
  assert(out[0].includes("--nodes"));
});

Deno.test("edge-sim command: token bootstrap against the cert server, certificates cached for the next run", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "ec-simcli-" });
  const hub = await spawnHub({ pki: await createBenchPki(), dataDir, certPort: 0 });
  try {
    const cacheDir = `${dataDir}/cache`;
    const args = [
      "--nodes",
      "3",
      "--server",
      hub.server,
      "--cert-server",
      hub.certServer,
      "--token",
      hub.token,
      "--duration",
      "2",
      "--prefix",
      "cli-",
      "--cache-dir",
      cacheDir,
      "--progress-interval",
      "0",
    ];
    for (let run = 0; run < 2; run++) {
      const out: string[] = [];
      const code = await runEdgeSimCli(args, {
        out: (t) => void out.push(t),
        err: () => {},
        tty: false,
      });
      assertEquals(code, 0);
      const summary = JSON.parse(out.join("\n"));
      assertEquals(summary.nodes, 3);
      assertEquals(summary.peakConnected, 3);
      assertEquals(summary.connectFailures, 0);
    }
    const cached = [];
    for await (const d of Deno.readDir(cacheDir)) {
      for await (const f of Deno.readDir(`${cacheDir}/${d.name}`)) cached.push(f.name);
    }
    assertEquals(cached.sort(), ["cli-0.json", "cli-1.json", "cli-2.json"]);
  } finally {
    await hub.kill("SIGTERM");
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
