/**
 * Sets the Node annotation `cloudcore: <advertise address>` when a node connects (PROTOCOL.md
 * §3.5 step 4, used for HA routing), as a JSON merge patch through client-node. CloudHub calls
 * it up to 3 times, 1 s apart.
 *
 * @example
 * ```ts
 * const hub = new CloudHub({ ..., advertiseAddress: "10.0.0.1", annotateNode: kubeNodeAnnotator(kc) });
 * ```
 */
import {
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";

/** The annotation key cloudcore sets. */
export const CloudCoreAnnotation = "cloudcore";

/** Returns an `annotateNode` callback for {@link CloudHubOptions} backed by a Kubernetes API. */
export function kubeNodeAnnotator(
  kc: KubeConfig,
): (nodeId: string, address: string) => Promise<void> {
  const api = kc.makeApiClient(CoreV1Api);
  return async (nodeId, address) => {
    await api.patchNode(
      { name: nodeId, body: { metadata: { annotations: { [CloudCoreAnnotation]: address } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  };
}
