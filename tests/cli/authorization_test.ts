/**
 * `modules.cloudHub.authorization` in cloudcore.yaml governs the EdgeController's node
 * restriction too, as cloudcore's authorizer does: with edgecloud's default (enabled) an edge
 * asking for a secret none of its pods uses is refused; with `enable: false` (KubeEdge's own
 * default) it gets it. Run through the real program with our own edge client.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { runMain, RunningMain, writeTestConfig } from "./subprocess.ts";
import { bootstrap } from "../../edge/bootstrap.ts";
import { EdgeClient } from "../../edge/client.ts";
import { buildMessage } from "../../modules/message.ts";

function portOf(lines: string[], marker: string): number {
  const m = / port=(\d+)/.exec(lines.find((l) => l.includes(marker)) ?? "");
  if (!m) throw new Error(`no "${marker}" line`);
  return Number(m[1]);
}

/** What edge-1 gets when it asks for secret default/other (used by no pod of its). */
async function querySecret(extraConfig: string): Promise<unknown> {
  const dir = await Deno.makeTempDir({ prefix: "edgecloud-authz-" });
  const data = `${dir}/data`;
  const config = await writeTestConfig(dir, extraConfig);
  const hub = new RunningMain(["serve", "--config", config, "--data-dir", data]);
  let edge: EdgeClient | undefined;
  try {
    await hub.waitForLine("edgecloud ready");
    const kubeconfig = `${data}/kubeconfig.yaml`;
    const created = await new Deno.Command("kubectl", {
      args: [
        "--kubeconfig",
        kubeconfig,
        "create",
        "secret",
        "generic",
        "other",
        "--from-literal=k=v",
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert(created.success, new TextDecoder().decode(created.stderr));
    const token = await runMain(["token", "--config", config, "--data-dir", data]);
    assertEquals(token.code, 0, token.stderr);
    const creds = await bootstrap({
      server: `127.0.0.1:${portOf(hub.lines, "cert server listening")}`,
      token: token.stdout.trim(),
      nodeName: "edge-1",
    });
    edge = new EdgeClient({
      server: `127.0.0.1:${portOf(hub.lines, "websocket server listening")}`,
      nodeName: "edge-1",
      ...creds,
    });
    await edge.connect();
    const query = buildMessage({
      source: "edged",
      group: "meta",
      operation: "query",
      resource: "default/secret/other",
    }, null);
    await edge.send(query);
    const reply = await edge.waitFor((m) => m.header.parentId === query.header.id);
    return reply.content;
  } finally {
    await edge?.close();
    try {
      hub.child.kill("SIGTERM");
    } catch { /* already exited */ }
    await hub.finish();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("authorization enabled (edgecloud's default): an edge cannot read another's secret", async () => {
  const content = JSON.stringify(await querySecret(""));
  assertStringIncludes(content, "Forbidden");
  assertStringIncludes(content, 'User \\"system:node:edge-1\\"');
});

Deno.test("authorization.enable false (KubeEdge's default): no node restriction, as cloudcore", async () => {
  const content = await querySecret("    authorization: {enable: false, debug: true}\n") as {
    kind?: string;
    data?: Record<string, string>;
  };
  assertEquals(content.data, { k: btoa("v") });
});
