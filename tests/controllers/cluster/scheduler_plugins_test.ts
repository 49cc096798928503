/**
 * The scheduler's plugins as functions (no API): kube-scheduler 1.32's reason strings, the first
 * failing plugin per node, several reasons from one plugin, the FitError and preemption message
 * format, the NodeAffinity PreFilter on `metadata.name`, pod (anti-)affinity on any topology key
 * including bound pods' anti-affinity, resource arithmetic with sidecars, and scoring.
 */
import { assert, assertEquals } from "../../assert.ts";
import type { Node, Pod } from "../../../controllers/cluster/pods.ts";
import { findNodesThatFit } from "../../../controllers/cluster/scheduler_filters.ts";
import { failureMessage } from "../../../controllers/cluster/scheduler_fit_error.ts";
import { podRequests, quantity } from "../../../controllers/cluster/scheduler_resources.ts";
import { scoreNodes, selectHost } from "../../../controllers/cluster/scheduler_score.ts";
import { buildSnapshot } from "../../../controllers/cluster/scheduler_snapshot.ts";

function node(
  name: string,
  labels: Record<string, string> = {},
  extra: {
    taints?: { key: string; value?: string; effect: string }[];
    cpu?: string;
    unschedulable?: boolean;
  } = {},
): Node {
  return {
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...labels } },
    spec: { taints: extra.taints, unschedulable: extra.unschedulable },
    status: {
      allocatable: { cpu: extra.cpu ?? "2", memory: "4Gi", pods: "110" },
    } as Node["status"],
  };
}

function pod(
  name: string,
  spec: Partial<Pod["spec"]> = {},
  labels: Record<string, string> = {},
): Pod {
  return {
    metadata: { name, namespace: "default", labels, uid: `uid-${name}` },
    spec: {
      containers: [{ name: "c", resources: { requests: { cpu: "500m", memory: "100Mi" } } }],
      ...spec,
    },
  };
}

const bound = (p: Pod, nodeName: string): Pod => ({ ...p, spec: { ...p.spec, nodeName } });

function message(p: Pod, nodes: Node[], pods: Pod[] = []): string {
  const snap = buildSnapshot(nodes, pods);
  const d = findNodesThatFit(p, snap);
  assertEquals(d.feasible.length, 0, "expected no fitting node");
  return failureMessage(p, snap, d);
}

