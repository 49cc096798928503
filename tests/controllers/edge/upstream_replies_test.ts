/**
 * The replies EdgeController sends to edge requests, checked on the wire (the JSON cloudhub
 * writes) against what cloudcore v1.23.1 sends: which replies carry a `resourceversion`, what
 * `Object` is next to an error, how many replies a podstatus message gets, which failures get
 * no reply at all. See docs/compatibility.md, "EdgeController replies and pod status".
 */
import { assert, assertEquals } from "../../assert.ts";
import { encodeMessage, type Message } from "../../../modules/mod.ts";
import { noAckRequired } from "../../../hub/classify.ts";
import { edgeNode, eventually, type HubRecorder, pod, withEnv } from "./harness.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** The message as it goes over the wire (Go's JSON). */
function wire(m: Message): Json {
  return JSON.parse(encodeMessage(m));
}

/** Replies to `req`, in the order cloudhub got them. */
function repliesTo(hub: HubRecorder, req: Message): Message[] {
  return hub.messages.filter((m) => m.header.parentId === req.header.id);
}

/** `&v1.Node{}` as Go marshals it (client-go returns it next to an error). */
const ZERO_NODE = {
  metadata: { creationTimestamp: null },
  spec: {},
  status: {
    daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
    nodeInfo: {
      machineID: "",
      systemUUID: "",
      bootID: "",
      kernelVersion: "",
      osImage: "",
      containerRuntimeVersion: "",
      kubeletVersion: "",
      kubeProxyVersion: "",
      operatingSystem: "",
      architecture: "",
    },
  },
};
const ZERO_POD = { metadata: { creationTimestamp: null }, spec: { containers: null }, status: {} };
const ZERO_LEASE = { metadata: { creationTimestamp: null }, spec: {} };
const ZERO_CSR = {
  metadata: { creationTimestamp: null },
  spec: { request: null, signerName: "" },
  status: {},
};

/** One worker per pool involved, so a later request proves an earlier one was handled. */
const ONE_WORKER = {
  load: {
    createNodeWorkers: 1,
    updateNodeWorkers: 1,
    queryNodeWorkers: 1,
    updatePodStatusWorkers: 1,
    queryConfigMapWorkers: 1,
  },
};

Deno.test("replies: nodestatus insert answers OK without a resourceversion; name from the route; failures are cloudcore's error strings", async () => {
  await withEnv(async ({ request, kube }) => {
    const created = wire(
      await request("edge-1", "default/nodestatus/edge-1", "insert", edgeNode("edge-1")),
    );
    assertEquals(created.content, "OK");
    assertEquals("resourceversion" in created.header, false);
    assertEquals(created.route.resource, "node/edge-1/default/node/edge-1");
    const existing = wire(
      await request("edge-1", "default/nodestatus/edge-1", "insert", edgeNode("edge-1")),
    );
    assertEquals(existing.content, "OK");
    assertEquals("resourceversion" in existing.header, false);

    // cloudcore names the node after the route, whatever metadata.name says.
    const renamed = await request("edge-7", "default/nodestatus/edge-7", "insert", {
      metadata: { name: "someone-else" },
    });
    assertEquals(renamed.content, "OK");
    assertEquals((await kube.get<Json>("/api/v1/nodes/edge-7")).metadata.name, "edge-7");
    await kube.get("/api/v1/nodes/someone-else").then(
      () => Promise.reject(new Error("someone-else was created")),
      () => {},
    );

    const bad = await request("edge-8", "default/nodestatus/edge-8", "insert", [1, 2]);
    assertEquals(typeof bad.content, "string");
    assert(
      (bad.content as string).startsWith(
        `message: ${bad.header.parentId} process failure, unmarshal marshaled message content with error: `,
      ),
      bad.content as string,
    );
    assertEquals(bad.route.resource, "node/edge-8/default/node/edge-8");

    // Refused like cloudcore's impersonated GET would be: its "get node" error string.
    const refused = await request("edge-1", "default/nodestatus/edge-9", "insert", edgeNode("x"));
    assert(
      (refused.content as string).startsWith(
        'get node edge-9 info error: nodes "edge-9" is forbidden',
      ) &&
        (refused.content as string).endsWith(" , register node failed"),
      refused.content as string,
    );
  });
});

