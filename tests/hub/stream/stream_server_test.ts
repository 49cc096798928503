/**
 * The stream server kube-apiserver calls as the nodes' kubelet (cloudcore's routes): container
 * logs by the pod's node, stats by the node in the Host or X-Forwarded-Uri, errors naming the pod
 * or node, exec refused without an upgrade.
 */
import { assertEquals, assertStringIncludes } from "../../assert.ts";
import { kubectlOk } from "../../apiserver/helpers.ts";
import { waitUntil } from "../../wait.ts";
import { podYaml, startStreamFixture } from "./stream_fixture.ts";

Deno.test("stream server: logs, stats and errors on cloudcore's kubelet paths", async () => {
  const f = await startStreamFixture(1, {}, true);
  const client = Deno.createHttpClient({ caCerts: [f.stack.pki.ca.certPem] });
  try {
    await kubectlOk(f.api, ["apply", "-f", "-"], podYaml("web", "sim-0"));
    await waitUntil(() => f.sim.nodes[0].pods.get("default", "web"), "pod reaches the node");
    const base = `https://127.0.0.1:${f.stack.stream!.streamPort}`;
    const get = async (path: string, headers: Record<string, string> = {}) => {
      const r = await fetch(`${base}${path}`, { client, headers });
      return { status: r.status, text: await r.text() };
    };
    // fetch sets Host itself; kube-apiserver's Host names the node, so write the request by hand.
    const withHost = async (path: string, host: string) => {
      const conn = await Deno.connectTls({
        hostname: "127.0.0.1",
        port: f.stack.stream!.streamPort,
        caCerts: [f.stack.pki.ca.certPem],
      });
      await conn.write(new TextEncoder().encode(
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      ));
      const raw = new TextDecoder().decode(
        new Uint8Array(await new Response(conn.readable).arrayBuffer()),
      );
      return { status: Number(raw.split(" ")[1]), text: raw };
    };
    const logs = await get("/containerLogs/default/web/app?tailLines=1");
    assertEquals(logs.status, 200);
    assertStringIncludes(logs.text, "default/web/app line");
    // Stats by the node a nodes/proxy call names, or by the Host (the node's IP or name).
    const fwd = await get("/stats/summary", {
      "x-forwarded-uri": "/api/v1/nodes/sim-0/proxy/stats/summary",
    });
    assertEquals(JSON.parse(fwd.text).node.nodeName, "sim-0");
    const byHost = await withHost("/stats/summary", "sim-0:10351");
    assertEquals(byHost.status, 200);
    assertStringIncludes(byHost.text, '"nodeName": "sim-0"');
    const nopod = await get("/containerLogs/default/nope/app");
    assertEquals(nopod.status, 404);
    assertStringIncludes(nopod.text, "default/nope");
    const offline = await withHost("/stats/summary", "other-node:10351");
    assertEquals(offline.status, 503);
    assertStringIncludes(offline.text, "other-node");
    const exec = await get("/exec/default/web/app?command=ls");
    assertEquals(exec.status, 400);
    assertStringIncludes(exec.text, "not an upgrade");
  } finally {
    client.close();
    await f.close();
  }
});
