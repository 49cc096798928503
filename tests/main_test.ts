/**
 * The spine, end to end through the real program: `main.ts serve` as a subprocess on the embedded
 * API; an edge joins with the token from `main.ts token` (CA check, CSR, signed cert), connects
 * over mTLS WebSocket and registers its node; a pod and the configmap it mounts, applied with
 * real kubectl, reach the edge; the edge's pod status lands in the API; SIGTERM exits 0.
 */
import { assert, assertEquals } from "./assert.ts";
import { ROOT, runMain, RunningMain, writeTestConfig } from "./cli/subprocess.ts";
import { bootstrap } from "../edge/bootstrap.ts";
import { EdgeClient } from "../edge/client.ts";
import { nodeInsert, podStatus } from "../edge/sim/messages.ts";
import type { Message } from "../modules/message.ts";

function portFrom(lines: string[], marker: string, pattern: RegExp): number {
  const line = lines.find((l) => l.includes(marker));
  const m = line ? pattern.exec(line) : null;
  if (!m) throw new Error(`no "${marker}" line with a port in:\n${lines.join("\n")}`);
  return Number(m[1]);
}

async function kubectl(kubeconfig: string, args: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command("kubectl", {
    args: ["--kubeconfig", kubeconfig, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`kubectl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

const MANIFEST = `
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config, namespace: default}
data: {greeting: hello}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  nodeName: edge-1
  containers:
  - name: web
    image: nginx
    volumeMounts: [{name: cfg, mountPath: /cfg}]
  volumes:
  - name: cfg
    configMap: {name: app-config}
`;

Deno.test("spine: join with a token over mTLS, kubectl pod reaches the edge, status comes back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgecloud-spine-" });
  const data = `${dir}/data`;
  const config = await writeTestConfig(dir);
  const hub = new RunningMain(["serve", "--config", config, "--data-dir", data]);
  let edge: EdgeClient | undefined;
  try {
    await hub.waitForLine("edgecloud ready");
    const wsPort = portFrom(hub.lines, "websocket server listening", /port=(\d+)/);
    const certPort = portFrom(hub.lines, "cert server listening", /port=(\d+)/);
    const kubeconfig = `${data}/kubeconfig.yaml`;

    const token = await runMain(["token", "--config", config, "--data-dir", data]);
    assertEquals(token.code, 0, token.stderr);
    assert(/^[0-9a-f]{64}\.[\w-]+\.[\w-]+\.[\w-]+$/.test(token.stdout.trim()), token.stdout);

    const creds = await bootstrap({
      server: `127.0.0.1:${certPort}`,
      token: token.stdout.trim(),
      nodeName: "edge-1",
    });
    edge = new EdgeClient({
      server: `127.0.0.1:${wsPort}`,
      nodeName: "edge-1",
      caPem: creds.caPem,
      certPem: creds.certPem,
      keyPem: creds.keyPem,
    });
    await edge.connect();

    // edged registers its node the way edgecore does; the response is an ObjectResp.
    const insert = nodeInsert("edge-1");
    await edge.send(insert);
    const created = await edge.waitFor((m) => m.header.parentId === insert.header.id);
    assertEquals(created.route.operation, "response");
    const node = JSON.parse(await kubectl(kubeconfig, ["get", "node", "edge-1", "-o", "json"]));
    assertEquals(node.metadata.labels["node-role.kubernetes.io/edge"], "");
    assertEquals(node.metadata.annotations?.cloudcore, "127.0.0.1");

    await kubectl(kubeconfig, ["apply", "-f", "-"], MANIFEST);
    const isPodInsert = (m: Message) =>
      m.route.resource === "default/pod/web" && m.route.operation === "insert";
    const pod = await edge.waitFor(isPodInsert);
    assert(pod.header.resourceVersion, "pod insert carries the resourceVersion");
    const podContent = pod.content as { kind: string; metadata: { uid: string } };
    assertEquals(podContent.kind, "Pod");
    const cm = await edge.waitFor((m) => m.route.resource === "default/configmap/app-config");
    assertEquals((cm.content as { data: Record<string, string> }).data, { greeting: "hello" });

    const status = podStatus("default", "web", podContent.metadata.uid);
    await edge.send(status);
    const ok = await edge.waitFor((m) => m.header.parentId === status.header.id);
    assertEquals(ok.content, "OK");
    const phase = await kubectl(kubeconfig, [
      "get",
      "pod",
      "web",
      "-o",
      "jsonpath={.status.phase}",
    ]);
    assertEquals(phase, "Running");

    await edge.close();
    edge = undefined;
    hub.child.kill("SIGTERM");
    const exit = await hub.finish();
    assertEquals(exit.code, 0, hub.lines.join("\n"));
  } finally {
    await edge?.close();
    try {
      hub.child.kill("SIGKILL");
    } catch { /* already exited */ }
    await hub.finish();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spine: ROOT is the repository (sanity for the subprocess helpers)", async () => {
  const stat = await Deno.stat(`${ROOT}/main.ts`);
  assert(stat.isFile);
});
