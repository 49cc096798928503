/**
 * The scheduler against the embedded API, driven with real kubectl, on Node objects created here
 * (no edges): a pod without nodeName is bound through pods/binding (PodScheduled=True), a
 * nodeSelector and a taint are honoured, an unschedulable pod gets kube-scheduler's reason counts
 * in its condition and a FailedScheduling event, and is bound once a node changes to fit it;
 * `kubectl get events` (with field selectors) and `kubectl describe pod` show the events.
 */
import { assert, assertEquals, assertStringIncludes } from "../../assert.ts";
import { Scheduler } from "../../../controllers/cluster/scheduler.ts";
import { apply, eventually, kubectlOk, startCluster, type TestCluster } from "./helpers.ts";
import { createReadyNode } from "./nodes.ts";

const pod = (name: string, extra = "") =>
  `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  containers:
  - name: c
    image: busybox:1
    resources: {requests: {cpu: 100m}}
${extra}`;

const get = (c: TestCluster, name: string, path: string) =>
  kubectlOk(c.api, ["get", "pod", name, "-o", `jsonpath=${path}`]);

Deno.test("scheduler with kubectl: binds, honours nodeSelector and taints, explains and retries", async () => {
  const c = await startCluster((ctx) => [new Scheduler(ctx)]);
  try {
    await createReadyNode(c.kube, "n1", { labels: { zone: "far" } });
    await createReadyNode(c.kube, "n2", {
      taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }],
    });
    await createReadyNode(c.kube, "n3");

    // A plain pod: bound, never to the tainted node, PodScheduled=True set by the binding.
    await apply(c, pod("plain"));
    const plainNode = await eventually(() => get(c, "plain", "{.spec.nodeName}"), "plain bound");
    assert(plainNode === "n1" || plainNode === "n3", plainNode);
    assertEquals(
      await get(c, "plain", '{.status.conditions[?(@.type=="PodScheduled")].status}'),
      "True",
    );

    // nodeSelector picks n1; a toleration (and the hostname) admits n2.
    await apply(c, pod("sel", "  nodeSelector: {zone: far}\n"));
    await apply(
      c,
      pod(
        "tol",
        "  nodeSelector: {kubernetes.io/hostname: n2}\n  tolerations:\n  - {key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}\n",
      ),
    );
    await eventually(async () => (await get(c, "sel", "{.spec.nodeName}")) === "n1", "sel on n1");
    await eventually(async () => (await get(c, "tol", "{.spec.nodeName}")) === "n2", "tol on n2");

    // Nowhere to go: the condition and the event carry kube-scheduler's message.
    await apply(c, pod("stuck", "  nodeSelector: {zone: moon}\n"));
    const expected = "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, " +
      "2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: " +
      "3 Preemption is not helpful for scheduling.";
    const msg = await eventually(
      () => get(c, "stuck", '{.status.conditions[?(@.type=="PodScheduled")].message}'),
      "stuck's PodScheduled condition",
    );
    assertEquals(msg, expected);
    assertEquals(
      await get(c, "stuck", '{.status.conditions[?(@.type=="PodScheduled")].reason}'),
      "Unschedulable",
    );
    const failed = await eventually(async () => {
      const out = await kubectlOk(c.api, [
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=stuck,reason=FailedScheduling",
        "-o",
        "jsonpath={.items[*].message}|{.items[*].source.component}|{.items[*].type}",
      ]);
      return out.startsWith("0/3") ? out : "";
    }, "FailedScheduling event");
    assertEquals(failed, `${expected}|default-scheduler|Warning`);
    const described = await kubectlOk(c.api, ["describe", "pod", "stuck"]);
    assertStringIncludes(described, "FailedScheduling");
    assertStringIncludes(described, "default-scheduler");
    assertStringIncludes(described, "2 node(s) didn't match Pod's node affinity/selector");

    // A node that starts to fit (a label) brings the pod in after its back-off.
    await kubectlOk(c.api, ["label", "node", "n3", "zone=moon"]);
    await eventually(
      async () => (await get(c, "stuck", "{.spec.nodeName}")) === "n3",
      "stuck on n3",
    );

    // Scheduled events, as `kubectl get events` and `describe` show them.
    const events = await eventually(async () => {
      const out = await kubectlOk(c.api, [
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=stuck",
      ]);
      return out.includes("Scheduled ") ? out : "";
    }, "stuck's Scheduled event");
    assertStringIncludes(events, "Successfully assigned default/stuck to n3");
    assertStringIncludes(events, "FailedScheduling");
    const all = await kubectlOk(c.api, ["get", "events"]);
    for (const p of ["plain", "sel", "tol"]) {
      assertStringIncludes(all, `Successfully assigned default/${p} to`);
    }
    const bySource = await kubectlOk(c.api, [
      "get",
      "events",
      "--field-selector",
      "source=default-scheduler,reason=Scheduled",
      "-o",
      "name",
    ]);
    assertEquals(bySource.trim().split("\n").length, 4);
    await eventually(
      async () => (await kubectlOk(c.api, ["describe", "pod", "stuck"])).includes("Scheduled"),
      "describe shows Scheduled",
    );
  } finally {
    await c.close();
  }
});

Deno.test("scheduler with kubectl: requests against allocatable, and room freed by a deletion", async () => {
  const c = await startCluster((ctx) => [new Scheduler(ctx)]);
  try {
    await createReadyNode(c.kube, "small", { cpu: "1", pods: "3" });
    await apply(c, pod("a").replace("cpu: 100m", "cpu: 600m"));
    await eventually(async () => (await get(c, "a", "{.spec.nodeName}")) === "small", "a bound");
    await apply(c, pod("b").replace("cpu: 100m", "cpu: 600m"));
    const msg = await eventually(
      () => get(c, "b", '{.status.conditions[?(@.type=="PodScheduled")].message}'),
      "b unschedulable",
    );
    assertEquals(
      msg,
      "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: " +
        "1 No preemption victims found for incoming pod.",
    );
    await kubectlOk(c.api, ["delete", "pod", "a", "--wait=false"]);
    await eventually(async () => (await get(c, "b", "{.spec.nodeName}")) === "small", "b bound");
  } finally {
    await c.close();
  }
});
