/** API semantics over raw HTTPS: metadata, concurrency, deletion, selectors, paging, watch. */
import { assert, assertEquals } from "../assert.ts";
import { rawRequest, rawWatch, startTestApi, waitFor } from "./helpers.ts";

const CM = "/api/v1/namespaces/default/configmaps";

Deno.test("create: generateName, uid, creationTimestamp, AlreadyExists, dryRun", async () => {
  const api = await startTestApi();
  try {
    const a = await rawRequest(
      api,
      "POST",
      CM,
      JSON.stringify({ metadata: { generateName: "gen-" } }),
    );
    assertEquals(a.status, 201);
    const meta = a.json.metadata as Record<string, string>;
    assert(/^gen-[a-z0-9]{5}$/.test(meta.name), meta.name);
    assert(meta.uid && meta.creationTimestamp && meta.resourceVersion);
    const dup = await rawRequest(
      api,
      "POST",
      CM,
      JSON.stringify({ metadata: { name: meta.name } }),
    );
    assertEquals([dup.status, dup.json.reason], [409, "AlreadyExists"]);
    const dry = await rawRequest(
      api,
      "POST",
      `${CM}?dryRun=All`,
      JSON.stringify({ metadata: { name: "dry" } }),
    );
    assertEquals(dry.status, 201);
    assertEquals((await rawRequest(api, "GET", `${CM}/dry`)).status, 404);
    const noNs = await rawRequest(
      api,
      "POST",
      "/api/v1/namespaces/missing/configmaps",
      JSON.stringify({ metadata: { name: "x" } }),
    );
    assertEquals([noNs.status, noNs.json.reason], [404, "NotFound"]);
  } finally {
    await api.dispose();
  }
});

Deno.test("update: 409 on stale resourceVersion; resourceVersion increases on every write", async () => {
  const api = await startTestApi();
  try {
    const c = await rawRequest(
      api,
      "POST",
      CM,
      JSON.stringify({ metadata: { name: "c" }, data: { a: "1" } }),
    );
    const rv1 = Number((c.json.metadata as Record<string, string>).resourceVersion);
    const u = await rawRequest(
      api,
      "PUT",
      `${CM}/c`,
      JSON.stringify({ metadata: { name: "c", resourceVersion: String(rv1) }, data: { a: "2" } }),
    );
    assertEquals(u.status, 200);
    const rv2 = Number((u.json.metadata as Record<string, string>).resourceVersion);
    assert(rv2 > rv1);
    const stale = await rawRequest(
      api,
      "PUT",
      `${CM}/c`,
      JSON.stringify({ metadata: { name: "c", resourceVersion: String(rv1) }, data: { a: "3" } }),
    );
    assertEquals([stale.status, stale.json.reason], [409, "Conflict"]);
    const noop = await rawRequest(
      api,
      "PUT",
      `${CM}/c`,
      JSON.stringify({ metadata: { name: "c" }, data: { a: "2" } }),
    );
    assertEquals((noop.json.metadata as Record<string, string>).resourceVersion, String(rv2));
  } finally {
    await api.dispose();
  }
});

Deno.test("status subresource ignores spec; main resource ignores status", async () => {
  const api = await startTestApi();
  try {
    const path = "/api/v1/namespaces/default/pods";
    await rawRequest(
      api,
      "POST",
      path,
      JSON.stringify({
        metadata: { name: "p" },
        spec: { containers: [{ name: "c", image: "x:1" }] },
      }),
    );
    const st = await rawRequest(
      api,
      "PATCH",
      `${path}/p/status`,
      JSON.stringify({ status: { phase: "Running" }, spec: { nodeName: "n1" } }),
      { "content-type": "application/merge-patch+json" },
    );
    assertEquals(st.status, 200);
    assertEquals((st.json.status as Record<string, string>).phase, "Running");
    assertEquals((st.json.spec as Record<string, string>).nodeName, undefined);
    const main = await rawRequest(
      api,
      "PATCH",
      `${path}/p`,
      JSON.stringify({ status: { phase: "Failed" }, spec: { nodeName: "n1" } }),
      { "content-type": "application/merge-patch+json" },
    );
    assertEquals((main.json.status as Record<string, string>).phase, "Running");
    assertEquals((main.json.spec as Record<string, string>).nodeName, "n1");
  } finally {
    await api.dispose();
  }
});

