import { assertEquals, assertStringIncludes } from "../assert.ts";
import { generatedDocs } from "../../scripts/gen_docs.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

Deno.test("docs/config.md and docs/metrics.md are generated from the code and current", async () => {
  const docs = await generatedDocs();
  for (const [path, text] of Object.entries(docs)) {
    assertEquals(
      await Deno.readTextFile(`${ROOT}${path}`),
      text,
      `${path} is stale: run deno run -A scripts/gen_docs.ts`,
    );
  }
  // Spot checks that the generator really walked the types and the registry.
  const config = docs["docs/config.md"];
  assertStringIncludes(config, "| `modules.cloudHub.websocket.port` | number | `10000` |");
  assertStringIncludes(config, "| `modules.edgeController.load.CreatePodWorks` | number | `4` |");
  assertStringIncludes(config, "**deviation**");
  assertStringIncludes(config, "| `apiServer` | object |  | **edgecloud**");
  assertStringIncludes(docs["docs/metrics.md"], "| `KubeEdge_CloudHub_connected_nodes` | gauge |");
});