Deno.test("replies: node insert takes the route's name; ObjectResp without resourceversion; an error comes with client-go's empty Node", async () => {
  await withEnv(async ({ request, kube }) => {
    const body = {
      metadata: { name: "not-me", labels: { "kubernetes.io/hostname": "edge-2", zone: "a" } },
    };
    const ok = wire(await request("edge-2", "default/node/edge-2", "insert", body));
    assertEquals("resourceversion" in ok.header, false);
    assertEquals(ok.content.Err, null);
    assertEquals(ok.content.Object.metadata.name, "edge-2");
    assertEquals(ok.content.Object.metadata.labels["kubernetes.io/hostname"], "edge-2");
    await kube.get("/api/v1/nodes/not-me").then(
      () => Promise.reject(new Error("not-me was created")),
      () => {},
    );

    // AlreadyExists: the empty Node, with the kubernetes.io labels cloudcore's deferred
    // re-labelling puts into it, and the StatusError without kind/apiVersion.
    const again = wire(await request("edge-2", "default/node/edge-2", "insert", body));
    assertEquals("resourceversion" in again.header, false);
    assertEquals(again.content.Object, {
      ...ZERO_NODE,
      metadata: { creationTimestamp: null, labels: { "kubernetes.io/hostname": "edge-2" } },
    });
    assertEquals(Object.keys(again.content.Err), ["ErrStatus"]);
    const st = again.content.Err.ErrStatus;
    assertEquals(st.reason, "AlreadyExists");
    assertEquals(st.code, 409);
    assertEquals("kind" in st || "apiVersion" in st, false);
    assertEquals(Object.keys(st), ["metadata", "status", "message", "reason", "details", "code"]);

    // Refused: the same shape (edgeNode's node-role.kubernetes.io label is one of those).
    const refused = wire(await request("edge-2", "default/node/edge-3", "insert", edgeNode("x")));
    assertEquals(refused.content.Object, {
      ...ZERO_NODE,
      metadata: { creationTimestamp: null, labels: { "node-role.kubernetes.io/edge": "" } },
    });
    assertEquals(refused.content.Err.ErrStatus.reason, "Forbidden");

    // Content that is not a Node: cloudcore's error string on .../node/<name>.
    const bad = await request("edge-4", "default/node/edge-4", "insert", "not json");
    assert((bad.content as string).includes("unmarshal marshaled message content"));
    assertEquals(bad.route.resource, "node/edge-4/default/node/edge-4");
  });
});

Deno.test("replies: node update answers OK with the resourceversion; a missing node, a refused one and an undecodable body get no reply", async () => {
  await withEnv(async ({ request, send, kube, hub }) => {
    await kube.create("/api/v1/nodes", edgeNode("edge-1"));
    const labels = { metadata: { labels: { zone: "b" } } };
    const missing = await send("ghost", "default/node/ghost", "update", labels);
    const refused = await send("edge-1", "default/node/edge-9", "update", labels);
    const bad = await send("edge-1", "default/node/edge-1", "update", "not json");
    const ok = await request("edge-1", "default/node/edge-1", "update", labels);
    assertEquals(ok.content, "OK");
    const node: Json = await kube.get("/api/v1/nodes/edge-1");
    assertEquals(ok.header.resourceVersion, node.metadata.resourceVersion);
    assertEquals(ok.route.resource, "node/edge-1/default/node/edge-1");
    // One worker: the OK came after the three before it were handled.
    for (const m of [missing, refused, bad]) assertEquals(repliesTo(hub, m), []);
  }, ONE_WORKER);
});

