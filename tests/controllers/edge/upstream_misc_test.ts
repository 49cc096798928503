import { assert, assertEquals } from "../../assert.ts";
import { eventually, withEnv } from "./harness.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

function lease(node: string, rv?: string): Json {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: node, namespace: "kube-node-lease", ...(rv ? { resourceVersion: rv } : {}) },
    spec: {
      holderIdentity: node,
      leaseDurationSeconds: 40,
      renewTime: "2026-11-24T12:00:00.000000Z",
    },
  };
}

Deno.test("upstream lease insert/update/query: ObjectResp with RV; another node's lease → Forbidden", async () => {
  await withEnv(async ({ request, kube }) => {
    const ins = await request("edge-1", "kube-node-lease/lease/edge-1", "insert", lease("edge-1"));
    const c = ins.content as Json;
    assertEquals(c.Err, null);
    assertEquals(c.Object.spec.holderIdentity, "edge-1");
    assertEquals(ins.header.resourceVersion, c.Object.metadata.resourceVersion);
    const l = lease("edge-1", c.Object.metadata.resourceVersion);
    l.spec.renewTime = "2026-11-24T12:00:10.000000Z";
    const upd = await request("edge-1", "kube-node-lease/lease/edge-1", "update", l);
    assertEquals((upd.content as Json).Err, null);
    const got: Json = await kube.get(
      "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/edge-1",
    );
    assertEquals(got.spec.renewTime, "2026-11-24T12:00:10.000000Z");
    const q = await request("edge-1", "kube-node-lease/lease/edge-1", "query", null);
    assertEquals((q.content as Json).Object.metadata.name, "edge-1");
    assertEquals(q.header.resourceVersion, got.metadata.resourceVersion);
    const denied = await request("edge-2", "kube-node-lease/lease/edge-1", "query", null);
    assertEquals((denied.content as Json).Object, null);
    assertEquals((denied.content as Json).Err.ErrStatus.reason, "Forbidden");
  });
});

Deno.test("upstream certificatesigningrequest insert (ObjectResp) and query (object)", async () => {
  await withEnv(async ({ request }) => {
    const csr = {
      apiVersion: "certificates.k8s.io/v1",
      kind: "CertificateSigningRequest",
      metadata: { name: "csr-edge-1" },
      spec: {
        request: btoa(
          "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n",
        ),
        signerName: "kubernetes.io/kubelet-serving",
        usages: ["digital signature", "server auth"],
      },
    };
    const ins = await request("edge-1", "null/certificatesigningrequest/csr-edge-1", "insert", csr);
    const c = ins.content as Json;
    assertEquals(c.Err, null, JSON.stringify(c.Err));
    assertEquals(c.Object.metadata.name, "csr-edge-1");
    const q = await request("edge-1", "null/certificatesigningrequest/csr-edge-1", "query", null);
    assertEquals((q.content as Json).kind, "CertificateSigningRequest");
    assert(q.header.resourceVersion);
    const denied = await request(
      "edge-2",
      "null/certificatesigningrequest/csr-edge-1",
      "query",
      null,
    );
    assertEquals((denied.content as Json).ErrStatus.reason, "Forbidden");
  });
});

Deno.test("upstream event insert / update / patch reach the API and get no reply", async () => {
  await withEnv(async ({ send, kube, hub }) => {
    const ev = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "web.1", namespace: "default" },
      involvedObject: { kind: "Pod", name: "web", namespace: "default" },
      reason: "Started",
      message: "Started container",
      type: "Normal",
      count: 1,
      source: { component: "kubelet", host: "edge-1" },
    };
    const m1 = await send("edge-1", "default/event/web.1", "insert", ev);
    const created: Json = await eventually(
      () => kube.get("/api/v1/namespaces/default/events/web.1").catch(() => undefined),
      "event created",
    );
    await send("edge-1", "default/event/web.1", "update", { ...created, count: 2 });
    await eventually(
      () => kube.get<Json>("/api/v1/namespaces/default/events/web.1").then((e) => e.count === 2),
      "event updated",
    );
    const m3 = await send("edge-1", "default/event/web.1", "patch", {
      event: created,
      patchData: JSON.stringify({ count: 3, message: "again" }),
    });
    await eventually(
      () => kube.get<Json>("/api/v1/namespaces/default/events/web.1").then((e) => e.count === 3),
      "event patched",
    );
    assertEquals(
      hub.messages.filter((m) =>
        m.header.parentId === m1.header.id || m.header.parentId === m3.header.id
      ),
      [],
    );
  });
});
