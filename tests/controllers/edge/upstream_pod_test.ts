import { assert, assertEquals } from "../../assert.ts";
import { isNotFound } from "../../../kube/mod.ts";
import { edgeNode, eventually, pod, withEnv } from "./harness.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test("upstream podstatus (single): merges and updates status; container statuses sorted; OK", async () => {
  await withEnv(async ({ request, kube }) => {
    await kube.create("/api/v1/nodes", edgeNode("edge-1"));
    const p: Json = await kube.create("/api/v1/namespaces/default/pods", pod("web", "edge-1"));
    const status = {
      phase: "Running",
      startTime: "2026-11-24T10:00:00.123Z",
      conditions: [{ type: "Ready", status: "True" }],
      containerStatuses: [
        {
          name: "b",
          ready: true,
          restartCount: 0,
          image: "x",
          imageID: "",
          state: { running: { startedAt: "2026-11-24T10:00:01.5Z" } },
        },
        {
          name: "a",
          ready: true,
          restartCount: 0,
          image: "x",
          imageID: "",
          state: { running: {} },
        },
      ],
    };
    const resp = await request("edge-1", "default/podstatus/web", "update", {
      UID: p.metadata.uid,
      Name: "web",
      Status: status,
    });
    assertEquals(resp.content, "OK");
    const got: Json = await kube.get("/api/v1/namespaces/default/pods/web");
    assertEquals(got.status.phase, "Running");
    assertEquals(got.status.containerStatuses.map((c: Json) => c.name), ["a", "b"]);
    assertEquals(got.status.containerStatuses[1].state.running.startedAt, "2026-11-24T10:00:01Z");
    assertEquals(got.status.startTime, "2026-11-24T10:00:00Z");
    assert(got.status.conditions[0].lastTransitionTime);
  });
});

Deno.test("upstream podstatus (array): UID mismatch → OK and a delete of <ns>/pod/<name> to the edge", async () => {
  await withEnv(async ({ request, kube, hub }) => {
    await kube.create("/api/v1/nodes", edgeNode("edge-1"));
    const p: Json = await kube.create("/api/v1/namespaces/default/pods", pod("a", "edge-1"));
    const resp = await request("edge-1", "default/podstatus", "update", [
      { uid: p.metadata.uid, name: "a", status: { phase: "Running" } },
      { UID: "stale-uid", Name: "gone", Status: { phase: "Running" } },
    ]);
    assertEquals(resp.content, "OK");
    const del = await hub.waitFor(
      (m) => m.route.operation === "delete" && m.route.resource === "node/edge-1/default/pod/gone",
      "delete to edge",
    );
    assertEquals((del.content as Json).metadata.name, "gone");
    assertEquals((del.content as Json).metadata.namespace, "default");
    const got: Json = await kube.get("/api/v1/namespaces/default/pods/a");
    assertEquals(got.status.phase, "Running");
  });
});

Deno.test("upstream podstatus: a terminating pod that finished is deleted with grace 0", async () => {
  await withEnv(async ({ request, kube }) => {
    await kube.create("/api/v1/nodes", edgeNode("edge-1"));
    const p: Json = await kube.create("/api/v1/namespaces/default/pods", pod("job", "edge-1"));
    // A bound pod is deleted gracefully: it stays with a deletionTimestamp until the node is done.
    await kube.delete("/api/v1/namespaces/default/pods/job", { gracePeriodSeconds: 30 });
    const cur: Json = await kube.get("/api/v1/namespaces/default/pods/job");
    assert(cur.metadata.deletionTimestamp);
    const resp = await request("edge-1", "default/podstatus/job", "update", {
      UID: p.metadata.uid,
      Name: "job",
      Status: {
        phase: "Succeeded",
        containerStatuses: [{
          name: "c",
          ready: false,
          restartCount: 0,
          image: "x",
          imageID: "",
          state: { terminated: { exitCode: 0 } },
        }],
      },
    });
    assertEquals(resp.content, "OK");
    await eventually(
      () => kube.get("/api/v1/namespaces/default/pods/job").then(() => false, (e) => isNotFound(e)),
      "pod deleted",
    );
  });
});