Deno.test("replies: node query carries the resourceversion; a missing node is the lister's NotFound; no name gets no reply", async () => {
  await withEnv(async ({ request, send, kube, hub }) => {
    const missing = wire(await request("edge-5", "default/node/edge-5", "query", null));
    assertEquals("resourceversion" in missing.header, false);
    assertEquals(missing.content, {
      ErrStatus: {
        metadata: {},
        status: "Failure",
        message: 'node "edge-5" not found',
        reason: "NotFound",
        details: { name: "edge-5", kind: "node" },
        code: 404,
      },
    });
    await kube.create("/api/v1/nodes", edgeNode("edge-5"));
    const found = await request("edge-5", "default/node/edge-5", "query", null);
    assertEquals((found.content as Json).metadata.name, "edge-5");
    assert(found.header.resourceVersion);
    assertEquals(found.header.resourceVersion, (found.content as Json).metadata.resourceVersion);
    const nameless = await send("edge-5", "default/node", "query", null);
    await request("edge-5", "default/node/edge-5", "query", null);
    assertEquals(repliesTo(hub, nameless), []);
  }, ONE_WORKER);
});

Deno.test("replies: nodepatch and podpatch errors come with the empty object and no resourceversion", async () => {
  await withEnv(async ({ request }) => {
    const np = wire(await request("edge-4", "default/nodepatch/edge-4", "patch", "{}"));
    assertEquals("resourceversion" in np.header, false);
    assertEquals(np.content.Object, ZERO_NODE);
    assertEquals(np.content.Err.ErrStatus.reason, "NotFound");
    const pp = wire(await request("edge-4", "default/podpatch/nope", "patch", "{}"));
    assertEquals("resourceversion" in pp.header, false);
    assertEquals(pp.content.Object, ZERO_POD);
    assertEquals(pp.content.Err.ErrStatus.reason, "NotFound");
  });
});

Deno.test("replies: pod insert error comes with client-go's empty Pod; success keeps the resourceversion", async () => {
  await withEnv(async ({ request }) => {
    const first = wire(await request("edge-1", "default/pod/m", "insert", pod("m", "edge-1")));
    assertEquals(first.content.Err, null);
    assertEquals(first.header.resourceversion, first.content.Object.metadata.resourceVersion);
    const again = wire(await request("edge-1", "default/pod/m", "insert", pod("m", "edge-1")));
    assertEquals("resourceversion" in again.header, false);
    assertEquals(again.content.Object, ZERO_POD);
    assertEquals(again.content.Err.ErrStatus.reason, "AlreadyExists");
  });
});

