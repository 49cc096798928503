/**
 * `kubectl explain` prints fields and descriptions of built-in kinds (Kubernetes v1.32's
 * published schemas) and of CRDs (their openAPIV3Schema, KubeEdge's own Device CRD included), and
 * every served built-in kind has its published schema in its group/version's OpenAPI v3 document.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import BUILTIN_SCHEMAS from "../../apiserver/openapi_schemas.json" with { type: "json" };
import { openApiV3Doc, openApiV3Root } from "../../apiserver/openapi.ts";
import { ResourceRegistry } from "../../apiserver/resources.ts";
import { kubeedgeCrdsDir } from "../kubeedge_crds.ts";
import { kubectl, kubectlOk, startTestApi, waitFor } from "./helpers.ts";

type Schema = Record<string, unknown>;
const SCHEMAS = BUILTIN_SCHEMAS as Record<string, Schema>;

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

Deno.test("kubectl explain pod.spec and pod.spec.containers: fields with descriptions", async () => {
  const api = await startTestApi();
  try {
    const spec = await kubectlOk(api, ["explain", "pod.spec"]);
    assertStringIncludes(spec, "KIND:       Pod");
    assertStringIncludes(spec, "containers\t<[]Container> -required-");
    assertStringIncludes(spec, "List of containers belonging to the pod.");
    const containers = await kubectlOk(api, ["explain", "pod.spec.containers"]);
    assertStringIncludes(containers, "FIELD: containers <[]Container>");
    assertStringIncludes(containers, "readinessProbe\t<Probe>");
    // The preinstalled KubeEdge CRDs have open schemas, but metadata is explained as for any kind.
    const meta = await kubectlOk(api, ["explain", "devices.metadata.labels"]);
    assertStringIncludes(meta, "GROUP:      devices.kubeedge.io");
    assertStringIncludes(meta, "Map of string keys and values");
  } finally {
    await api.dispose();
  }
});

const KUBEEDGE = kubeedgeCrdsDir("v1.23.1");
if (!KUBEEDGE) console.log("not run: kubectl explain devices.spec (needs KUBEEDGE_CRDS_DIR)");
Deno.test({
  name: "kubectl explain devices.spec: KubeEdge's Device CRD, from its openAPIV3Schema",
  ignore: !KUBEEDGE,
  fn: async () => {
    const api = await startTestApi();
    try {
      // With the preinstalled (open) schema there is no spec to explain, as on a real cluster.
      const open = await kubectl(api, ["explain", "devices.spec"]);
      assertStringIncludes(open.stderr, 'field "spec" does not exist');
      // KubeEdge's own manifest replaces the preinstalled Device CRD.
      await kubectlOk(api, ["apply", "-f", `${KUBEEDGE}/devices_v1beta1_device.yaml`]);
      const out = await waitFor(async () => {
        const r = await kubectl(api, ["explain", "devices.spec"]);
        return r.code === 0 ? r.stdout : "";
      }, "the Device schema in the OpenAPI documents");
      assertStringIncludes(out, "KIND:       Device");
      assertStringIncludes(out, "deviceModelRef\t<Object>");
      assertStringIncludes(out, "nodeName\t<string>");
      assertStringIncludes(
        out,
        "NodeName is a request to schedule this device onto a specific node.",
      );
    } finally {
      await api.dispose();
    }
  },
});

Deno.test("generated schemas: apps/v1 and batch/v1 kinds with their descriptions", () => {
  const strategy = SCHEMAS["io.k8s.api.apps.v1.DeploymentStrategy"];
  assert(strategy, "io.k8s.api.apps.v1.DeploymentStrategy");
  const props = strategy.properties as Record<string, Schema>;
  assertEquals(Object.keys(props).sort(), ["rollingUpdate", "type"]);
  assertStringIncludes(String(props.rollingUpdate.description), "Rolling update config params");
  for (
    const kind of [
      "apps.v1.Deployment",
      "apps.v1.ReplicaSet",
      "apps.v1.DaemonSet",
      "apps.v1.StatefulSet",
      "apps.v1.ControllerRevision",
      "batch.v1.Job",
      "batch.v1.CronJob",
      "discovery.v1.EndpointSlice",
      "authorization.v1.SelfSubjectAccessReview",
      "autoscaling.v1.Scale",
      "policy.v1.Eviction",
    ]
  ) {
    assert(SCHEMAS[`io.k8s.api.${kind}`]?.["x-kubernetes-group-version-kind"], kind);
  }
});

Deno.test("every served built-in kind has its published schema in its group/version document", async () => {
  const reg = new ResourceRegistry();
  for (const d of reg.all()) {
    // metrics.k8s.io is metrics-server's, not in Kubernetes' spec: it gets an open skeleton.
    if (!d.builtin || d.group === "metrics.k8s.io") continue;
    const doc = await openApiV3Doc(
      reg,
      d.group ? `apis/${d.group}/${d.version}` : `api/${d.version}`,
    );
    const schemas = (doc?.components as { schemas: Record<string, Schema> }).schemas;
    const found = Object.entries(schemas).find(([name, s]) =>
      SCHEMAS[name] === s &&
      ((s["x-kubernetes-group-version-kind"] ?? []) as Schema[]).some((g) =>
        g.group === d.group && g.version === d.version && g.kind === d.kind
      )
    );
    assert(found, `${d.group}/${d.version} ${d.kind}`);
  }
});

Deno.test("a CRD's new schema changes its group/version document's hash", async () => {
  const reg = new ResourceRegistry();
  const crd = (description: string) => ({
    metadata: { name: "widgets.example.com" },
    spec: {
      group: "example.com",
      scope: "Namespaced",
      names: { plural: "widgets", kind: "Widget" },
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: "object", description } },
      }],
    },
  });
  const url = () =>
    (openApiV3Root(reg).paths as Record<string, { serverRelativeURL: string }>)[
      "apis/example.com/v1"
    ].serverRelativeURL;
  reg.applyCrd(crd("first"));
  const before = url();
  reg.applyCrd(crd("second"));
  assert(url() !== before, before);
  const doc = await openApiV3Doc(reg, "apis/example.com/v1");
  const widget = (doc?.components as { schemas: Record<string, Schema> }).schemas[
    "com.example.v1.Widget"
  ];
  assertEquals(widget.description, "second");
  assertEquals(
    Object.keys(widget.properties as Schema).sort(),
    ["apiVersion", "kind", "metadata"],
  );
});