Deno.test("scheduler plugins: untolerated taints and selectors are not helped by preemption", () => {
  const nodes = [
    node("a", { zone: "x" }, { taints: [{ key: "k", value: "v", effect: "NoSchedule" }] }),
    node("b"),
    node("c", {}, { unschedulable: true }),
  ];
  assertEquals(
    message(pod("p", { nodeSelector: { zone: "x" } }), nodes),
    "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, " +
      "1 node(s) had untolerated taint {k: v}, 1 node(s) were unschedulable. " +
      "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
  );
  // A toleration admits node a; the cordoned node is admitted by the unschedulable toleration.
  const tolerant = pod("t", {
    tolerations: [
      { key: "k", operator: "Equal", value: "v", effect: "NoSchedule" },
      { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
    ],
  });
  const fit = findNodesThatFit(tolerant, buildSnapshot(nodes, [])).feasible.map((n) => n.name);
  assertEquals(fit, ["a", "b", "c"]);
});

Deno.test("scheduler plugins: resources give every short reason, and preemption finds no victims", () => {
  const nodes = [node("a", {}, { cpu: "1" }), node("b", {}, { cpu: "1" })];
  const big = pod("big", {
    containers: [{ name: "c", resources: { requests: { cpu: "1500m", memory: "5Gi" } } }],
  });
  assertEquals(
    message(big, nodes),
    "0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory. " +
      "preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
  );
  // Mixed: one node taken by a bound pod, the other tainted.
  const tainted = node("t", {}, { taints: [{ key: "gpu", effect: "NoExecute" }] });
  const half = pod("half", {
    containers: [{ name: "c", resources: { requests: { cpu: "1600m" } } }],
  });
  assertEquals(
    message(pod("p"), [node("a"), tainted], [bound(half, "a")]),
    "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {gpu: }. " +
      "preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, " +
      "1 Preemption is not helpful for scheduling.",
  );
  // preemptionPolicy Never.
  assertEquals(
    message(pod("n", { ...big.spec, preemptionPolicy: "Never" }), nodes),
    "0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory. " +
      "preemption: not eligible due to preemptionPolicy=Never.",
  );
  // A node that lists no allocatable takes no pods (upstream's zero allocatable).
  const bare: Node = { metadata: { name: "bare" } };
  assertEquals(
    message(pod("z", { containers: [{ name: "c" }] }), [bare]),
    "0/1 nodes are available: 1 Too many pods. " +
      "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
  );
  assertEquals(
    failureMessage(pod("x"), buildSnapshot([], []), {
      feasible: [],
      statuses: new Map(),
    }),
    "no nodes available to schedule pods",
  );
});

Deno.test("scheduler plugins: node affinity operators and the metadata.name PreFilter", () => {
  const nodes = [node("a", { gen: "3" }), node("b", { gen: "5" }), node("c", { gen: "7" })];
  const expr = (operator: string, values?: string[]) =>
    pod("p", {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: "gen", operator, values }] }],
          },
        },
      },
    });
  const fit = (p: Pod) => findNodesThatFit(p, buildSnapshot(nodes, [])).feasible.map((n) => n.name);
  assertEquals(fit(expr("Gt", ["4"])), ["b", "c"]);
  assertEquals(fit(expr("Lt", ["4"])), ["a"]);
  assertEquals(fit(expr("In", ["5", "7"])), ["b", "c"]);
  assertEquals(fit(expr("NotIn", ["5"])), ["a", "c"]);
  assertEquals(fit(expr("Exists")), ["a", "b", "c"]);
  assertEquals(fit(expr("DoesNotExist")), []);
  // matchFields metadata.name In: only that node is filtered, the others are "absent".
  const pinned = pod("d", {
    containers: [{ name: "c", resources: { requests: { cpu: "3" } } }],
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{
            matchFields: [{ key: "metadata.name", operator: "In", values: ["b"] }],
          }],
        },
      },
    },
  });
  assertEquals(
    message(pinned, nodes),
    "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. " +
      "preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, " +
      "2 Preemption is not helpful for scheduling.",
  );
});

Deno.test("scheduler plugins: pod affinity on any topology key, both ways", () => {
  const nodes = [
    node("a1", { "topology.kubernetes.io/zone": "a" }),
    node("a2", { "topology.kubernetes.io/zone": "a" }),
    node("b1", { "topology.kubernetes.io/zone": "b" }),
  ];
  const db = bound(pod("db", {}, { app: "db" }), "a1");
  const term = (app: string, topologyKey: string) => ({
    labelSelector: { matchLabels: { app } },
    topologyKey,
  });
  const near = pod("near", {
    affinity: {
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [term("db", "topology.kubernetes.io/zone")],
      },
    },
  });
  const fit = (p: Pod, pods: Pod[]) =>
    findNodesThatFit(p, buildSnapshot(nodes, pods)).feasible.map((n) => n.name);
  assertEquals(fit(near, [db]), ["a1", "a2"]);
  assertEquals(
    message(near, nodes, []),
    "0/3 nodes are available: 3 node(s) didn't match pod affinity rules. " +
      "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
  );
  // The first pod of a group that selects itself may go anywhere.
  const self = pod("self", {
    affinity: {
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [term("web", "kubernetes.io/hostname")],
      },
    },
  }, { app: "web" });
  assertEquals(fit(self, []), ["a1", "a2", "b1"]);
  // A bound pod's anti-affinity keeps matching pods out of its zone.
  const loner = bound(
    pod("loner", {
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            term("noisy", "topology.kubernetes.io/zone"),
          ],
        },
      },
    }),
    "b1",
  );
  assertEquals(fit(pod("noisy", {}, { app: "noisy" }), [loner]), ["a1", "a2"]);
  assertEquals(
    message(
      pod("noisy", { nodeSelector: { "topology.kubernetes.io/zone": "b" } }, { app: "noisy" }),
      nodes,
      [loner],
    ),
    "0/3 nodes are available: 1 node(s) didn't satisfy existing pods anti-affinity rules, " +
      "2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: " +
      "1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.",
  );
  // The pod's own anti-affinity on the hostname.
  const anti = pod("x", {
    affinity: {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [term("db", "kubernetes.io/hostname")],
      },
    },
  });
  assertEquals(fit(anti, [db]), ["a2", "b1"]);
});