Deno.test("replies: a podstatus message with several pods gets one reply per pod, none with a resourceversion", async () => {
  await withEnv(async ({ send, request, kube, hub }) => {
    await kube.create("/api/v1/nodes", edgeNode("edge-1"));
    const a: Json = await kube.create("/api/v1/namespaces/default/pods", pod("a", "edge-1"));
    const b: Json = await kube.create("/api/v1/namespaces/default/pods", pod("b", "edge-1"));
    const c: Json = await kube.create("/api/v1/namespaces/default/pods", pod("c", "edge-2"));
    const running = { phase: "Running" };
    const msg = await send("edge-1", "default/podstatus", "update", [
      { UID: a.metadata.uid, Name: "a", Status: running },
      { UID: "stale", Name: "gone", Status: running },
      { UID: b.metadata.uid, Name: "b", Status: running },
      { UID: c.metadata.uid, Name: "c", Status: running }, // bound to another node: refused
      { UID: "x", Status: running }, // no name: client-go's plain error
    ]);
    const replies = await eventually(
      () => Promise.resolve(repliesTo(hub, msg).length === 5 && repliesTo(hub, msg)),
      "five replies",
    );
    const onWire = replies.map(wire);
    assertEquals(onWire.map((r) => r.content), [
      "OK",
      "OK",
      "OK",
      onWire[3].content,
      {},
    ]);
    assertEquals(onWire[3].content.ErrStatus.reason, "Forbidden");
    for (const r of onWire) {
      assertEquals("resourceversion" in r.header, false);
      assertEquals(r.route.resource, "node/edge-1/default/podstatus");
      assertEquals(r.route.operation, "response");
    }
    // The plain error is an error to cloudhub (no ACK wait), as cloudcore's Go error value is.
    assert(replies[4].content instanceof Error);
    assert(noAckRequired(replies[4]));
    // "OK" for the pod the cloud does not have, then the delete to the edge.
    const del = hub.messages.findIndex((m) =>
      m.route.operation === "delete" && m.route.resource === "node/edge-1/default/pod/gone"
    );
    assert(del > hub.messages.indexOf(replies[1]));
    assertEquals(
      (await kube.get<Json>("/api/v1/namespaces/default/pods/a")).status.phase,
      "Running",
    );
    assertEquals(
      (await kube.get<Json>("/api/v1/namespaces/default/pods/b")).status.phase,
      "Running",
    );

    // An empty list: no reply at all (one worker: the next request proves it was handled).
    const empty = await send("edge-1", "default/podstatus", "update", []);
    const single = await send("edge-1", "default/podstatus/a", "update", {
      UID: a.metadata.uid,
      Name: "a",
      Status: running,
    });
    const answer = await hub.waitFor((m) => m.header.parentId === single.header.id, "reply");
    assertEquals(answer.content, "OK");
    // A second request in the same pool: once it is answered, no second reply to `single` came.
    await request("edge-1", "default/podstatus/a", "update", {
      UID: a.metadata.uid,
      Name: "a",
      Status: running,
    });
    assertEquals(repliesTo(hub, single).length, 1);
    assertEquals(repliesTo(hub, empty), []);
  }, ONE_WORKER);
});

Deno.test("replies: a podstatus without the pod's UID is for a pod the cloud does not have (cloudcore compares UIDs as they are)", async () => {
  await withEnv(async ({ request, kube, hub }) => {
    await kube.create("/api/v1/nodes", edgeNode("edge-1"));
    await kube.create("/api/v1/namespaces/default/pods", pod("web", "edge-1"));
    const resp = await request("edge-1", "default/podstatus/web", "update", {
      Name: "web",
      Status: { phase: "Running" },
    });
    assertEquals(resp.content, "OK");
    await hub.waitFor(
      (m) => m.route.operation === "delete" && m.route.resource === "node/edge-1/default/pod/web",
      "delete to the edge",
    );
    const stored: Json = await kube.get("/api/v1/namespaces/default/pods/web");
    assert(stored.status?.phase !== "Running", "the status was not written");
  });
});

Deno.test("replies: lease writes and queries carry no resourceversion; errors come with the empty Lease (writes) or null (queries); bad content gets cloudcore's string", async () => {
  await withEnv(async ({ request }) => {
    const lease = {
      metadata: { name: "edge-1", namespace: "kube-node-lease" },
      spec: { holderIdentity: "edge-1", leaseDurationSeconds: 40 },
    };
    const ins = wire(await request("edge-1", "kube-node-lease/lease/edge-1", "insert", lease));
    assertEquals("resourceversion" in ins.header, false);
    assertEquals(ins.content.Err, null);
    const dup = wire(await request("edge-1", "kube-node-lease/lease/edge-1", "insert", lease));
    assertEquals("resourceversion" in dup.header, false);
    assertEquals(dup.content.Object, ZERO_LEASE);
    assertEquals(dup.content.Err.ErrStatus.reason, "AlreadyExists");
    const q = wire(await request("edge-1", "kube-node-lease/lease/edge-1", "query", null));
    assertEquals("resourceversion" in q.header, false);
    assertEquals(q.content.Object.kind, "Lease");
    const missing = wire(await request("edge-3", "kube-node-lease/lease/edge-3", "query", null));
    assertEquals(missing.content, {
      Object: null,
      Err: {
        ErrStatus: {
          metadata: {},
          status: "Failure",
          message: 'lease.coordination.k8s.io "edge-3" not found',
          reason: "NotFound",
          details: { name: "edge-3", group: "coordination.k8s.io", kind: "lease" },
          code: 404,
        },
      },
    });
    const bad = await request("edge-1", "kube-node-lease/lease/edge-1", "update", "{");
    assert(
      (bad.content as string).startsWith(
        `message: ${bad.header.parentId} process failure, unmarshal message content with error: `,
      ),
      bad.content as string,
    );
    assertEquals(bad.route.resource, "node/edge-1/kube-node-lease/node/edge-1");
  });
});

