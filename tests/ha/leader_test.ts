/**
 * Leader election against the embedded Kubernetes API (real HTTPS, real Lease objects through
 * client-node), with a manual clock so lease expiry is decided by logical time, not sleeps.
 */
import { CoordinationV1Api, KubeConfig } from "@kubernetes/client-node";
import { startEmbeddedApi } from "../../apiserver/mod.ts";
import {
  JITTER_FACTOR,
  LeaderElectionConfigError,
  LeaderElector,
  type LeaseApi,
  LeaseLock,
} from "../../ha/mod.ts";
import { ManualClock } from "../../lib/clock.ts";
import { setLogSink } from "../../lib/log.ts";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { waitUntil } from "../wait.ts";

const NS = "kubeedge";
const LEASE = "edgecloud-controllers";
/** client-go's defaults, the ones edgecloud runs with. */
const LEASE_S = 15, RENEW_S = 10, RETRY_S = 2;
const RANDOM = 0.5;
const MAX_RETRY_MS = RETRY_S * 1000 * (1 + RANDOM * JITTER_FACTOR);
const STEP_MS = 100;

/** What one elector's callbacks saw, in logical time. */
interface Seen {
  started: number[];
  stopped: number[];
}

interface Cluster {
  api: Awaited<ReturnType<typeof startEmbeddedApi>>;
  kc: KubeConfig;
  dir: string;
  close(): Promise<void>;
}

