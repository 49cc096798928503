/**
 * Node fixtures for the scheduler and node lifecycle tests: a Node as a kubelet registers it
 * (hostname label, capacity and allocatable, Ready), and the kubelet's heartbeats: the node Lease
 * (`kube-node-lease/<node>`) renewal and the node status post.
 */
import type { KubeClient } from "../../../kube/mod.ts";
import { rfc3339 } from "../../../controllers/cluster/pods.ts";

/** Resources a fixture node offers. */
export interface NodeShape {
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  cpu?: string;
  memory?: string;
  pods?: string;
}

/** Creates a Ready node with allocatable resources. */
export async function createReadyNode(
  kube: KubeClient,
  name: string,
  shape: NodeShape = {},
): Promise<void> {
  await kube.create("/api/v1/nodes", {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...shape.labels } },
    spec: shape.taints?.length ? { taints: shape.taints } : {},
  });
  const resources = {
    cpu: shape.cpu ?? "2",
    memory: shape.memory ?? "4Gi",
    pods: shape.pods ?? "110",
    "ephemeral-storage": "10Gi",
  };
  await kube.patch(
    `/api/v1/nodes/${name}/status`,
    { status: { capacity: resources, allocatable: resources } },
    "application/merge-patch+json",
  );
  await postStatus(kube, name);
}

/** The kubelet's status post: Ready=True with a fresh heartbeat. */
export async function postStatus(kube: KubeClient, name: string): Promise<void> {
  const now = rfc3339(new Date());
  const cond = (type: string, status: string, reason: string) => ({
    type,
    status,
    reason,
    message: reason,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  });
  await kube.patch(
    `/api/v1/nodes/${name}/status`,
    {
      status: {
        conditions: [
          cond("MemoryPressure", "False", "KubeletHasSufficientMemory"),
          cond("DiskPressure", "False", "KubeletHasNoDiskPressure"),
          cond("PIDPressure", "False", "KubeletHasSufficientPID"),
          cond("Ready", "True", "KubeletReady"),
        ],
      },
    },
    "application/merge-patch+json",
  );
}

/** The kubelet's Lease renewal (created on first use). */
export async function renewLease(kube: KubeClient, name: string): Promise<void> {
  const path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
  const spec = {
    holderIdentity: name,
    leaseDurationSeconds: 40,
    renewTime: new Date().toISOString().replace("Z", "000Z"),
  };
  try {
    await kube.patch(`${path}/${name}`, { spec }, "application/merge-patch+json");
  } catch {
    await kube.create(path, {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name, namespace: "kube-node-lease" },
      spec,
    });
  }
}

/** Renews `name`'s Lease every `ms` until stopped (a live kubelet). */
export function heartbeat(kube: KubeClient, name: string, ms = 200): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await renewLease(kube, name).catch(() => {});
      await new Promise((r) => setTimeout(r, ms));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
