import { assert, assertEquals } from "../../assert.ts";
import { edgeNode, pod, withEnv } from "./harness.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test("upstream configmap/secret query: object + TypeMeta + RV for referenced ones; node A asking for node B's secret → Forbidden", async () => {
  await withEnv(async ({ request, kube, hub }) => {
    await kube.create("/api/v1/nodes", edgeNode("node-a"));
    await kube.create("/api/v1/nodes", edgeNode("node-b"));
    await kube.create("/api/v1/namespaces/default/configmaps", {
      metadata: { name: "cfg-a" },
      data: { k: "v" },
    });
    await kube.create("/api/v1/namespaces/default/secrets", {
      metadata: { name: "sec-b" },
      data: { p: btoa("x") },
    });
    await kube.create(
      "/api/v1/namespaces/default/pods",
      pod("pa", "node-a", {
        volumes: [{ name: "v", projected: { sources: [{ configMap: { name: "cfg-a" } }] } }],
      }),
    );
    await kube.create(
      "/api/v1/namespaces/default/pods",
      pod("pb", "node-b", {
        containers: [{ name: "c", image: "i", envFrom: [{ secretRef: { name: "sec-b" } }] }],
      }),
    );
    await hub.waitFor((m) => m.route.resource === "node/node-b/default/pod/pb", "pod b");

    const cm = await request("node-a", "default/configmap/cfg-a", "query", null);
    assertEquals((cm.content as Json).kind, "ConfigMap");
    assertEquals((cm.content as Json).apiVersion, "v1");
    assertEquals((cm.content as Json).data.k, "v");
    assertEquals(cm.header.resourceVersion, (cm.content as Json).metadata.resourceVersion);
    assertEquals(cm.route.resource, "node/node-a/default/configmap/cfg-a");

    const own = await request("node-b", "default/secret/sec-b", "query", null);
    assertEquals((own.content as Json).kind, "Secret");

    const denied = await request("node-a", "default/secret/sec-b", "query", null);
    const st = (denied.content as Json).ErrStatus;
    assertEquals(st.kind, undefined); // client-go clears a decoded Status' kind/apiVersion
    assertEquals(st.status, "Failure");
    assertEquals(st.reason, "Forbidden");
    assertEquals(st.code, 403);
    assertEquals(denied.header.resourceVersion, undefined);

    // Referenced but missing → NotFound Status.
    await kube.create(
      "/api/v1/namespaces/default/pods",
      pod("pa2", "node-a", {
        volumes: [{ name: "v", secret: { secretName: "later" } }],
      }),
    );
    const missing = await request("node-a", "default/secret/later", "query", null);
    assertEquals((missing.content as Json).ErrStatus.reason, "NotFound");
    assertEquals((missing.content as Json).ErrStatus.message, 'secret "later" not found');
  });
});

Deno.test("upstream persistentvolumeclaim / persistentvolume / volumeattachment query with node checks", async () => {
  await withEnv(async ({ request, kube }) => {
    await kube.create("/api/v1/namespaces/default/persistentvolumeclaims", {
      metadata: { name: "data" },
      spec: {
        accessModes: ["ReadWriteOnce"],
        resources: { requests: { storage: "1Gi" } },
        volumeName: "pv-1",
      },
    });
    await kube.create("/api/v1/persistentvolumes", {
      metadata: { name: "pv-1" },
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteOnce"],
        hostPath: { path: "/tmp/x" },
        claimRef: { namespace: "default", name: "data" },
      },
    });
    await kube.create("/apis/storage.k8s.io/v1/volumeattachments", {
      metadata: { name: "va-1" },
      spec: { attacher: "csi.x", nodeName: "edge-1", source: { persistentVolumeName: "pv-1" } },
    });
    await kube.create(
      "/api/v1/namespaces/default/pods",
      pod("db", "edge-1", {
        volumes: [{ name: "d", persistentVolumeClaim: { claimName: "data" } }],
      }),
    );
    const pvc = await request("edge-1", "default/persistentvolumeclaim/data", "query", null);
    assertEquals((pvc.content as Json).kind, "PersistentVolumeClaim");
    assert(pvc.header.resourceVersion);
    const pv = await request("edge-1", "null/persistentvolume/pv-1", "query", null);
    assertEquals((pv.content as Json).kind, "PersistentVolume");
    assertEquals(pv.header.resourceVersion, (pv.content as Json).metadata.resourceVersion);
    const va = await request("edge-1", "null/volumeattachment/va-1", "query", null);
    assertEquals((va.content as Json).kind, "VolumeAttachment");
    assertEquals((va.content as Json).apiVersion, "storage.k8s.io/v1");
    for (
      const r of [
        "default/persistentvolumeclaim/data",
        "null/persistentvolume/pv-1",
        "null/volumeattachment/va-1",
      ]
    ) {
      const d = await request("edge-2", r, "query", null);
      assertEquals((d.content as Json).ErrStatus.reason, "Forbidden", r);
    }
  });
});

Deno.test("upstream serviceaccounttoken query: TokenRequest for a service account its pods use", async () => {
  await withEnv(async ({ request, kube }) => {
    await kube.create("/api/v1/namespaces/default/serviceaccounts", { metadata: { name: "app" } });
    await kube.create(
      "/api/v1/namespaces/default/pods",
      pod("web", "edge-1", { serviceAccountName: "app" }),
    );
    const tr = {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      metadata: { name: "app", namespace: "default" },
      spec: { audiences: ["https://kubernetes.default.svc"], expirationSeconds: 3600 },
    };
    const resp = await request("edge-1", "default/serviceaccounttoken/app", "query", tr);
    const c = resp.content as Json;
    assertEquals(c.kind, "TokenRequest");
    assert(typeof c.status?.token === "string" && c.status.token.length > 10, JSON.stringify(c));
    const denied = await request("edge-2", "default/serviceaccounttoken/app", "query", tr);
    assertEquals((denied.content as Json).ErrStatus.reason, "Forbidden");
  });
});

Deno.test("upstream legacy service / endpoints query", async () => {
  await withEnv(async ({ request, kube }) => {
    await kube.create("/api/v1/namespaces/default/services", {
      metadata: { name: "svc" },
      spec: { ports: [{ port: 80 }] },
    });
    await kube.create("/api/v1/namespaces/default/endpoints", {
      metadata: { name: "svc" },
      subsets: [{ addresses: [{ ip: "10.0.0.9" }], ports: [{ port: 80 }] }],
    });
    const s = await request("edge-1", "default/service/svc", "query", null);
    assertEquals((s.content as Json).kind, "Service");
    assert(s.header.resourceVersion);
    const e = await request("edge-1", "default/endpoints/svc", "query", null);
    assertEquals((e.content as Json).kind, "Endpoints");
    assertEquals((e.content as Json).subsets[0].addresses[0].ip, "10.0.0.9");
  });
});
