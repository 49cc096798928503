/**
 * Several edgecloud replicas against one cluster, through the real program: three `main.ts serve`
 * processes (own data dirs and advertise addresses 127.0.0.1/.2/.3, `--kubeconfig` to one
 * embedded API started here, short Lease settings). The first one leads; an edge on replica B
 * gets a pod while A leads; an edge on A acknowledges some pods and not others; A is SIGKILLed;
 * another replica takes the Lease and starts its controllers; the edge reconnects to replica C
 * and receives exactly what it had not acknowledged — the unacknowledged pod, the newer version
 * of an updated pod, the delete of a pod deleted meanwhile, a pod created meanwhile — and nothing
 * stale (no old version, nothing for a pod it already has). ObjectSyncs end where the edge is.
 *
 * No timed assertions: every wait is bounded only so that a broken build fails instead of hanging.
 */
import { startEmbeddedApi } from "../../apiserver/mod.ts";
import { KubeClient, type KubeObject, PatchStrategy } from "../../kube/mod.ts";
import { bootstrap } from "../../edge/bootstrap.ts";
import { edgeAcks, EdgeClient, type EdgeClient as EdgeClientType } from "../../edge/client.ts";
import { nodeInsert } from "../../edge/sim/messages.ts";
import { DEFAULT_LEASE_NAME, DEFAULT_LEASE_NAMESPACE } from "../../ha/mod.ts";
import type { Message } from "../../modules/message.ts";
import { assert, assertEquals } from "../assert.ts";
import { runMain, RunningMain, writeTestConfig } from "../cli/subprocess.ts";
import { waitUntil } from "../wait.ts";

const GUARD_MS = 30_000;

/** Polls `probe` until it returns a value (bounded). */
function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  return waitUntil(probe, what, {
    timeoutMs: GUARD_MS,
    intervalMs: 50,
    retryErrors: true,
    defined: true,
  }) as Promise<T>;
}

/** A replica's config: listeners on 127.0.0.1 port 0, its own advertise address, short Lease. */
async function writeReplicaConfig(dir: string, advertise: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  return await writeTestConfig(
    dir,
    `leaderElection:
  leaseDuration: 3
  renewDeadline: 2
  retryPeriod: 1
`,
    advertise,
  );
}

class Replica {
  readonly proc: RunningMain;
  constructor(readonly name: string, readonly config: string, readonly data: string, kc: string) {
    this.proc = new RunningMain([
      "serve",
      "--config",
      config,
      "--data-dir",
      data,
      "--kubeconfig",
      kc,
    ]);
  }

  port(marker: string): number {
    const line = this.proc.lines.find((l) => l.includes(marker));
    const m = line ? /port=(\d+)/.exec(line) : null;
    if (!m) throw new Error(`${this.name}: no "${marker}" line:\n${this.proc.lines.join("\n")}`);
    return Number(m[1]);
  }

  /** The Lease identity from the "leader election joined" line. */
  identity(): string {
    const line = this.proc.lines.find((l) => l.includes("leader election joined"));
    const m = line ? /identity=(\S+)/.exec(line) : null;
    if (!m) throw new Error(`${this.name}: no identity line`);
    return m[1].replace(/^"|"$/g, "");
  }

  leading(): boolean {
    return this.proc.lines.some((l) => l.includes("leading: singleton controllers started"));
  }

  async stop(signal: Deno.Signal): Promise<Deno.CommandStatus> {
    try {
      this.proc.child.kill(signal);
    } catch { /* already gone */ }
    return await this.proc.finish();
  }
}

function pod(name: string, node: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { nodeName: node, containers: [{ name: "c", image: "nginx" }] },
  } as KubeObject;
}

const isPod = (name: string) => (m: Message) => m.route.resource === `default/pod/${name}`;