Deno.test("delete: finalizers keep the object until cleared; owner references are collected", async () => {
  const api = await startTestApi();
  try {
    await rawRequest(
      api,
      "POST",
      CM,
      JSON.stringify({ metadata: { name: "f", finalizers: ["example.com/hold"] } }),
    );
    const w = await rawWatch(api, `${CM}?watch=1&fieldSelector=metadata.name%3Df`);
    try {
      assertEquals((await w.next()).type, "ADDED");
      const d = await rawRequest(api, "DELETE", `${CM}/f`);
      assertEquals(d.status, 200);
      assert((d.json.metadata as Record<string, string>).deletionTimestamp);
      assertEquals((await w.next()).type, "MODIFIED");
      assertEquals((await rawRequest(api, "GET", `${CM}/f`)).status, 200);
      await rawRequest(
        api,
        "PATCH",
        `${CM}/f`,
        JSON.stringify({ metadata: { finalizers: null } }),
        { "content-type": "application/merge-patch+json" },
      );
      assertEquals((await w.next()).type, "DELETED");
      assertEquals((await rawRequest(api, "GET", `${CM}/f`)).status, 404);
    } finally {
      await w.close();
    }
    const owner = await rawRequest(
      api,
      "POST",
      CM,
      JSON.stringify({ metadata: { name: "owner" } }),
    );
    const uid = (owner.json.metadata as Record<string, string>).uid;
    await rawRequest(
      api,
      "POST",
      "/api/v1/namespaces/default/secrets",
      JSON.stringify({
        metadata: {
          name: "dep",
          ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid }],
        },
      }),
    );
    await rawRequest(api, "DELETE", `${CM}/owner`);
    await waitFor(
      async () =>
        (await rawRequest(api, "GET", "/api/v1/namespaces/default/secrets/dep")).status === 404,
      "dependent collected",
    );
  } finally {
    await api.dispose();
  }
});

Deno.test("list: label and field selectors, limit/continue", async () => {
  const api = await startTestApi();
  try {
    for (let i = 0; i < 7; i++) {
      await rawRequest(
        api,
        "POST",
        CM,
        JSON.stringify({
          metadata: { name: `c${i}`, labels: { n: String(i), parity: i % 2 ? "odd" : "even" } },
        }),
      );
    }
    const names = (j: Record<string, unknown>) =>
      (j.items as { metadata: { name: string } }[]).map((o) => o.metadata.name);
    assertEquals(names((await rawRequest(api, "GET", `${CM}?labelSelector=parity%3Dodd`)).json), [
      "c1",
      "c3",
      "c5",
    ]);
    assertEquals(
      names(
        (await rawRequest(api, "GET", `${CM}?labelSelector=n%20in%20(0,6),parity!%3Dodd`)).json,
      ),
      ["c0", "c6"],
    );
    assertEquals(
      names((await rawRequest(api, "GET", `${CM}?fieldSelector=metadata.name%3Dc4`)).json),
      ["c4"],
    );
    const pods = "/api/v1/namespaces/default/pods";
    await rawRequest(
      api,
      "POST",
      pods,
      JSON.stringify({
        metadata: { name: "on1" },
        spec: { nodeName: "edge-1", containers: [{ name: "c", image: "i:1" }] },
      }),
    );
    await rawRequest(
      api,
      "POST",
      pods,
      JSON.stringify({
        metadata: { name: "on2" },
        spec: { nodeName: "edge-2", containers: [{ name: "c", image: "i:1" }] },
      }),
    );
    assertEquals(
      names(
        (await rawRequest(api, "GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dedge-2")).json,
      ),
      ["on2"],
    );
    const seen: string[] = [];
    let cont = "";
    let pages = 0;
    do {
      const r = await rawRequest(
        api,
        "GET",
        `${CM}?limit=3${cont ? `&continue=${encodeURIComponent(cont)}` : ""}`,
      );
      seen.push(...names(r.json));
      cont = ((r.json.metadata as Record<string, string>).continue) ?? "";
      pages++;
    } while (cont);
    assertEquals(pages, 3);
    assertEquals(seen, ["c0", "c1", "c2", "c3", "c4", "c5", "c6"]);
  } finally {
    await api.dispose();
  }
});

