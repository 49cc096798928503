/**
 * LeaderGate against the embedded API (real Lease): one gate's singletons run per term as fresh
 * instances; a second gate waits; stopping the leader stops its singletons and releases the
 * Lease, and the other gate's singletons start.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { startEmbeddedApi } from "../../apiserver/mod.ts";
import { leaseLockFor } from "../../ha/mod.ts";
import { LeaderGate } from "../../ha/singletons.ts";
import { Bus } from "../../modules/bus.ts";
import { setLogSink } from "../../lib/log.ts";
import type { Module } from "../../modules/module.ts";
import { assert, assertEquals } from "../assert.ts";

setLogSink(() => {});

/** A fake singleton that records its life. */
function recorder(log: string[], who: string): () => Module {
  let n = 0;
  return () => {
    const id = `${who}#${++n}`;
    return {
      name: "fake-singleton",
      group: "fake-singleton",
      start: () => {
        log.push(`start ${id}`);
        return Promise.resolve();
      },
      stop: () => {
        log.push(`stop ${id}`);
        return Promise.resolve();
      },
    };
  };
}

/** Resolves on the next `onLeading(value)`. */
function leadingSignal() {
  const waiters: Array<[boolean, () => void]> = [];
  return {
    onLeading: (leading: boolean) => {
      for (const [want, resolve] of waiters.splice(0)) if (want === leading) resolve();
    },
    next: (want: boolean) => new Promise<void>((resolve) => waiters.push([want, resolve])),
  };
}

Deno.test("LeaderGate: singletons run only on the leader, fresh per term, handed over on stop", async () => {
  const dir = await Deno.makeTempDir();
  const api = await startEmbeddedApi({ dataDir: dir, port: 0 });
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfigYaml);
  const log: string[] = [];
  const busA = new Bus();
  const busB = new Bus();
  const sigA = leadingSignal();
  const sigB = leadingSignal();
  const make = (identity: string, sig: ReturnType<typeof leadingSignal>) =>
    new LeaderGate({
      elector: {
        lock: leaseLockFor(kc, "kubeedge", "gate-test"),
        identity,
        leaseDurationSeconds: 2,
        renewDeadlineSeconds: 1.5,
        retryPeriodSeconds: 0.2,
      },
      singletons: [recorder(log, identity)],
      onLeading: sig.onLeading,
    });
  const a = make("a", sigA);
  const b = make("b", sigB);
  try {
    const aLeads = sigA.next(true);
    await a.start({ bus: busA });
    await aLeads;
    assert(a.leading);
    assertEquals(log, ["start a#1"]);
    assert(busA.modules().includes("fake-singleton"), "the singleton's inbox exists while leading");

    const bLeads = sigB.next(true);
    await b.start({ bus: busB });
    assert(!b.leading);

    await a.stop(); // steps down and releases: b need not wait for expiry
    assert(!a.leading);
    assert(!busA.modules().includes("fake-singleton"), "inbox removed with the term");
    await bLeads;
    assertEquals(log, ["start a#1", "stop a#1", "start b#1"]);
  } finally {
    await a.stop();
    await b.stop();
    busA.close();
    busB.close();
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
  assertEquals(log, ["start a#1", "stop a#1", "start b#1", "stop b#1"]);
});

Deno.test("LeaderGate: a singleton stuck starting (API unreachable) does not block the step-down", async () => {
  const dir = await Deno.makeTempDir();
  const api = await startEmbeddedApi({ dataDir: dir, port: 0 });
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfigYaml);
  const bus = new Bus();
  const log: string[] = [];
  let release: () => void = () => {};
  const stuck = new Promise<void>((resolve) => release = resolve);
  const startedCalled = Promise.withResolvers<void>();
  const gate = new LeaderGate({
    elector: {
      lock: leaseLockFor(kc, "kubeedge", "gate-stuck"),
      identity: "a",
      leaseDurationSeconds: 2,
      renewDeadlineSeconds: 1.5,
      retryPeriodSeconds: 0.2,
    },
    singletons: [() => ({
      name: "stuck",
      group: "stuck",
      start: () => {
        log.push("start");
        startedCalled.resolve();
        return stuck;
      },
      stop: () => {
        log.push("stop");
        release();
        return Promise.resolve();
      },
    })],
  });
  try {
    await gate.start({ bus });
    await startedCalled.promise;
    await gate.stop();
    assertEquals(log, ["start", "stop"]);
    assert(!gate.leading, "never reported leading: its singletons never finished starting");
  } finally {
    release();
    await gate.stop();
    bus.close();
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
});