Deno.test("replies: configmap query (RV; lister NotFound), serviceaccounttoken (no RV), CSR insert (no RV; empty CSR on error)", async () => {
  await withEnv(async ({ request, send, kube, hub }) => {
    await kube.create("/api/v1/namespaces/default/configmaps", {
      metadata: { name: "cfg" },
      data: { k: "v" },
    });
    const cm = wire(await request("edge-1", "default/configmap/cfg", "query", null));
    assertEquals(cm.header.resourceversion, cm.content.metadata.resourceVersion);
    const missing = wire(await request("edge-1", "default/configmap/none", "query", null));
    assertEquals("resourceversion" in missing.header, false);
    assertEquals(missing.content.ErrStatus.message, 'configmap "none" not found');
    assertEquals(missing.content.ErrStatus.details, { name: "none", kind: "configmap" });
    const nameless = await send("edge-1", "default/configmap", "query", null);
    await request("edge-1", "default/configmap/cfg", "query", null);
    assertEquals(repliesTo(hub, nameless), []);

    await kube.create("/api/v1/namespaces/default/serviceaccounts", { metadata: { name: "app" } });
    const tok = wire(
      await request("edge-1", "default/serviceaccounttoken/app", "query", {
        metadata: { name: "app", namespace: "default" },
        spec: { audiences: ["api"], expirationSeconds: 3600 },
      }),
    );
    assertEquals("resourceversion" in tok.header, false);
    assertEquals(tok.content.kind, "TokenRequest");

    const csr = {
      metadata: { name: "csr-1" },
      spec: {
        request: btoa(
          "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n",
        ),
        signerName: "kubernetes.io/kubelet-serving",
        usages: ["server auth"],
      },
    };
    const ins = wire(
      await request("edge-1", "null/certificatesigningrequest/csr-1", "insert", csr),
    );
    assertEquals("resourceversion" in ins.header, false);
    assertEquals(ins.content.Err, null);
    const dup = wire(
      await request("edge-1", "null/certificatesigningrequest/csr-1", "insert", csr),
    );
    assertEquals(dup.content.Object, ZERO_CSR);
    assertEquals(dup.content.Err.ErrStatus.reason, "AlreadyExists");
    const q = wire(await request("edge-1", "null/certificatesigningrequest/csr-1", "query", null));
    assertEquals(q.header.resourceversion, q.content.metadata.resourceVersion);
    // kubelet's CSR has only generateName, so the resource has no name: served all the same
    // (cloudcore drops it; a deliberate difference).
    const generated = wire(
      await request("edge-1", "default/certificatesigningrequest/", "insert", {
        metadata: { generateName: "csr-" },
        spec: csr.spec,
      }),
    );
    assertEquals(generated.content.Err, null);
    assert(generated.content.Object.metadata.name.startsWith("csr-"));
  }, { ...ONE_WORKER, nodeAuthorization: false });
});

Deno.test("replies: a plain (non-API) error is {} on the wire and no ACK is awaited for it", async () => {
  await withEnv(
    async ({ request, api }) => {
      await api.close();
      const resp = await request("edge-1", "default/configmap/cfg", "query", null);
      assert(resp.content instanceof Error);
      assertEquals(wire(resp).content, {});
      assertEquals("resourceversion" in wire(resp).header, false);
      assert(noAckRequired(resp));
    },
    { nodeAuthorization: false },
    undefined,
    { maxAttempts: 2, backoffMs: 5, maxBackoffMs: 10 },
  );
});
