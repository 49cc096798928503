/**
 * The scheduler with kubectl and edge-sim nodes: pods spread over nodes, nodeSelector and taints
 * honoured, FailedScheduling with kube-scheduler's reason counts, Scheduled events.
 */
import { assert, assertEquals, assertStringIncludes } from "../../assert.ts";
import { waitUntil } from "../../wait.ts";
import { kubectlIn, startEdgeCluster } from "./edge_cluster.ts";

const kubectl = kubectlIn;

const pod = (name: string, extra = "") =>
  `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: {app: spread}
spec:
  containers:
  - name: c
    image: busybox:1
    resources: {requests: {cpu: 100m}}
${extra}`;

Deno.test("scheduler: binds and spreads, honours nodeSelector and taints, explains failures", async () => {
  const c = await startEdgeCluster(3);
  try {
    await kubectl(c, ["label", "node", "edge-2", "zone=far"]);
    await kubectl(c, ["taint", "node", "edge-1", "dedicated=gpu:NoSchedule"]);
    // Two plain pods: edge-1 is tainted, so they spread over edge-0 and edge-2.
    await kubectl(c, ["apply", "-f", "-"], pod("a") + "---\n" + pod("b"));
    const nodeOf = async (name: string) =>
      (await kubectl(c, ["get", "pod", name, "-o", "jsonpath={.spec.nodeName}"])).trim();
    await waitUntil(async () => (await nodeOf("a")) && (await nodeOf("b")), "a and b bound");
    assertEquals(new Set([await nodeOf("a"), await nodeOf("b")]), new Set(["edge-0", "edge-2"]));
    // A nodeSelector picks edge-2; a toleration admits edge-1.
    await kubectl(c, ["apply", "-f", "-"], pod("sel", "  nodeSelector: {zone: far}\n"));
    await kubectl(
      c,
      ["apply", "-f", "-"],
      pod(
        "tol",
        "  nodeSelector: {kubernetes.io/hostname: edge-1}\n  tolerations:\n  - {key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}\n",
      ),
    );
    await waitUntil(async () => (await nodeOf("sel")) === "edge-2", "sel on edge-2");
    await waitUntil(async () => (await nodeOf("tol")) === "edge-1", "tol on edge-1");
    // Nowhere to go: the message counts each reason as kube-scheduler does.
    await kubectl(c, ["apply", "-f", "-"], pod("stuck", "  nodeSelector: {zone: moon}\n"));
    const msg = await waitUntil(async () =>
      (await kubectl(c, [
        "get",
        "pod",
        "stuck",
        "-o",
        'jsonpath={.status.conditions[?(@.type=="PodScheduled")].message}',
      ])).trim(), "FailedScheduling condition");
    assertEquals(
      msg,
      "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
    );
    const events = await kubectl(c, ["get", "events", "--field-selector", "involvedObject.name=a"]);
    assertStringIncludes(events, "Scheduled");
    assertStringIncludes(events, "Successfully assigned default/a to");
    const failed = await kubectl(c, [
      "get",
      "events",
      "--field-selector",
      "reason=FailedScheduling",
    ]);
    assert(failed.includes("stuck"), failed);
    // Required anti-affinity on the hostname: one per node, then none left for a fourth.
    const anti = (n: string) =>
      pod(
        n,
        "  tolerations:\n  - {key: dedicated, operator: Exists}\n  affinity:\n    podAntiAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n      - labelSelector: {matchLabels: {app: spread}}\n        topologyKey: kubernetes.io/hostname\n",
      ).replace("app: spread", "app: solo").replace("{app: spread}", "{app: solo}");
    for (const n of ["s1", "s2", "s3", "s4"]) await kubectl(c, ["apply", "-f", "-"], anti(n));
    await waitUntil(async () => {
      const bound = await Promise.all(["s1", "s2", "s3"].map(nodeOf));
      return bound.every(Boolean) && new Set(bound).size === 3;
    }, "s1..s3 on three different nodes");
    const s4 = await waitUntil(async () =>
      (await kubectl(c, [
        "get",
        "pod",
        "s4",
        "-o",
        'jsonpath={.status.conditions[?(@.type=="PodScheduled")].message}',
      ])).trim(), "s4 unschedulable");
    assertStringIncludes(s4, "3 node(s) didn't match pod anti-affinity rules");
    // Requests beyond allocatable (edge-sim nodes have 2 CPUs).
    await kubectl(c, ["apply", "-f", "-"], pod("big").replace("cpu: 100m", "cpu: '3'"));
    const big = await waitUntil(async () =>
      (await kubectl(c, [
        "get",
        "pod",
        "big",
        "-o",
        'jsonpath={.status.conditions[?(@.type=="PodScheduled")].message}',
      ])).trim(), "big unschedulable");
    assertStringIncludes(big, "Insufficient cpu");
    // The pods reach their edges and run there.
    await waitUntil(
      async () =>
        (await kubectl(c, ["get", "pod", "a", "-o", "jsonpath={.status.phase}"])) === "Running",
      "a Running",
    );
  } finally {
    await c.close();
  }
});

Deno.test("node lifecycle: a killed edge goes NotReady within grace + 10 s, its pods not Ready, taints added", async () => {
  const c = await startEdgeCluster(2, 3_000);
  try {
    await kubectl(
      c,
      ["apply", "-f", "-"],
      pod(
        "w",
        "  nodeName: edge-1\n  tolerations:\n  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute}\n",
      ),
    );
    await waitUntil(
      async () =>
        (await kubectl(c, [
          "get",
          "pod",
          "w",
          "-o",
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ])) === "True",
      "w Ready",
    );
    const victim = c.sim.nodes[1];
    const killedAt = Date.now();
    victim.stop();
    await victim.link!.close();
    await waitUntil(
      async () =>
        (await kubectl(c, [
          "get",
          "node",
          "edge-1",
          "-o",
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ])) === "Unknown",
      "edge-1 Ready=Unknown",
      { timeoutMs: 3_000 + 10_000 },
    );
    assert(Date.now() - killedAt <= 13_000);
    const taints = await kubectl(c, [
      "get",
      "node",
      "edge-1",
      "-o",
      "jsonpath={.spec.taints[*].key}",
    ]);
    assertStringIncludes(taints, "node.kubernetes.io/unreachable");
    await waitUntil(
      async () =>
        (await kubectl(c, [
          "get",
          "pod",
          "w",
          "-o",
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ])) === "False",
      "w not Ready",
    );
    const nodes = await kubectl(c, ["get", "nodes"]);
    assert(/edge-1\s+NotReady/.test(nodes), nodes);
    assert(/edge-0\s+Ready/.test(nodes), nodes);
    // It tolerates unreachable without a limit: not evicted. One tolerating it for 1 s is.
    await kubectl(c, ["get", "pod", "w"]);
    await kubectl(
      c,
      ["apply", "-f", "-"],
      pod(
        "brief",
        "  nodeName: edge-1\n  tolerations:\n  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 1}\n",
      ),
    );
    await waitUntil(
      // Deleted, and Terminating until its (unreachable) edge confirms, as upstream.
      async () =>
        (await kubectl(c, ["get", "pod", "brief", "-o", "jsonpath={.metadata.deletionTimestamp}"]))
          .trim() !== "",
      "brief evicted",
      { timeoutMs: 20_000 },
    );
    const evictions = await kubectl(c, [
      "get",
      "events",
      "--field-selector",
      "reason=TaintManagerEviction",
    ]);
    assertStringIncludes(evictions, "brief");
  } finally {
    await c.close();
  }
});