Deno.test("HA: three replicas, leader SIGKILLed, controllers move, the edge reconnects to a survivor and loses nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgecloud-ha-" });
  const api = await startEmbeddedApi({ dataDir: `${dir}/api`, hostname: "127.0.0.1", port: 0 });
  const kube = KubeClient.fromYaml(api.kubeconfigYaml);
  const replicas: Replica[] = [];
  const edges: EdgeClientType[] = [];
  const start = async (name: string, advertise: string) => {
    const config = await writeReplicaConfig(`${dir}/${name}`, advertise);
    const r = new Replica(name, config, `${dir}/${name}/data`, api.kubeconfigPath);
    replicas.push(r);
    await r.proc.waitForLine("edgecloud ready");
    return r;
  };
  try {
    // A first and alone: it creates the CA and token Secrets the others then load, and leads.
    const a = await start("a", "127.0.0.1");
    await a.proc.waitForLine("leading: singleton controllers started");
    const [b, c] = await Promise.all([start("b", "127.0.0.2"), start("c", "127.0.0.3")]);
    assert(!b.leading() && !c.leading(), "only A leads");

    const token = await runMain([
      "token",
      "--config",
      a.config,
      "--data-dir",
      a.data,
      "--kubeconfig",
      api.kubeconfigPath,
    ]);
    assertEquals(token.code, 0, token.stderr);
    const join = (nodeName: string) =>
      bootstrap({
        server: `127.0.0.1:${a.port("cert server listening")}`,
        token: token.stdout.trim(),
        nodeName,
      });
    const creds1 = await join("edge-1");
    const creds2 = await join("edge-2");
    const connect = async (
      r: Replica,
      nodeName: string,
      creds: typeof creds1,
      ack?: (m: Message) => boolean,
    ) => {
      const edge = new EdgeClient({
        server: `127.0.0.1:${r.port("websocket server listening")}`,
        nodeName,
        caPem: creds.caPem,
        certPem: creds.certPem,
        keyPem: creds.keyPem,
        ack,
      });
      edges.push(edge);
      await edge.connect();
      return edge;
    };
    const register = async (edge: EdgeClientType, nodeName: string, holder: string) => {
      const insert = nodeInsert(nodeName);
      await edge.send(insert);
      await edge.waitFor((m) => m.header.parentId === insert.header.id, GUARD_MS);
      await eventually(`${nodeName} annotated ${holder}`, async () => {
        const node = await kube.get(`/api/v1/nodes/${nodeName}`);
        return node.metadata?.annotations?.cloudcore === holder ? true : undefined;
      });
    };

    // edge-1 on B; edge-2 on A, which does not acknowledge pod "unacked".
    const edge1 = await connect(b, "edge-1", creds1);
    await register(edge1, "edge-1", "127.0.0.2");
    const edge2 = await connect(a, "edge-2", creds2, (m) => edgeAcks(m) && !isPod("unacked")(m));
    await register(edge2, "edge-2", "127.0.0.1");

    const pods = "/api/v1/namespaces/default/pods";
    // A leads; the pod for edge-1 is delivered by B.
    await kube.create(pods, pod("p1", "edge-1"));
    await edge1.waitFor(isPod("p1"), GUARD_MS);
    assert(a.leading(), "A still leads");

    const created: Record<string, KubeObject> = {};
    for (const name of ["kept", "upd", "gone", "unacked"]) {
      created[name] = await kube.create(pods, pod(name, "edge-2"));
      await edge2.waitFor(isPod(name), GUARD_MS);
    }
    const syncPath = (uid: string) =>
      `/apis/reliablesyncs.kubeedge.io/v1alpha1/namespaces/default/objectsyncs/edge-2.${uid}`;
    const syncedRv = async (name: string) => {
      const rec = await kube.get(syncPath(created[name].metadata!.uid!)) as {
        status?: { objectResourceVersion?: string };
      };
      return rec.status?.objectResourceVersion;
    };
    // The acknowledged ones are recorded before the kill (the ACK writes are asynchronous).
    for (const name of ["kept", "upd", "gone"]) {
      await eventually(
        `objectsync of ${name}`,
        async () =>
          await syncedRv(name) === created[name].metadata!.resourceVersion ? true : undefined,
      );
    }

    // SIGKILL the leader: no Lease release, no graceful close.
    const killedAt = Date.now();
    const killed = await a.stop("SIGKILL");
    assertEquals(killed.signal, "SIGKILL");
    await edge2.waitClosed(GUARD_MS);

    // While edge-2 is away: an update, a delete, a create.
    const updated = await kube.patch(
      `${pods}/upd`,
      { metadata: { labels: { version: "2" } } },
      PatchStrategy.MergePatch,
    );
    await kube.delete(`${pods}/gone`, { gracePeriodSeconds: 0 });
    await eventually("gone deleted", async () => {
      try {
        await kube.get(`${pods}/gone`);
        return undefined;
      } catch {
        return true;
      }
    });
    const fresh = await kube.create(pods, pod("fresh", "edge-2"));

    // Another replica takes the Lease over and starts its controllers.
    const survivor = await eventually(
      "a new leader",
      () => Promise.resolve([b, c].find((r) => r.leading())),
    );
    const lease = await kube.get(
      `/apis/coordination.k8s.io/v1/namespaces/${DEFAULT_LEASE_NAMESPACE}/leases/${DEFAULT_LEASE_NAME}`,
    ) as { spec?: { holderIdentity?: string } };
    assertEquals(lease.spec?.holderIdentity, survivor.identity());
    // Reported, not asserted (no timed assertions): kill → controllers running on the survivor.
    const ledAt = Date.parse(
      survivor.proc.lines.find((l) => l.includes("leading: singleton controllers started"))!
        .split(" ")[0],
    );
    console.log(`takeover ${ledAt - killedAt} ms after SIGKILL (leaseDuration 3 s)`);

    // edge-2 reconnects to C and acknowledges everything.
    const edge2b = await connect(c, "edge-2", creds2);
    const unacked = await edge2b.waitFor(isPod("unacked"), GUARD_MS);
    assertEquals(unacked.header.resourceVersion, created.unacked.metadata!.resourceVersion);
    const upd = await edge2b.waitFor(isPod("upd"), GUARD_MS);
    assertEquals(upd.header.resourceVersion, updated.metadata!.resourceVersion);
    assertEquals((upd.content as KubeObject).metadata?.labels?.version, "2");
    const gone = await edge2b.waitFor(isPod("gone"), GUARD_MS);
    assertEquals(gone.route.operation, "delete");
    await edge2b.waitFor(isPod("fresh"), GUARD_MS);
    // A pod created now comes after the catch-up (the queue sends lowest resourceVersion first).
    await kube.create(pods, pod("late", "edge-2"));
    await edge2b.waitFor(isPod("late"), GUARD_MS);

    const got = edge2b.received;
    assertEquals(got.filter(isPod("kept")).length, 0, "kept was acknowledged: no resend");
    for (const m of got.filter(isPod("upd"))) {
      assertEquals(m.header.resourceVersion, updated.metadata!.resourceVersion, "stale upd");
    }
    assertEquals(got.filter(isPod("gone")).map((m) => m.route.operation), ["delete"]);
    assertEquals(
      await edge2b.waitFor(isPod("fresh"), 1).then((m) => m.header.resourceVersion),
      fresh.metadata!.resourceVersion,
    );

    // ObjectSyncs follow the edge: newest RVs, and none for the deleted pod.
    await eventually(
      "objectsync of upd",
      async () => await syncedRv("upd") === updated.metadata!.resourceVersion ? true : undefined,
    );
    await eventually(
      "objectsync of unacked",
      async () =>
        await syncedRv("unacked") === created.unacked.metadata!.resourceVersion ? true : undefined,
    );
    await eventually("objectsync of gone removed", async () => {
      try {
        await syncedRv("gone");
        return undefined;
      } catch {
        return true;
      }
    });
    assertEquals(await syncedRv("kept"), created.kept.metadata!.resourceVersion);
    const node2 = await kube.get("/api/v1/nodes/edge-2");
    assertEquals(node2.metadata?.annotations?.cloudcore, "127.0.0.3");

    // B was not disturbed: edge-1 still gets its pods.
    await kube.create(pods, pod("p2", "edge-1"));
    await edge1.waitFor(isPod("p2"), GUARD_MS);

    // KubeEdge #6007, with both replicas alive: while edge-1 is offline B queues pod x1 for it
    // (B still holds the node); edge-1 then comes back on C, which delivers x1 and later its
    // delete; back on B the node must not get B's old x1.
    await edge1.close();
    const x1 = await kube.create(pods, pod("x1", "edge-1"));
    const x1Sync =
      `/apis/reliablesyncs.kubeedge.io/v1alpha1/namespaces/default/objectsyncs/edge-1.${
        x1.metadata!.uid
      }`;
    // B's queue created the record when it took x1 in (C skips a node B holds).
    await eventually("B queued x1", async () => (await kube.get(x1Sync)) ? true : undefined);
    const onC = await connect(c, "edge-1", creds1);
    await onC.waitFor(isPod("x1"), GUARD_MS);
    await b.proc.waitForLine("local queue dropped node=edge-1");
    await kube.delete(`${pods}/x1`, { gracePeriodSeconds: 0 });
    await onC.waitFor((m) => isPod("x1")(m) && m.route.operation === "delete", GUARD_MS);
    await eventually("objectsync of x1 removed", async () => {
      try {
        await kube.get(x1Sync);
        return undefined;
      } catch {
        return true;
      }
    });
    await onC.close();
    const backOnB = await connect(b, "edge-1", creds1);
    await eventually("edge-1 annotated B again", async () => {
      const node = await kube.get("/api/v1/nodes/edge-1");
      return node.metadata?.annotations?.cloudcore === "127.0.0.2" ? true : undefined;
    });
    await kube.create(pods, pod("p3", "edge-1"));
    await backOnB.waitFor(isPod("p3"), GUARD_MS);
    assertEquals(backOnB.received.filter(isPod("x1")).length, 0, "stale x1 resent by B");

    for (const e of edges.splice(0)) await e.close();
    for (const r of [b, c]) {
      assertEquals((await r.stop("SIGTERM")).code, 0, r.proc.lines.join("\n"));
    }
  } finally {
    for (const e of edges) await e.close().catch(() => {});
    for (const r of replicas) await r.stop("SIGKILL");
    await kube.close();
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
});
