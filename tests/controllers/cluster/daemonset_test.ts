/**
 * The DaemonSet controller against the embedded API with real kubectl: one pod per matching
 * node (also on a node added later), nodeSelector and taints honoured, node removal, rolling
 * update within maxUnavailable, `kubectl rollout status`, history, OnDelete.
 */
import { assert, assertEquals } from "../../assert.ts";
import { DaemonSetController, targetNode } from "../../../controllers/cluster/daemonset.ts";
import {
  apply,
  createNode,
  eventually,
  kubectl,
  kubectlOk,
  listPods,
  startCluster,
} from "./helpers.ts";
import type { Pod } from "../../../controllers/cluster/pods.ts";

const DS = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {node-role.kubernetes.io/edge: ""}
      containers: [{name: a, image: "busybox:1"}]
`;

const EDGE = { "node-role.kubernetes.io/edge": "" };

function nodesOf(pods: Pod[]): string[] {
  return pods.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.spec.nodeName ?? "")
    .sort();
}

Deno.test("daemonset: a pod on every matching node, new nodes too; selector and taints honoured", async () => {
  const c = await startCluster((ctx) => [new DaemonSetController(ctx)]);
  try {
    await createNode(c, "edge-1", EDGE);
    await createNode(c, "edge-2", EDGE);
    await createNode(c, "cloud-1", {}); // no edge label: no pod
    await createNode(c, "edge-tainted", EDGE, [{
      key: "dedicated",
      value: "gpu",
      effect: "NoSchedule",
    }]);
    await apply(c, DS);
    const pods = await eventually(async () => {
      const p = await listPods(c, "app=agent");
      return p.length === 2 ? p : undefined;
    }, "two daemon pods");
    assertEquals(nodesOf(pods), ["edge-1", "edge-2"]);
    for (const p of pods) {
      // Upstream's placement affinity is there, and the pod is bound directly (documented deviation).
      assertEquals(
        p.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
          ?.nodeSelectorTerms,
        [{ matchFields: [{ key: "metadata.name", operator: "In", values: [p.spec.nodeName!] }] }],
      );
      assertEquals(targetNode(p), p.spec.nodeName);
      const keys = (p.spec.tolerations ?? []).map((t) => `${t.key}:${t.effect}`);
      for (
        const k of [
          "node.kubernetes.io/not-ready:NoExecute",
          "node.kubernetes.io/unreachable:NoExecute",
          "node.kubernetes.io/disk-pressure:NoSchedule",
          "node.kubernetes.io/memory-pressure:NoSchedule",
          "node.kubernetes.io/pid-pressure:NoSchedule",
          "node.kubernetes.io/unschedulable:NoSchedule",
        ]
      ) assert(keys.includes(k), `toleration ${k} in ${keys}`);
      assertEquals(p.metadata.ownerReferences?.[0].kind, "DaemonSet");
      assert(p.metadata.labels?.["controller-revision-hash"]);
    }

    // A node created later gets its pod.
    await createNode(c, "edge-3", EDGE);
    await eventually(
      async () => nodesOf(await listPods(c, "app=agent")).join() === "edge-1,edge-2,edge-3",
      "a pod on edge-3",
    );
    // Tolerating the taint puts a pod on the tainted node.
    await apply(
      c,
      DS.replace(
        "      containers:",
        "      tolerations: [{key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}]\n      containers:",
      ),
    );
    await eventually(
      async () => nodesOf(await listPods(c, "app=agent")).includes("edge-tainted"),
      "a pod on the tainted node",
    );
    // A node that stops matching, and a deleted node, lose their pods.
    await kubectlOk(c.api, ["label", "node", "edge-1", "node-role.kubernetes.io/edge-"]);
    await kubectlOk(c.api, ["delete", "node", "edge-2"]);
    await eventually(
      async () => nodesOf(await listPods(c, "app=agent")).join() === "edge-3,edge-tainted",
      "pods only on edge-3 and edge-tainted",
    );
    // A NoExecute taint the pod does not tolerate evicts it.
    await kubectlOk(c.api, ["taint", "node", "edge-3", "maintenance=now:NoExecute"]);
    await eventually(
      async () => nodesOf(await listPods(c, "app=agent")).join() === "edge-tainted",
      "the pod leaves edge-3",
    );
    const ds = JSON.parse(await kubectlOk(c.api, ["get", "ds", "agent", "-o", "json"]));
    await eventually(async () => {
      const s = JSON.parse(await kubectlOk(c.api, ["get", "ds", "agent", "-o", "json"])).status;
      return s.desiredNumberScheduled === 1 && s.currentNumberScheduled === 1 &&
        s.numberReady === 1 && s.numberAvailable === 1 && s.updatedNumberScheduled === 1 &&
        s.numberMisscheduled === 0;
    }, "status counts");
    assert(ds.metadata.generation >= 2);
  } finally {
    await c.close();
  }
});

Deno.test("daemonset: rolling update replaces pods within maxUnavailable; rollout status, history", async () => {
  const c = await startCluster((ctx) => [new DaemonSetController(ctx)]);
  try {
    for (const n of ["e1", "e2", "e3", "e4"]) await createNode(c, n, EDGE);
    await apply(c, DS);
    const r1 = await kubectl(c.api, ["rollout", "status", "ds/agent", "--timeout=20s"]);
    assertEquals(r1.code, 0, r1.stderr);
    assert(r1.stdout.includes('daemon set "agent" successfully rolled out'), r1.stdout);
    const before = await listPods(c, "app=agent");
    assertEquals(before.length, 4);

    // Watch the number of pods at the new template that exist next to old ones: with
    // maxUnavailable 1 at most one node is without a ready pod at any time.
    let maxMissing = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const pods = (await listPods(c, "app=agent")).filter((p) =>
          !p.metadata.deletionTimestamp &&
          p.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True")
        );
        maxMissing = Math.max(maxMissing, 4 - pods.length);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await kubectlOk(c.api, ["set", "image", "ds/agent", "a=busybox:2"]);
    const r2 = await kubectl(c.api, ["rollout", "status", "ds/agent", "--timeout=30s"]);
    watching = false;
    await watcher;
    assertEquals(r2.code, 0, r2.stderr);
    const after = await listPods(c, "app=agent");
    assertEquals(after.length, 4);
    for (const p of after) assertEquals(p.spec.containers?.[0].image, "busybox:2");
    const oldNames = new Set(before.map((p) => p.metadata.name));
    assert(after.every((p) => !oldNames.has(p.metadata.name)), "every pod was replaced");
    assert(maxMissing <= 1, `at most one node without a ready pod (saw ${maxMissing})`);

    const history = await kubectlOk(c.api, ["rollout", "history", "ds/agent"]);
    assert(/^1\s/m.test(history) && /^2\s/m.test(history), history);
    const revs = JSON.parse(await kubectlOk(c.api, ["get", "controllerrevisions", "-o", "json"]));
    assertEquals(revs.items.length, 2);
    assertEquals(
      (await kubectlOk(c.api, ["get", "controllerrevisions", "--no-headers"])).trim().split("\n")
        .every((l) => /daemonset\.apps\/agent/.test(l)),
      true,
    );

    // Rollback: the old template comes back as revision 3.
    await kubectlOk(c.api, ["rollout", "undo", "ds/agent"]);
    const r3 = await kubectl(c.api, ["rollout", "status", "ds/agent", "--timeout=30s"]);
    assertEquals(r3.code, 0, r3.stderr);
    for (const p of await listPods(c, "app=agent")) {
      assertEquals(p.spec.containers?.[0].image, "busybox:1");
    }
  } finally {
    await c.close();
  }
});

Deno.test("daemonset: OnDelete keeps old pods until they are deleted", async () => {
  const c = await startCluster((ctx) => [new DaemonSetController(ctx)]);
  try {
    await createNode(c, "e1", EDGE);
    await createNode(c, "e2", EDGE);
    await apply(
      c,
      DS.replace("spec:\n  selector", "spec:\n  updateStrategy: {type: OnDelete}\n  selector"),
    );
    await eventually(async () => (await listPods(c, "app=agent")).length === 2, "two pods");
    await kubectlOk(c.api, ["set", "image", "ds/agent", "a=busybox:2"]);
    await eventually(async () => {
      const s = JSON.parse(await kubectlOk(c.api, ["get", "ds", "agent", "-o", "json"]));
      return s.status.observedGeneration === s.metadata.generation &&
        s.status.updatedNumberScheduled === 0;
    }, "the new generation observed with no updated pod");
    const pods = await listPods(c, "app=agent");
    assert(pods.every((p) => p.spec.containers?.[0].image === "busybox:1"));
    const victim = pods.find((p) => p.spec.nodeName === "e1")!;
    await kubectlOk(c.api, ["delete", "pod", victim.metadata.name!]);
    await eventually(async () => {
      const now = await listPods(c, "app=agent");
      const e1 = now.find((p) => p.spec.nodeName === "e1");
      const e2 = now.find((p) => p.spec.nodeName === "e2");
      return e1?.spec.containers?.[0].image === "busybox:2" &&
        e2?.spec.containers?.[0].image === "busybox:1";
    }, "only the deleted pod is replaced with the new template");
  } finally {
    await c.close();
  }
});
