/** `kubectl explain` prints fields and descriptions of built-in kinds and of CRDs. */
import { assertStringIncludes } from "../assert.ts";
import { kubectl, kubectlOk, startTestApi, waitFor } from "./helpers.ts";

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: What the widget should be.
            properties:
              size:
                type: integer
                description: How big the widget is.
`;

Deno.test("kubectl explain: built-in kinds (published schemas) and CRDs (their openAPIV3Schema)", async () => {
  const api = await startTestApi();
  try {
    const strategy = await kubectlOk(api, ["explain", "deployment.spec.strategy"]);
    assertStringIncludes(strategy, "GROUP:      apps");
    assertStringIncludes(strategy, "rollingUpdate");
    assertStringIncludes(strategy, "Rolling update config params");
    const containers = await kubectlOk(api, ["explain", "pod.spec.containers.image"]);
    assertStringIncludes(containers, "Container image name");
    const recursive = await kubectlOk(api, ["explain", "daemonset.spec", "--recursive"]);
    assertStringIncludes(recursive, "updateStrategy");
    await kubectlOk(api, ["apply", "-f", "-"], CRD);
    const widget = await waitFor(async () => {
      const r = await kubectl(api, ["explain", "widgets.spec"]);
      return r.code === 0 ? r.stdout : "";
    }, "the CRD in the OpenAPI documents");
    assertStringIncludes(widget, "size");
    assertStringIncludes(widget, "How big the widget is.");
  } finally {
    await api.dispose();
  }
});