Deno.test("upstream podpatch: strategic merge on pod status; ObjectResp with RV; other node's pod → Forbidden", async () => {
  await withEnv(async ({ request, kube }) => {
    await kube.create("/api/v1/nodes", edgeNode("edge-1"));
    await kube.create("/api/v1/namespaces/default/pods", pod("web", "edge-1"));
    await kube.create("/api/v1/namespaces/default/pods", pod("other", "edge-2"));
    const resp = await request(
      "edge-1",
      "default/podpatch/web",
      "update",
      JSON.stringify({ status: { phase: "Running", podIP: "10.1.0.5" } }),
    );
    const c = resp.content as Json;
    assertEquals(c.Err, null);
    assertEquals(c.Object.status.podIP, "10.1.0.5");
    assertEquals(resp.header.resourceVersion, c.Object.metadata.resourceVersion);
    const got: Json = await kube.get("/api/v1/namespaces/default/pods/web");
    assertEquals(got.status.podIP, "10.1.0.5");
    const denied = await request("edge-1", "default/podpatch/other", "patch", "{}");
    assertEquals((denied.content as Json).Err.ErrStatus.reason, "Forbidden");
  });
});

Deno.test("upstream pod insert: a mirror pod bound to itself is created (ObjectResp + RV); bound elsewhere → Forbidden", async () => {
  await withEnv(async ({ request, kube }) => {
    const mirror = pod("static-web-edge-1", "edge-1");
    mirror.metadata!.annotations = { "kubernetes.io/config.mirror": "abc" };
    const resp = await request("edge-1", "default/pod/static-web-edge-1", "insert", mirror);
    const c = resp.content as Json;
    assertEquals(c.Err, null);
    assertEquals(c.Object.metadata.name, "static-web-edge-1");
    assertEquals(c.Object.kind, "Pod");
    assertEquals(resp.header.resourceVersion, c.Object.metadata.resourceVersion);
    await kube.get("/api/v1/namespaces/default/pods/static-web-edge-1");
    const denied = await request("edge-1", "default/pod/x", "insert", pod("x", "edge-2"));
    assertEquals((denied.content as Json).Err.ErrStatus.code, 403);
  });
});

Deno.test("upstream pod delete: UID string precondition → deleted, OK; stale UID and missing pod count as success", async () => {
  await withEnv(async ({ request, kube }) => {
    const p: Json = await kube.create("/api/v1/namespaces/default/pods", pod("web", "edge-1"));
    await kube.create("/api/v1/namespaces/default/pods", pod("keep", "edge-1"));
    const stale = await request("edge-1", "default/pod/keep", "delete", "not-the-uid");
    assertEquals(stale.content, "OK");
    await kube.get("/api/v1/namespaces/default/pods/keep"); // still there
    const resp = await request("edge-1", "default/pod/web", "delete", p.metadata.uid);
    assertEquals(resp.content, "OK");
    await eventually(
      () => kube.get("/api/v1/namespaces/default/pods/web").then(() => false, (e) => isNotFound(e)),
      "pod deleted",
    );
    const again = await request("edge-1", "default/pod/web", "delete", { gracePeriodSeconds: 0 });
    assertEquals(again.content, "OK");
  });
});