async function cluster(): Promise<Cluster> {
  const dir = await Deno.makeTempDir();
  const api = await startEmbeddedApi({ dataDir: dir, port: 0 });
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfigYaml);
  return {
    api,
    kc,
    dir,
    async close() {
      await api.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function elector(
  leaseApi: LeaseApi,
  identity: string,
  clock: ManualClock,
  seen: Seen,
  releaseOnStop = true,
): LeaderElector {
  return new LeaderElector({
    lock: new LeaseLock(leaseApi, NS, LEASE),
    identity,
    clock,
    random: () => RANDOM,
    leaseDurationSeconds: LEASE_S,
    renewDeadlineSeconds: RENEW_S,
    retryPeriodSeconds: RETRY_S,
    releaseOnStop,
    callbacks: {
      onStartedLeading: () => void seen.started.push(clock.now()),
      onStoppedLeading: () => void seen.stopped.push(clock.now()),
    },
  });
}

/** Waits (really) until every elector is parked on the manual clock; poll with a bound. */
async function settle(electors: LeaderElector[]): Promise<void> {
  await waitUntil(() => electors.every((e) => e.idle), "electors to settle", {
    timeoutMs: 20_000,
    intervalMs: 1,
  });
}

/** Advances logical time in small steps until `done()`, or fails after `limitMs` of it. */
async function runUntil(
  clock: ManualClock,
  electors: LeaderElector[],
  done: () => boolean,
  limitMs: number,
  onStep?: () => void,
): Promise<void> {
  const end = clock.now() + limitMs;
  for (;;) {
    await settle(electors);
    onStep?.();
    if (done()) return;
    if (clock.now() >= end) throw new Error(`condition not met within ${limitMs} ms logical`);
    clock.advance(STEP_MS);
  }
}

/** Keeps the electors' log lines out of the test output; returns the restorer. */
function quietLogs(): () => void {
  const previous = setLogSink(() => {});
  return () => void setLogSink(previous);
}

Deno.test("leader killed: the other replica takes over after the lease expires, never before", async () => {
  const restore = quietLogs();
  const c = await cluster();
  try {
    const clock = new ManualClock();
    const leaseApi = c.kc.makeApiClient(CoordinationV1Api);
    const seenA: Seen = { started: [], stopped: [] }, seenB: Seen = { started: [], stopped: [] };
    const a = elector(leaseApi, "replica-a", clock, seenA);
    const b = elector(leaseApi, "replica-b", clock, seenB);
    const both = [a, b];
    a.start();
    await runUntil(clock, both, () => a.isLeader, 1_000);
    b.start();
    // Both run for a while: exactly one leader at every step, and it stays A.
    const overlap = () => assert(!(a.isLeader && b.isLeader), "two leaders at once");
    const steady = clock.now() + 3 * LEASE_S * 1000;
    await runUntil(clock, both, () => clock.now() >= steady, 4 * LEASE_S * 1000, () => {
      overlap();
      assert(a.isLeader && !b.isLeader, "leadership moved while the leader was healthy");
    });
    assertEquals(b.leader, "replica-a");

    // Kill A: it stops renewing and does not release.
    const lastRenew = (await new LeaseLock(leaseApi, NS, LEASE).get())!.record.renewTime;
    await a.stop({ release: false });
    const killedAt = clock.now();
    await runUntil(clock, both, () => b.isLeader, 2 * LEASE_S * 1000, overlap);
    const takeover = seenB.started[0];

    // Never before the lease expired (B measures expiry from when it saw A's last renewal) ...
    assert(
      takeover - lastRenew >= LEASE_S * 1000,
      `took over ${takeover - lastRenew} ms after renew`,
    );
    // ... and within one lease period plus B's polling: at most one jittered retry to see the
    // last renewal and one more to notice expiry.
    const bound = LEASE_S * 1000 + 2 * MAX_RETRY_MS + 2 * STEP_MS;
    assert(
      takeover - killedAt <= bound,
      `took over ${takeover - killedAt} ms after kill > ${bound}`,
    );

    const record = (await new LeaseLock(leaseApi, NS, LEASE).get())!.record;
    assertEquals(record.holderIdentity, "replica-b");
    assertEquals(record.leaseTransitions, 1);
    assertEquals(seenA.stopped.length, 1);
    await b.stop();
  } finally {
    await c.close();
    restore();
  }
});

Deno.test("a leader cut off from the API steps down before anyone else can lead", async () => {
  const restore = quietLogs();
  const c = await cluster();
  try {
    const clock = new ManualClock();
    const real = c.kc.makeApiClient(CoordinationV1Api);
    let partitioned = false;
    const refuse = () => Promise.reject(new Error("connect ECONNREFUSED (partitioned)"));
    // A's view of the API: fails fast while partitioned.
    const cut: LeaseApi = {
      readNamespacedLease: (p, o) => partitioned ? refuse() : real.readNamespacedLease(p, o),
      createNamespacedLease: (p, o) => partitioned ? refuse() : real.createNamespacedLease(p, o),
      replaceNamespacedLease: (p, o) => partitioned ? refuse() : real.replaceNamespacedLease(p, o),
    };
    const seenA: Seen = { started: [], stopped: [] }, seenB: Seen = { started: [], stopped: [] };
    const a = elector(cut, "replica-a", clock, seenA);
    const b = elector(real, "replica-b", clock, seenB);
    a.start();
    await runUntil(clock, [a, b], () => a.isLeader, 1_000);
    b.start();
    await runUntil(clock, [a, b], () => b.leader === "replica-a", 10_000);
    const lastRenew = (await new LeaseLock(real, NS, LEASE).get())!.record.renewTime;
    partitioned = true;
    await runUntil(clock, [a, b], () => b.isLeader, 3 * LEASE_S * 1000, () => {
      assert(!(a.isLeader && b.isLeader), "two leaders at once");
    });
    // A stepped down within its renew deadline, strictly before B took over.
    assertEquals(seenA.stopped.length, 1);
    assert(seenA.stopped[0] - lastRenew <= RENEW_S * 1000 + MAX_RETRY_MS);
    assert(seenA.stopped[0] < seenB.started[0]);
    partitioned = false;
    await a.stop();
    await b.stop();
  } finally {
    await c.close();
    restore();
  }
});

Deno.test("stop() releases the lease: the successor leads at its next retry, kubectl sees it", async () => {
  const restore = quietLogs();
  const c = await cluster();
  try {
    const clock = new ManualClock();
    const leaseApi = c.kc.makeApiClient(CoordinationV1Api);
    const seenA: Seen = { started: [], stopped: [] }, seenB: Seen = { started: [], stopped: [] };
    const a = elector(leaseApi, "replica-a", clock, seenA);
    const b = elector(leaseApi, "replica-b", clock, seenB);
    a.start();
    await runUntil(clock, [a, b], () => a.isLeader, 1_000);
    b.start();
    await runUntil(clock, [a, b], () => b.leader === "replica-a", 10_000);
    await a.stop();
    const stoppedAt = clock.now();
    assertEquals(seenA.stopped.length, 1);
    await runUntil(clock, [a, b], () => b.isLeader, LEASE_S * 1000);
    assert(seenB.started[0] - stoppedAt <= MAX_RETRY_MS + STEP_MS, "did not take over at once");

    // kubectl (the real client) reads the Lease edgecloud wrote.
    const out = await new Deno.Command("kubectl", {
      args: [
        "--kubeconfig",
        c.api.kubeconfigPath,
        "get",
        "lease",
        "-n",
        NS,
        LEASE,
        "-o",
        "jsonpath={.spec.holderIdentity} {.spec.leaseTransitions} {.spec.leaseDurationSeconds} {.spec.renewTime}",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert(out.success, new TextDecoder().decode(out.stderr));
    const [holder, transitions, duration, renewTime] = text.split(" ");
    assertEquals([holder, transitions, duration], ["replica-b", "1", String(LEASE_S)]);
    // MicroTime: six fractional digits, as Kubernetes writes it.
    assert(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(renewTime), renewTime);
    await b.stop();
  } finally {
    await c.close();
    restore();
  }
});

Deno.test("durations are checked like client-go's", () => {
  const lock = new LeaseLock({} as LeaseApi, NS, LEASE);
  const callbacks = { onStartedLeading() {}, onStoppedLeading() {} };
  const make = (lease: number, renew: number, retry: number, identity = "x") =>
    new LeaderElector({
      lock,
      identity,
      callbacks,
      leaseDurationSeconds: lease,
      renewDeadlineSeconds: renew,
      retryPeriodSeconds: retry,
    });
  assertThrows(() => make(10, 10, 2), LeaderElectionConfigError, "greater than renewDeadline");
  assertThrows(() => make(15, 2, 2), LeaderElectionConfigError, "retryPeriod");
  assertThrows(() => make(1.5, 1, 0.1), LeaderElectionConfigError, "whole number");
  assertThrows(() => make(15, 10, 2, ""), LeaderElectionConfigError, "identity");
  const e = make(15, 10, 2);
  assertEquals([e.leaseDurationMs, e.renewDeadlineMs, e.retryPeriodMs], [15_000, 10_000, 2_000]);
});
