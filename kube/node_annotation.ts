/**
 * Sets the Node annotation `cloudcore: <advertise address>` when a node connects (docs/protocol.md
 * §3.5 step 4, used for HA routing), as a JSON merge patch. CloudHub calls it up to 3 times, 1 s
 * apart.
 *
 * The patch goes through the hub's pooled {@link KubeHttp}, not client-node's `CoreV1Api`, which
 * opens a new TLS connection per call: a reconnect storm of 10,000 nodes would be 10,000
 * handshakes on the hub's one event loop.
 *
 * @example
 * ```ts
 * const hub = new CloudHub({ ..., advertiseAddress: "10.0.0.1", annotateNode: kubeNodeAnnotator(kube.http) });
 * ```
 */
import type { KubeHttp } from "./http.ts";

/**
 * The Node annotation naming the cloudcore a node is connected to (set by the hub on connect)
 * or that created it (the edge controller's node registration): one key for both.
 */
export const CloudCoreAnnotation = "cloudcore";

/** Returns an `annotateNode` callback for {@link CloudHubOptions} backed by a Kubernetes API. */
export function kubeNodeAnnotator(
  http: KubeHttp,
): (nodeId: string, address: string) => Promise<void> {
  return async (nodeId, address) => {
    await http.request("PATCH", `/api/v1/nodes/${encodeURIComponent(nodeId)}`, {
      body: { metadata: { annotations: { [CloudCoreAnnotation]: address } } },
      contentType: "application/merge-patch+json",
    });
  };
}
