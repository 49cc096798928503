/**
 * Node lifecycle and taint eviction against the embedded API, driven with kubectl, on Node
 * objects whose kubelet is simulated here (Lease renewals, status posts) with a 1 s grace period:
 * a node whose heartbeats stop turns Ready=Unknown with the unreachable taints (NoSchedule and
 * NoExecute, with timeAdded), its pods not Ready, a NodeNotReady event; pods are evicted by
 * their tolerations (at once, after tolerationSeconds, never); the node recovers when it posts
 * again. With every node down (master disruption), no NoExecute taint stays.
 */
import { assert, assertEquals, assertStringIncludes } from "../../assert.ts";
import { NodeLifecycle } from "../../../controllers/cluster/node_lifecycle.ts";
import { TaintEviction } from "../../../controllers/cluster/taint_eviction.ts";
import type { ClusterContext } from "../../../controllers/cluster/types.ts";
import { apply, eventually, kubectlOk, startCluster, type TestCluster } from "./helpers.ts";
import { createReadyNode, heartbeat, postStatus } from "./nodes.ts";

const GRACE_MS = 1_000;

const controllers = (ctx: ClusterContext) => {
  const short = { ...ctx, nodeMonitorGracePeriodMs: GRACE_MS };
  return [new NodeLifecycle(short), new TaintEviction(short)];
};

const pod = (name: string, node: string, tolerations = "") =>
  `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  nodeName: ${node}
  containers:
  - name: c
    image: busybox:1
${tolerations ? `  tolerations:\n${tolerations}` : ""}`;

const unreachable = (seconds?: number) =>
  `  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute${
    seconds === undefined ? "" : `, tolerationSeconds: ${seconds}`
  }}\n`;

const jp = (c: TestCluster, args: string[], path: string) =>
  kubectlOk(c.api, ["get", ...args, "-o", `jsonpath=${path}`]);
const readyOf = (c: TestCluster, kind: string, name: string) =>
  jp(c, [kind, name], '{.status.conditions[?(@.type=="Ready")].status}');

interface TaintView {
  key: string;
  effect: string;
  timeAdded?: string;
}

async function taints(c: TestCluster, node: string): Promise<TaintView[]> {
  const out = await jp(c, ["node", node], "{.spec.taints}");
  return out ? JSON.parse(out) as TaintView[] : [];
}

