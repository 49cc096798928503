import { assert, assertEquals } from "../../assert.ts";
import { edgeNode, eventually, pod, withEnv } from "./harness.ts";
import { setLogSink } from "../../../lib/log.ts";
import { authorizationMode, NodeAuthorizer } from "../../../controllers/edge/authorize.ts";
import { LocationCache } from "../../../controllers/edge/location.ts";

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

Deno.test("upstream lease insert/update/query: ObjectResp without RV (as cloudcore); another node's lease → Forbidden", async () => {
  await withEnv(async ({ request, kube }) => {
    const ins = await request("edge-1", "kube-node-lease/lease/edge-1", "insert", lease("edge-1"));
    const c = ins.content as Json;
    assertEquals(c.Err, null);
    assertEquals(c.Object.spec.holderIdentity, "edge-1");
    assertEquals(ins.header.resourceVersion, undefined);
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
    assertEquals((q.content as Json).Object.metadata.resourceVersion, got.metadata.resourceVersion);
    assertEquals(q.header.resourceVersion, undefined);
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
    await kube.create("/api/v1/nodes", edgeNode("edge-1"));
    await kube.create("/api/v1/namespaces/default/pods", pod("web", "edge-1"));
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

/** An Event as kubelet (edged) records it: node events in "default", pod events in the pod's. */
function event(name: string, ns: string, involved: Json): Json {
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name, namespace: ns },
    involvedObject: involved,
    reason: "Test",
    message: "m",
    type: "Normal",
    count: 1,
    source: { component: "kubelet", host: "edge-1" },
  };
}

const NODE_REF = { kind: "Node", name: "edge-1", uid: "edge-1", namespace: "" };
const podRef = (name: string, namespace = "default") => ({
  kind: "Pod",
  apiVersion: "v1",
  name,
  namespace,
  uid: `uid-${name}`,
});

Deno.test("upstream events: a node records events only about itself and its pods (Forbidden otherwise)", async () => {
  const lines: string[] = [];
  const previous = setLogSink((_level, line) => lines.push(line));
  try {
    await withEnv(async ({ send, kube, hub }) => {
      await kube.create("/api/v1/nodes", edgeNode("edge-1"));
      await kube.create("/api/v1/nodes", edgeNode("edge-2"));
      await kube.create("/api/v1/namespaces/default/pods", pod("web", "edge-1"));
      await kube.create("/api/v1/namespaces/default/pods", pod("other", "edge-2"));
      await kube.create("/api/v1/namespaces/kube-system/pods", {
        ...pod("sysweb", "edge-1"),
        metadata: { name: "sysweb", namespace: "kube-system" },
      });
      await hub.waitFor((m) => m.route.resource === "node/edge-2/default/pod/other", "pod other");
      // Written by someone else (the admin): a node must not overwrite it.
      await kube.create(
        "/api/v1/namespaces/default/events",
        event("theirs", "default", { ...NODE_REF, name: "edge-2", uid: "edge-2" }),
      );
      const denied: [string, string, Json][] = [
        ["insert", "kube-system/event/n1", event("n1", "kube-system", NODE_REF)],
        ["insert", "default/event/n2", event("n2", "default", { ...NODE_REF, name: "edge-2" })],
        ["insert", "kube-system/event/p1", event("p1", "kube-system", podRef("web"))],
        ["insert", "default/event/p2", event("p2", "default", podRef("other"))],
        ["insert", "default/event/p3", event("p3", "default", podRef("ghost"))],
        ["insert", "default/event/d1", event("d1", "default", { kind: "Deployment", name: "x" })],
        ["insert", "default/event/x1", { ...event("x1", "default", null), involvedObject: 5 }],
        ["update", "default/event/theirs", event("theirs", "default", NODE_REF)],
        ["patch", "default/event/theirs", {
          event: event("theirs", "default", NODE_REF),
          patchData: JSON.stringify({ count: 9 }),
        }],
      ];
      for (const [op, resource, body] of denied) await send("edge-1", resource, op, body);
      const allowed: [string, Json][] = [
        ["default/event/ok-node", event("ok-node", "default", NODE_REF)],
        ["default/event/ok-pod", event("ok-pod", "default", podRef("web"))],
        [
          "kube-system/event/ok-sys",
          event("ok-sys", "kube-system", podRef("sysweb", "kube-system")),
        ],
      ];
      for (const [resource, body] of allowed) await send("edge-1", resource, "insert", body);
      for (const [, body] of allowed) {
        await eventually(
          () =>
            kube.get(`/api/v1/namespaces/${body.metadata.namespace}/events/${body.metadata.name}`)
              .catch(() => undefined),
          body.metadata.name,
        );
      }
      // A node's own event: a patch that tries to move it to another node is refused too.
      await send("edge-1", "default/event/ok-node", "patch", {
        event: event("ok-node", "default", NODE_REF),
        patchData: JSON.stringify({ involvedObject: { name: "edge-2" } }),
      });
      const refusals = () => lines.filter((l) => l.includes("event refused"));
      await eventually(
        () => Promise.resolve(refusals().length >= denied.length + 1),
        "refusals logged",
      );
      for (const l of refusals()) {
        assert(l.includes("is forbidden: User") && l.includes("system:node:edge-1"), l);
      }
      for (const [, resource] of denied) {
        const [ns, , name] = resource.split("/");
        if (name === "theirs") continue;
        const got = await kube.get(`/api/v1/namespaces/${ns}/events/${name}`).catch(() => null);
        assertEquals(got, null, resource);
      }
      const theirs: Json = await kube.get("/api/v1/namespaces/default/events/theirs");
      assertEquals(theirs.involvedObject.name, "edge-2");
      assertEquals(theirs.count, 1);
      const own: Json = await kube.get("/api/v1/namespaces/default/events/ok-node");
      assertEquals(own.involvedObject.name, "edge-1");
    });
  } finally {
    setLogSink(previous);
  }
});

Deno.test("NodeAuthorizer.event: Forbidden names the node and the reason; live re-check for new pods", async () => {
  await withEnv(async ({ kube }) => {
    await kube.create("/api/v1/namespaces/default/pods", pod("fresh", "edge-1"));
    // An empty cache: the pod is found by the live re-check.
    const auth = new NodeAuthorizer(new LocationCache(), kube);
    assertEquals(await auth.event("edge-1", event("e", "default", podRef("fresh"))), null);
    assertEquals(await auth.event("edge-1", event("e", "default", NODE_REF)), null);
    const st = await auth.event("edge-1", event("e", "kube-system", NODE_REF));
    assertEquals(st?.code, 403);
    assertEquals(st?.reason, "Forbidden");
    assertEquals(
      st?.message,
      'events "kube-system/e" is forbidden: User "system:node:edge-1" cannot access it: ' +
        'an event about the node must be in namespace "default"',
    );
    const other = await auth.event("edge-2", event("e", "default", podRef("fresh")));
    assertEquals(
      other?.message,
      'events "default/e" is forbidden: User "system:node:edge-2" cannot access it: ' +
        "the event's pod default/fresh is not bound to this node",
    );
    const off = new NodeAuthorizer(new LocationCache(), kube, "off");
    assertEquals(await off.event("edge-2", event("e", "kube-system", NODE_REF)), null);
    // debug: the denial is only logged, as cloudcore's authorizer with `debug: true`.
    const debug = new NodeAuthorizer(new LocationCache(), kube, "debug");
    assertEquals(await debug.event("edge-2", event("e", "kube-system", NODE_REF)), null);
    assertEquals(debug.ownNode("edge-2", "edge-1"), null);
  });
});

Deno.test("authorizationMode follows cloudcore.yaml's cloudHub.authorization like cloudcore", () => {
  const node = [{ node: { enable: true } }];
  assertEquals(authorizationMode({ enable: true, debug: false, modes: node }), "enforce");
  assertEquals(authorizationMode({ enable: true, debug: true, modes: node }), "debug");
  // KubeEdge's own default ({enable: false, debug: true}) checks nothing.
  assertEquals(authorizationMode({ enable: false, debug: true, modes: node }), "off");
  assertEquals(authorizationMode({ enable: false, debug: false, modes: node }), "off");
  assertEquals(
    authorizationMode({ enable: true, debug: false, modes: [{ node: { enable: false } }] }),
    "off",
  );
});
