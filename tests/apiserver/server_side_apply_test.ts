/** Server-side apply with kubectl: managedFields, conflicts, --force-conflicts, removed fields. */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { kubectl, kubectlOk, startTestApi } from "./helpers.ts";

const deploy = (replicas: number, labels = "app: web, tier: front") =>
  `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {${labels}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: c
        image: nginx:1.25
`;

Deno.test("server-side apply: a second manager's conflicting value is refused, --force-conflicts takes it", async () => {
  const api = await startTestApi();
  try {
    await kubectlOk(api, ["apply", "--server-side", "-f", "-"], deploy(3));
    const mf = JSON.parse(
      await kubectlOk(api, [
        "get",
        "deploy",
        "web",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields}",
      ]),
    ) as { manager: string; operation: string; fieldsV1: Record<string, unknown> }[];
    assertEquals(mf.map((m) => [m.manager, m.operation]), [["kubectl", "Apply"]]);
    // kubectl hides them unless asked (client side; the API returns them).
    const yaml = await kubectlOk(api, ["get", "deploy", "web", "-o", "yaml"]);
    assert(!yaml.includes("managedFields"), yaml);
    assertStringIncludes(
      await kubectlOk(api, ["get", "--raw", "/apis/apps/v1/namespaces/default/deployments/web"]),
      '"managedFields"',
    );
    assert("f:replicas" in (mf[0].fieldsV1["f:spec"] as Record<string, unknown>));

    // Another manager sets the same field to another value: 409, kubectl explains.
    const r = await kubectl(
      api,
      ["apply", "--server-side", "--field-manager=ops", "-f", "-"],
      deploy(5, "app: web"),
    );
    assertEquals(r.code, 1);
    assertStringIncludes(
      r.stderr,
      'Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas',
    );
    // The same value is no conflict (shared ownership).
    await kubectlOk(
      api,
      ["apply", "--server-side", "--field-manager=ops", "-f", "-"],
      deploy(3, "app: web"),
    );
    // Forced: ops takes .spec.replicas.
    await kubectlOk(api, [
      "apply",
      "--server-side",
      "--field-manager=ops",
      "--force-conflicts",
      "-f",
      "-",
    ], deploy(5, "app: web"));
    assertEquals(
      await kubectlOk(api, ["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]),
      "5",
    );
    const after = JSON.parse(
      await kubectlOk(api, [
        "get",
        "deploy",
        "web",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields}",
      ]),
    ) as { manager: string; fieldsV1: Record<string, Record<string, unknown>> }[];
    const owner = after.find((m) => "f:replicas" in (m.fieldsV1["f:spec"] ?? {}));
    assertEquals(owner?.manager, "ops");
    // kubectl no longer owns replicas: its next apply of 3 conflicts with ops now.
    const back = await kubectl(api, ["apply", "--server-side", "-f", "-"], deploy(3));
    assertStringIncludes(back.stderr, 'conflict with "ops" using apps/v1: .spec.replicas');
    // A label kubectl stops applying (and nobody else owns) is removed.
    await kubectlOk(
      api,
      ["apply", "--server-side", "--force-conflicts", "-f", "-"],
      deploy(3, "app: web"),
    );
    const labels = await kubectlOk(api, [
      "get",
      "deploy",
      "web",
      "-o",
      "jsonpath={.metadata.labels}",
    ]);
    assertEquals(JSON.parse(labels), { app: "web" });
    // An ordinary update takes the fields it changes.
    await kubectlOk(api, ["label", "deploy", "web", "tier=back"]);
    const upd = JSON.parse(
      await kubectlOk(api, [
        "get",
        "deploy",
        "web",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields}",
      ]),
    ) as { manager: string; operation: string }[];
    assert(
      upd.some((m) => m.manager === "kubectl-label" && m.operation === "Update"),
      JSON.stringify(upd),
    );
    // A status write is recorded apart, with subresource status and only status fields.
    await kubectlOk(api, [
      "patch",
      "deploy",
      "web",
      "--subresource=status",
      "--type=merge",
      "-p",
      '{"status":{"observedGeneration":7}}',
    ]);
    const withStatus = JSON.parse(
      await kubectlOk(api, [
        "get",
        "deploy",
        "web",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields}",
      ]),
    ) as { manager: string; subresource?: string; fieldsV1: Record<string, unknown> }[];
    const status = withStatus.find((m) => m.subresource === "status");
    assertEquals(status?.manager, "kubectl-patch");
    assertEquals(status?.fieldsV1, { "f:status": { "f:observedGeneration": {} } });
  } finally {
    await api.dispose();
  }
});