Deno.test("node lifecycle: a silent node goes Unknown, tainted, its pods not Ready and evicted by tolerations; it recovers", async () => {
  const c = await startCluster(controllers);
  const alive = heartbeat(c.kube, "alive");
  try {
    await createReadyNode(c.kube, "alive");
    await createReadyNode(c.kube, "quiet");
    // "quiet" renews until its pods are Ready (a pod with tolerationSeconds 0 would be gone at
    // once if the node went silent first, on a slow machine), then stops.
    const quiet = heartbeat(c.kube, "quiet");
    await apply(
      c,
      [
        pod("forever", "quiet", unreachable()),
        pod("brief", "quiet", unreachable(2)),
        pod("none", "quiet", unreachable(0)),
        pod("defaulted", "quiet"),
        pod("elsewhere", "alive"),
      ].join("---\n"),
    );
    // The API's DefaultTolerationSeconds admission gave the plain pod 300 s.
    assertStringIncludes(
      await jp(c, ["pod", "defaulted"], "{.spec.tolerations}"),
      '"tolerationSeconds":300',
    );
    for (const p of ["forever", "brief", "none", "defaulted"]) {
      await eventually(async () => (await readyOf(c, "pod", p)) === "True", `${p} Ready`);
    }
    await quiet.stop();

    // "quiet" stops renewing; "alive" goes on. Past the grace period: Unknown.
    await eventually(
      async () => (await readyOf(c, "node", "quiet")) === "Unknown",
      "quiet Unknown",
    );
    assertEquals(
      await jp(c, ["node", "quiet"], '{.status.conditions[?(@.type=="Ready")].reason}'),
      "NodeStatusUnknown",
    );
    assertEquals(
      await jp(c, ["node", "quiet"], '{.status.conditions[?(@.type=="Ready")].message}'),
      "Kubelet stopped posting node status.",
    );
    assertEquals(
      await jp(c, ["node", "quiet"], '{.status.conditions[?(@.type=="MemoryPressure")].status}'),
      "Unknown",
    );
    assertEquals(await readyOf(c, "node", "alive"), "True");
    const tainted = await eventually(async () => {
      const t = await taints(c, "quiet");
      return t.filter((x) => x.key === "node.kubernetes.io/unreachable").length === 2
        ? t
        : undefined;
    }, "unreachable NoSchedule and NoExecute taints");
    assertEquals(tainted.map((t) => t.effect).sort(), ["NoExecute", "NoSchedule"]);
    assert(tainted.every((t) => t.timeAdded), "taints carry timeAdded");
    assertEquals(await taints(c, "alive"), []);
    const nodes = await kubectlOk(c.api, ["get", "nodes"]);
    assert(/quiet\s+NotReady/.test(nodes), nodes);

    // Its pods are not Ready; the node and pod events say why.
    await eventually(
      async () => (await readyOf(c, "pod", "forever")) === "False",
      "forever not Ready",
    );
    assertEquals(await readyOf(c, "pod", "elsewhere"), "True");
    const nodeEvents = await eventually(async () => {
      const out = await kubectlOk(c.api, [
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=Node,involvedObject.name=quiet",
      ]);
      return out.includes("NodeNotReady") ? out : "";
    }, "NodeNotReady event");
    assertStringIncludes(nodeEvents, "Node quiet status is now: NodeNotReady");
    assertStringIncludes(
      await kubectlOk(c.api, ["describe", "pod", "forever"]),
      "Node is not ready",
    );

    // Eviction: tolerationSeconds 0 at once, 2 s later, without a limit never; 300 s not yet.
    const gone = async (name: string) => {
      const r = await kubectlOk(c.api, ["get", "pods", "-o", "name"]);
      return !r.split("\n").includes(`pod/${name}`);
    };
    await eventually(() => gone("none"), "none evicted");
    await eventually(() => gone("brief"), "brief evicted after 2 s");
    const evictions = await kubectlOk(c.api, [
      "get",
      "events",
      "--field-selector",
      "reason=TaintManagerEviction",
      "-o",
      "wide",
    ]);
    assertStringIncludes(evictions, "Marking for deletion Pod default/brief");
    assertStringIncludes(evictions, "taint-eviction-controller");
    assert(!(await gone("forever")) && !(await gone("defaulted")), "tolerating pods stay bound");

    // It comes back: the kubelet posts Ready again; the taints go, the 300 s eviction is off.
    const back = heartbeat(c.kube, "quiet");
    try {
      await postStatus(c.kube, "quiet");
      await eventually(async () => (await readyOf(c, "node", "quiet")) === "True", "quiet Ready");
      await eventually(async () => (await taints(c, "quiet")).length === 0, "taints removed");
      await eventually(async () => {
        const out = await kubectlOk(c.api, [
          "get",
          "events",
          "--field-selector",
          "involvedObject.name=defaulted,reason=TaintManagerEviction",
        ]);
        return out.includes("Cancelling deletion of Pod default/defaulted");
      }, "the pending eviction cancelled");
      assert(!(await gone("defaulted")));
    } finally {
      await back.stop();
    }
  } finally {
    await alive.stop();
    await c.close();
  }
});

Deno.test("node lifecycle: with every node down (the cloud cut off), no NoExecute taint and no eviction", async () => {
  const c = await startCluster(controllers);
  try {
    await createReadyNode(c.kube, "e1");
    await createReadyNode(c.kube, "e2");
    await apply(c, pod("p", "e1", unreachable(0)));
    await eventually(async () => (await readyOf(c, "node", "e1")) === "Unknown", "e1 Unknown");
    await eventually(async () => (await readyOf(c, "node", "e2")) === "Unknown", "e2 Unknown");
    // The NoSchedule taint mirrors the condition; NoExecute is held back in full disruption.
    for (const n of ["e1", "e2"]) {
      await eventually(
        async () =>
          (await taints(c, n)).some((t) =>
            t.key === "node.kubernetes.io/unreachable" && t.effect === "NoSchedule"
          ),
        `${n} unreachable:NoSchedule`,
      );
    }
    // Two more monitor passes: still no NoExecute taint, the pod still there.
    const lifecycle = c.controllers[0] as NodeLifecycle;
    await lifecycle.monitor();
    await lifecycle.monitor();
    for (const n of ["e1", "e2"]) {
      assert(!(await taints(c, n)).some((t) => t.effect === "NoExecute"), `${n} has no NoExecute`);
    }
    assertEquals(await jp(c, ["pod", "p"], "{.metadata.name}"), "p");
  } finally {
    await c.close();
  }
});
