/** The kubeconfig the embedded API writes for kubectl and client-node. */
import { stringify } from "yaml";

/** Renders a kubeconfig with one cluster (CA data inline), one token user and one context. */
export function renderKubeconfig(server: string, caPem: string, token: string): string {
  const caData = btoa(caPem);
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    preferences: {},
    clusters: [{ name: "edgecloud", cluster: { server, "certificate-authority-data": caData } }],
    users: [{ name: "edgecloud-admin", user: { token } }],
    contexts: [{
      name: "edgecloud",
      context: { cluster: "edgecloud", user: "edgecloud-admin", namespace: "default" },
    }],
    "current-context": "edgecloud",
  });
}
