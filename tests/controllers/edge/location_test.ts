import { assertEquals } from "../../assert.ts";
import { LocationCache, podReferences } from "../../../controllers/edge/mod.ts";
import type { KubeObject } from "../../../kube/mod.ts";

function pod(name: string, node: string, spec: Record<string, unknown>): KubeObject {
  return { metadata: { name, namespace: "ns" }, spec: { nodeName: node, ...spec } };
}

Deno.test("podReferences: containers, init and ephemeral containers, volumes, projected, imagePullSecrets, PVCs, SA", () => {
  const refs = podReferences(pod("p", "n", {
    serviceAccountName: "sa",
    imagePullSecrets: [{ name: "pull" }],
    volumes: [
      { name: "a", configMap: { name: "cm-vol" } },
      { name: "b", secret: { secretName: "sec-vol" } },
      {
        name: "c",
        projected: {
          sources: [{ configMap: { name: "cm-proj" } }, { secret: { name: "sec-proj" } }],
        },
      },
      { name: "d", persistentVolumeClaim: { claimName: "claim" } },
      { name: "e", ephemeral: { volumeClaimTemplate: {} } },
      { name: "f", csi: { driver: "x", nodePublishSecretRef: { name: "csi-sec" } } },
    ],
    containers: [{ name: "c", envFrom: [{ configMapRef: { name: "cm-envfrom" } }] }],
    initContainers: [{
      name: "i",
      env: [{ name: "X", valueFrom: { secretKeyRef: { name: "sec-init", key: "k" } } }],
    }],
    ephemeralContainers: [{ name: "dbg", envFrom: [{ secretRef: { name: "sec-eph" } }] }],
  }));
  assertEquals([...refs.configmap].sort(), ["ns/cm-envfrom", "ns/cm-proj", "ns/cm-vol"]);
  assertEquals([...refs.secret].sort(), [
    "ns/csi-sec",
    "ns/pull",
    "ns/sec-eph",
    "ns/sec-init",
    "ns/sec-proj",
    "ns/sec-vol",
  ]);
  assertEquals([...refs.persistentvolumeclaim].sort(), ["ns/claim", "ns/p-e"]);
  assertEquals([...refs.serviceaccount], ["ns/sa"]);
});

Deno.test("LocationCache shrinks: last pod gone, pod stops referencing, pod rebound; shared refs stay", () => {
  const lc = new LocationCache();
  lc.addNode("a");
  lc.addNode("b");
  const uses = (name: string, node: string, cm: string) =>
    pod(name, node, { volumes: [{ name: "v", configMap: { name: cm } }] });

  let d = lc.addOrUpdatePod(uses("p1", "a", "cfg"));
  assertEquals(d.added, [{ kind: "configmap", key: "ns/cfg", node: "a" }, {
    kind: "serviceaccount",
    key: "ns/default",
    node: "a",
  }]);
  d = lc.addOrUpdatePod(uses("p2", "a", "cfg"));
  assertEquals(d.added, []); // already needed on a
  assertEquals(lc.configMapNodes("ns", "cfg"), ["a"]);

  // p1 deleted: p2 still needs cfg on a.
  d = lc.deletePod(uses("p1", "a", "cfg"));
  assertEquals(d.removed, []);
  // p2 switches to another configmap: cfg no longer needed on a.
  d = lc.addOrUpdatePod(uses("p2", "a", "other"));
  assertEquals(d.added, [{ kind: "configmap", key: "ns/other", node: "a" }]);
  assertEquals(d.removed, [{ kind: "configmap", key: "ns/cfg", node: "a" }]);
  assertEquals(lc.configMapNodes("ns", "cfg"), []);

  // Rebound (nodeName changes): moves from a to b.
  d = lc.addOrUpdatePod(uses("p2", "b", "other"));
  assertEquals(d.removed.filter((c) => c.kind === "configmap"), [{
    kind: "configmap",
    key: "ns/other",
    node: "a",
  }]);
  assertEquals(d.added.filter((c) => c.kind === "configmap"), [{
    kind: "configmap",
    key: "ns/other",
    node: "b",
  }]);
  assertEquals(lc.configMapNodes("ns", "other"), ["b"]);
  assertEquals(lc.podsOnNode("a"), []);
  assertEquals(lc.podsOnNode("b"), ["ns/p2"]);

  // Non-edge nodes are tracked (for authorization) but never targeted.
  lc.addOrUpdatePod(uses("p3", "cloud", "other"));
  assertEquals(lc.configMapNodes("ns", "other"), ["b"]);
  assertEquals(lc.nodeReferences("cloud", "configmap", "ns", "other"), true);

  // Node removal hides it from targets; its pods' references stay until the pods go.
  lc.removeNode("b");
  assertEquals(lc.configMapNodes("ns", "other"), []);
  d = lc.deletePod(uses("p2", "b", "other"));
  assertEquals(d.removed.filter((c) => c.kind === "configmap"), [{
    kind: "configmap",
    key: "ns/other",
    node: "b",
  }]);
});
