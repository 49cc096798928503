/**
 * `edgecloud serve` takes its Lease lock as raw JSON on the hub's KubeHttp (httpLeaseLock), not
 * client-node's CoordinationV1Api (leaseLockFor), so that serving needs no client-node (issue 23):
 * the two must read and write the same Lease the same way, MicroTime's six digits included.
 */
import { KubeConfig, V1MicroTime } from "@kubernetes/client-node";
import { startEmbeddedApi } from "../../apiserver/mod.ts";
import { httpLeaseLock, type LeaderElectionRecord, leaseLockFor } from "../../ha/mod.ts";
import { MicroTime } from "../../ha/lease_lock.ts";
import { KubeClient } from "../../kube/mod.ts";
import { assert, assertEquals } from "../assert.ts";

Deno.test("httpLeaseLock and leaseLockFor read and write the same Lease", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgecloud-lease-" });
  const api = await startEmbeddedApi({ dataDir: `${dir}/api`, hostname: "127.0.0.1", port: 0 });
  const kube = KubeClient.fromYaml(api.kubeconfigYaml, { transport: api.handle });
  try {
    const kc = new KubeConfig();
    kc.loadFromString(api.kubeconfigYaml);
    const typed = leaseLockFor(kc, "kube-system", "l1");
    const raw = httpLeaseLock(kube.http, "kube-system", "l1");
    assertEquals(await raw.get(), null);
    const t0 = Date.parse("2026-12-04T05:00:00.123Z");
    const record: LeaderElectionRecord = {
      holderIdentity: "a",
      leaseDurationSeconds: 15,
      acquireTime: t0,
      renewTime: t0,
      leaseTransitions: 0,
    };
    assert(await raw.create(record));
    assertEquals(await raw.create(record), false, "a second create loses (409)");
    const read = (await typed.get())!;
    assertEquals(read.record, record);
    const wire = await kube.get<{ spec: { renewTime: string } }>(
      "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/l1",
    );
    assertEquals(wire.spec.renewTime, "2026-12-04T05:00:00.123000Z");

    const renewed = { ...record, holderIdentity: "b", renewTime: t0 + 1000, leaseTransitions: 1 };
    assert(await typed.update(renewed, read.resourceVersion));
    const back = (await raw.get())!;
    assertEquals(back.record, renewed);
    assertEquals(await raw.update(record, read.resourceVersion), false, "stale version (409)");
    assert(await raw.update(record, back.resourceVersion));
    assertEquals((await typed.get())!.record, record);
    assertEquals(await httpLeaseLock(kube.http, "kube-system", "none").update(record, "1"), false);

    // The local MicroTime is client-node's V1MicroTime.
    assertEquals(new MicroTime(t0).toISOString(), new V1MicroTime(t0).toISOString());
    assertEquals(
      JSON.stringify({ t: new MicroTime(t0) }),
      JSON.stringify({ t: new V1MicroTime(t0) }),
    );
  } finally {
    await kube.close();
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
});