Deno.test("scheduler plugins: quantities and requests with init containers and sidecars", () => {
  assertEquals(quantity("100m"), 0.1);
  assertEquals(quantity("1.5Gi"), 1.5 * 2 ** 30);
  assertEquals(quantity("2e3"), 2000);
  assertEquals(quantity("1k"), 1000);
  const p = pod("p", {
    containers: [{ name: "c", resources: { requests: { cpu: "200m", memory: "1Gi" } } }],
    initContainers: [
      { name: "sidecar", restartPolicy: "Always", resources: { requests: { cpu: "100m" } } },
      { name: "init", resources: { requests: { cpu: "1", memory: "10Mi" } } },
    ],
    overhead: { cpu: "10m" },
  });
  // max(200m + 100m sidecar, 1 + 100m running beside it) + 10m overhead.
  assertEquals(podRequests(p), { cpu: 1110, memory: 2 ** 30 });
  // Non-zero: a container without requests counts 100m / 200Mi.
  assertEquals(podRequests(pod("e", { containers: [{ name: "c" }] }), true), {
    cpu: 100,
    memory: 200 * 2 ** 20,
  });
});

Deno.test("scheduler plugins: scores prefer emptier nodes, preferred affinity, and spread a controller", () => {
  const nodes = [node("a", { disk: "ssd" }), node("b"), node("c")];
  const owner = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    name: "rs",
    uid: "rs-1",
    controller: true,
  };
  const replica = (n: string): Pod => {
    const p = pod(n);
    p.metadata.ownerReferences = [owner];
    return p;
  };
  const snap = buildSnapshot(nodes, [bound(replica("r1"), "a"), bound(replica("r2"), "b")]);
  const pick = (p: Pod) => selectHost(p, findNodesThatFit(p, snap).feasible, snap).name;
  assertEquals(pick(replica("r3")), "c");
  // Preferred node affinity outweighs the emptier nodes for a pod of no controller.
  const ssd = pod("s", {
    affinity: {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{
          weight: 100,
          preference: { matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] },
        }],
      },
    },
  });
  assertEquals(pick(ssd), "a");
  // Preferred anti-affinity to the replicas: the node without one.
  const avoid = pod("v", {
    affinity: {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{
          weight: 100,
          podAffinityTerm: {
            labelSelector: { matchLabels: {} },
            topologyKey: "kubernetes.io/hostname",
          },
        }],
      },
    },
  });
  assertEquals(pick(avoid), "c");
  const scores = scoreNodes(pod("q"), snap.nodes, snap);
  assert(scores[2] > scores[0], `the empty node scores higher: ${scores}`);
  // PreferNoSchedule taints are avoided.
  const soft = [node("a", {}, { taints: [{ key: "k", effect: "PreferNoSchedule" }] }), node("b")];
  const s2 = buildSnapshot(soft, []);
  assertEquals(selectHost(pod("q"), findNodesThatFit(pod("q"), s2).feasible, s2).name, "b");
});