Deno.test("watch: resume from resourceVersion, bookmarks, 410 Gone when too old", async () => {
  const api = await startTestApi({ watchLogSize: 4, bookmarkIntervalMs: 20 });
  try {
    const a = await rawRequest(api, "POST", CM, JSON.stringify({ metadata: { name: "a" } }));
    const rvA = (a.json.metadata as Record<string, string>).resourceVersion;
    await rawRequest(api, "POST", CM, JSON.stringify({ metadata: { name: "b" } }));
    await rawRequest(api, "DELETE", `${CM}/a`);
    const w = await rawWatch(api, `${CM}?watch=1&resourceVersion=${rvA}&allowWatchBookmarks=true`);
    try {
      const e1 = await w.next();
      const e2 = await w.next();
      assertEquals([e1.type, (e1.object.metadata as Record<string, string>).name], ["ADDED", "b"]);
      assertEquals([e2.type, (e2.object.metadata as Record<string, string>).name], [
        "DELETED",
        "a",
      ]);
      const bm = await w.next();
      assertEquals(bm.type, "BOOKMARK");
      assertEquals(
        (bm.object.metadata as Record<string, string>).resourceVersion,
        (e2.object.metadata as Record<string, string>).resourceVersion,
      );
    } finally {
      await w.close();
    }
    for (let i = 0; i < 6; i++) {
      await rawRequest(api, "POST", CM, JSON.stringify({ metadata: { name: `x${i}` } }));
    }
    const old = await rawWatch(api, `${CM}?watch=1&resourceVersion=${rvA}`);
    try {
      const e = await old.next();
      assertEquals(e.type, "ERROR");
      assertEquals([e.object.code, e.object.reason], [410, "Expired"]);
    } finally {
      await old.close();
    }
  } finally {
    await api.dispose();
  }
});

Deno.test("CRDs created through the API are served; TokenRequest; CSR approval; Table; 401", async () => {
  const api = await startTestApi();
  try {
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "widgets.example.com" },
      spec: {
        group: "example.com",
        scope: "Namespaced",
        names: { plural: "widgets", singular: "widget", kind: "Widget" },
        versions: [{
          name: "v1",
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: "object" } },
        }],
      },
    };
    assertEquals(
      (await rawRequest(
        api,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        JSON.stringify(crd),
      )).status,
      201,
    );
    const w = await rawRequest(
      api,
      "POST",
      "/apis/example.com/v1/namespaces/default/widgets",
      JSON.stringify({
        apiVersion: "example.com/v1",
        kind: "Widget",
        metadata: { name: "w" },
        spec: { size: 3 },
      }),
    );
    assertEquals(w.status, 201);
    assertEquals((await rawRequest(api, "GET", "/apis/example.com/v1")).status, 200);
    await rawRequest(
      api,
      "DELETE",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com",
    );
    assertEquals(
      (await rawRequest(api, "GET", "/apis/example.com/v1/namespaces/default/widgets")).status,
      404,
    );

    await rawRequest(
      api,
      "POST",
      "/api/v1/namespaces/default/serviceaccounts",
      JSON.stringify({ metadata: { name: "sa" } }),
    );
    const tr = await rawRequest(
      api,
      "POST",
      "/api/v1/namespaces/default/serviceaccounts/sa/token",
      JSON.stringify({
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: 3600 },
      }),
    );
    assertEquals(tr.status, 201);
    const saToken = (tr.json.status as Record<string, string>).token;
    assertEquals(
      (await rawRequest(api, "GET", "/api/v1/namespaces", undefined, {}, saToken)).status,
      200,
    );

    const csr = await rawRequest(
      api,
      "POST",
      "/apis/certificates.k8s.io/v1/certificatesigningrequests",
      JSON.stringify({
        metadata: { name: "csr1" },
        spec: {
          request: "AAAA",
          signerName: "kubernetes.io/kube-apiserver-client",
          usages: ["client auth"],
        },
      }),
    );
    assertEquals(csr.status, 201);
    const appr = await rawRequest(
      api,
      "PUT",
      "/apis/certificates.k8s.io/v1/certificatesigningrequests/csr1/approval",
      JSON.stringify({
        metadata: { name: "csr1" },
        status: { conditions: [{ type: "Approved", status: "True", reason: "Test" }] },
      }),
    );
    assertEquals(appr.status, 200);
    assertEquals(
      ((appr.json.status as Record<string, unknown>).conditions as { type: string }[])[0].type,
      "Approved",
    );

    const table = await rawRequest(api, "GET", "/api/v1/namespaces", undefined, {
      accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
    });
    assertEquals(table.json.kind, "Table");
    const anon = await rawRequest(api, "GET", "/api/v1/namespaces", undefined, {}, null);
    assertEquals([anon.status, anon.json.kind, anon.json.reason], [401, "Status", "Unauthorized"]);
    const bad = await rawRequest(api, "GET", "/api/v1/namespaces", undefined, {}, "wrong");
    assertEquals(bad.status, 401);
  } finally {
    await api.dispose();
  }
});