Deno.test("upstream podstatus from the informer's copy: a lagging copy conflicts and is re-read; a cache miss is checked against the API, never taken as gone", async () => {
  await withEnv(async ({ request, kube, ec, hub }) => {
    await kube.create("/api/v1/nodes", edgeNode("edge-1"));
    const p: Json = await kube.create("/api/v1/namespaces/default/pods", pod("web", "edge-1"));
    const informer = ec.downstream!.pods;
    const copy = await eventually(
      () => Promise.resolve(informer.get("web", "default")),
      "pod in the informer",
    );
    const stale = structuredClone(copy);
    const realGet = informer.get.bind(informer);
    informer.get = (name, ns) => name === "web" ? stale : realGet(name, ns);
    await kube.patch("/api/v1/namespaces/default/pods/web", {
      metadata: { labels: { changed: "yes" } },
    }, "application/merge-patch+json");
    const resp = await request("edge-1", "default/podstatus/web", "update", {
      UID: p.metadata.uid,
      Name: "web",
      Status: { phase: "Running" },
    });
    assertEquals(resp.content, "OK");
    const got: Json = await kube.get("/api/v1/namespaces/default/pods/web");
    assertEquals(got.status.phase, "Running");
    assertEquals(got.metadata.labels.changed, "yes");
    // A pod the informer has not seen yet is read from the API, not deleted on the edge.
    const late: Json = await kube.create("/api/v1/namespaces/default/pods", pod("late", "edge-1"));
    informer.get = (name, ns) => name === "late" ? undefined : realGet(name, ns);
    const resp2 = await request("edge-1", "default/podstatus/late", "update", {
      UID: late.metadata.uid,
      Name: "late",
      Status: { phase: "Running" },
    });
    assertEquals(resp2.content, "OK");
    assertEquals(
      (await kube.get<Json>("/api/v1/namespaces/default/pods/late")).status.phase,
      "Running",
    );
    assert(!hub.messages.some((m) => m.route.operation === "delete"));
  });
});

Deno.test("upstream podstatus: only Ready/Initialized transition times are recomputed; init container statuses stay in spec order", async () => {
  let now = Date.parse("2026-12-01T10:00:00Z");
  await withEnv(async ({ request, kube }) => {
    await kube.create("/api/v1/nodes", edgeNode("edge-1"));
    const p: Json = await kube.create(
      "/api/v1/namespaces/default/pods",
      pod("web", "edge-1", {
        initContainers: [{ name: "z-setup", image: "busybox" }, { name: "a-fetch", image: "x" }],
      }),
    );
    const init = (name: string) => ({
      name,
      ready: true,
      restartCount: 0,
      image: "x",
      imageID: "",
      state: { terminated: { exitCode: 0, startedAt: "2026-12-01T09:59:00Z" } },
    });
    const report = (ready: string, edgeTime: string) => ({
      UID: p.metadata.uid,
      Name: "web",
      Status: {
        phase: "Running",
        conditions: [
          { type: "Initialized", status: "True", lastTransitionTime: edgeTime },
          { type: "Ready", status: ready, lastTransitionTime: edgeTime },
          { type: "ContainersReady", status: ready, lastTransitionTime: edgeTime },
          { type: "PodScheduled", status: "True", lastTransitionTime: "2026-12-01T09:58:00Z" },
        ],
        initContainerStatuses: [init("z-setup"), init("a-fetch")],
      },
    });
    const cond = (pod: Json, type: string) =>
      pod.status.conditions.find((c: Json) => c.type === type).lastTransitionTime;

    assertEquals(
      (await request(
        "edge-1",
        "default/podstatus/web",
        "update",
        report("False", "2026-12-01T09:59:30Z"),
      ))
        .content,
      "OK",
    );
    const first: Json = await kube.get("/api/v1/namespaces/default/pods/web");
    assertEquals(cond(first, "Initialized"), "2026-12-01T10:00:00Z"); // new: now
    assertEquals(cond(first, "Ready"), "2026-12-01T10:00:00Z");
    assertEquals(cond(first, "ContainersReady"), "2026-12-01T09:59:30Z"); // as the edge sent it
    assertEquals(cond(first, "PodScheduled"), "2026-12-01T09:58:00Z");
    assertEquals(first.status.initContainerStatuses.map((c: Json) => c.name), [
      "z-setup",
      "a-fetch",
    ]);

    now = Date.parse("2026-12-01T10:05:00Z");
    await request(
      "edge-1",
      "default/podstatus/web",
      "update",
      report("True", "2026-12-01T10:04:50Z"),
    );
    const second: Json = await kube.get("/api/v1/namespaces/default/pods/web");
    assertEquals(cond(second, "Initialized"), "2026-12-01T10:00:00Z"); // unchanged status: kept
    assertEquals(cond(second, "Ready"), "2026-12-01T10:05:00Z"); // False → True: now
    assertEquals(cond(second, "ContainersReady"), "2026-12-01T10:04:50Z");
    assertEquals(second.status.initContainerStatuses.map((c: Json) => c.name), [
      "z-setup",
      "a-fetch",
    ]);
  }, { now: () => now });
});
