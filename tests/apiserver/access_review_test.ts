/** `kubectl auth can-i` against the embedded API (no RBAC: every review is allowed). */
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { kubectl, kubectlOk, startTestApi } from "./helpers.ts";

Deno.test("kubectl auth can-i and can-i --list", async () => {
  const api = await startTestApi();
  try {
    assertEquals((await kubectlOk(api, ["auth", "can-i", "create", "pods"])).trim(), "yes");
    assertEquals(
      (await kubectlOk(api, ["auth", "can-i", "delete", "deployments.apps", "-n", "kube-system"]))
        .trim(),
      "yes",
    );
    const list = await kubectlOk(api, ["auth", "can-i", "--list"]);
    assertStringIncludes(list, "*.*");
    const bad = await kubectl(api, [
      "get",
      "--raw",
      "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    ]);
    assertEquals(bad.code, 1);
  } finally {
    await api.dispose();
  }
});