Deno.test("pods/binding assigns a node once; pods/eviction deletes", async () => {
  const api = await startTestApi();
  try {
    const pods = "/api/v1/namespaces/default/pods";
    await rawRequest(
      api,
      "POST",
      pods,
      JSON.stringify({
        metadata: { name: "p" },
        spec: { containers: [{ name: "c", image: "i:1" }] },
      }),
    );
    const bind = JSON.stringify({
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name: "p" },
      target: { kind: "Node", name: "edge-1" },
    });
    // The binding's uid is a precondition.
    const stale = JSON.stringify({ ...JSON.parse(bind), metadata: { name: "p", uid: "other" } });
    assertEquals((await rawRequest(api, "POST", `${pods}/p/binding`, stale)).status, 409);
    assertEquals((await rawRequest(api, "POST", `${pods}/p/binding`, bind)).status, 201);
    const bound = (await rawRequest(api, "GET", `${pods}/p`)).json as {
      spec: { nodeName: string };
      status: { conditions: { type: string; status: string; lastTransitionTime?: string }[] };
    };
    assertEquals(bound.spec.nodeName, "edge-1");
    // As BindingREST: PodScheduled=True with a transition time.
    const cond = bound.status.conditions.find((c) => c.type === "PodScheduled");
    assertEquals(cond?.status, "True");
    assert(cond?.lastTransitionTime);
    const again = await rawRequest(api, "POST", `${pods}/p/binding`, bind);
    assertEquals(again.status, 409);
    assertEquals(
      again.json.message,
      'Operation cannot be fulfilled on pods/binding "p": pod p is already assigned to node "edge-1"',
    );
    const ev = JSON.stringify({
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name: "p" },
      deleteOptions: { gracePeriodSeconds: 0 },
    });
    assertEquals((await rawRequest(api, "POST", `${pods}/p/eviction`, ev)).status, 201);
    assertEquals((await rawRequest(api, "GET", `${pods}/p`)).status, 404);
  } finally {
    await api.dispose();
  }
});

Deno.test("delete propagation: Foreground removes dependents first, Orphan keeps them without the reference", async () => {
  const api = await startTestApi();
  try {
    const mk = async (name: string, owner?: Record<string, string>) => {
      const r = await rawRequest(
        api,
        "POST",
        CM,
        JSON.stringify({
          metadata: {
            name,
            ...(owner
              ? { ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", ...owner }] }
              : {}),
          },
        }),
      );
      return (r.json.metadata as Record<string, string>).uid;
    };
    const root = await mk("root");
    const mid = await mk("mid", { name: "root", uid: root });
    await mk("leaf", { name: "mid", uid: mid });
    const fg = await rawRequest(
      api,
      "DELETE",
      `${CM}/root`,
      JSON.stringify({ propagationPolicy: "Foreground" }),
    );
    assertEquals(fg.status, 200);
    for (const n of ["root", "mid", "leaf"]) {
      assertEquals((await rawRequest(api, "GET", `${CM}/${n}`)).status, 404, n);
    }

    const o = await mk("o");
    await mk("d", { name: "o", uid: o });
    await rawRequest(api, "DELETE", `${CM}/o?propagationPolicy=Orphan`);
    const d = await rawRequest(api, "GET", `${CM}/d`);
    assertEquals(d.status, 200);
    assertEquals((d.json.metadata as Record<string, unknown>).ownerReferences, undefined);
  } finally {
    await api.dispose();
  }
});
