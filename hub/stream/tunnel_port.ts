/**
 * The kubelet port edges announce for CloudStream, negotiated like cloudcore does at startup
 * (docs/cloudstream.md): the ConfigMap `kubeedge/tunnelport` holds, in its annotation
 * `tunnelportrecord.kubeedge.io`, `{"ipTunnelPort":{"<cloud IP>":<port>},"port":{"<port>":true}}`;
 * each cloud address keeps its port, a new one takes the first free port above 10350. Nodes get
 * that port as `status.daemonEndpoints.kubeletEndpoint.Port`, so kube-apiserver dials
 * `<node IP>:<port>` for logs and exec, which the iptables manager forwards to the stream port.
 */
import { isNotFound, type KubeClient } from "../../kube/mod.ts";

/** The ConfigMap's namespace and name. */
export const TUNNEL_PORT_CONFIGMAP = { namespace: "kubeedge", name: "tunnelport" };
/** Its annotation. */
export const TUNNEL_PORT_ANNOTATION = "tunnelportrecord.kubeedge.io";
/** edgecore's kubelet server port; negotiated ports start above it. */
export const KUBELET_SERVER_PORT = 10350;

interface Record_ {
  ipTunnelPort: Record<string, number>;
  port: Record<string, boolean>;
}

function firstFree(used: Record<string, boolean>): number {
  let p = KUBELET_SERVER_PORT + 1;
  while (used[String(p)]) p++;
  return p;
}

/** Negotiates the port of `localIP`; creates or updates the ConfigMap as needed. */
export async function negotiateTunnelPort(kube: KubeClient, localIP: string): Promise<number> {
  const { namespace, name } = TUNNEL_PORT_CONFIGMAP;
  const path = `/api/v1/namespaces/${namespace}/configmaps/${name}`;
  for (let attempt = 0;; attempt++) {
    let cm: { metadata?: { annotations?: Record<string, string>; resourceVersion?: string } };
    try {
      cm = await kube.get(path);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      const port = KUBELET_SERVER_PORT + 1;
      const record: Record_ = { ipTunnelPort: { [localIP]: port }, port: { [port]: true } };
      try {
        await kube.create(`/api/v1/namespaces/${namespace}/configmaps`, {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: {
            name,
            namespace,
            annotations: { [TUNNEL_PORT_ANNOTATION]: JSON.stringify(record) },
          },
        });
        return port;
      } catch (e2) {
        if (attempt < 3) continue; // another replica created it first
        throw e2;
      }
    }
    const raw = cm.metadata?.annotations?.[TUNNEL_PORT_ANNOTATION];
    if (raw === undefined) {
      throw new Error(
        `ConfigMap ${namespace}/${name} has no ${TUNNEL_PORT_ANNOTATION} annotation: failed to get tunnel port record`,
      );
    }
    const record = JSON.parse(raw) as Record_;
    record.ipTunnelPort ??= {};
    record.port ??= {};
    const known = record.ipTunnelPort[localIP];
    if (known !== undefined) return known;
    const port = firstFree(record.port);
    record.ipTunnelPort[localIP] = port;
    record.port[String(port)] = true;
    try {
      await kube.update(path, {
        ...cm,
        metadata: {
          ...cm.metadata,
          annotations: {
            ...cm.metadata?.annotations,
            [TUNNEL_PORT_ANNOTATION]: JSON.stringify(record),
          },
        },
      });
      return port;
    } catch (e) {
      if (attempt < 3) continue; // a conflict: read again
      throw e;
    }
  }
}

/** Sets a node's kubelet endpoint port (cloudcore's `updateNodeKubeletEndpoint`). */
export async function setKubeletPort(kube: KubeClient, node: string, port: number): Promise<void> {
  await kube.patch(
    `/api/v1/nodes/${encodeURIComponent(node)}/status`,
    { status: { daemonEndpoints: { kubeletEndpoint: { Port: port } } } },
    "application/merge-patch+json",
    { node },
  );
}
