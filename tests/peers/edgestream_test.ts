/**
 * Real edgecore's EdgeStream (EDGECORE_BIN) against edgecloud's CloudStream on the embedded API:
 * edgecore dials the tunnel with its node certificate, edgecloud records the node's kubelet port,
 * and `kubectl logs`, `kubectl get --raw .../proxy/stats/summary` and `kubectl exec` reach the
 * node's kubelet server at 127.0.0.1:10350 through edgecore's relay. edged needs a container
 * runtime, which this machine lacks, so the kubelet server is a stand-in in this process serving
 * the kubelet's paths (exec through our kubelet streaming code); what is under test is edgecore's
 * tunnel end and ours.
 */
import http from "node:http";
import type { Duplex } from "node:stream";
import { type ContainerRuntime, serveKubeletUpgrade } from "../../protocol/kubelet/mod.ts";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import {
  eventually,
  exclusively,
  freePort,
  joinToken,
  kubectl,
  LoggedProcess,
  peerTest,
  removeDir,
  startHub,
} from "./harness.ts";
import { edgecoreConfig } from "./edgecore.ts";

const NODE = "ec-stream-1";
const KUBELET_PORT = 10350;

/** A runtime for the stand-in kubelet: `echo` and `cat`. */
const runtime: ContainerRuntime = {
  async exec(t, io) {
    const w = io.stdout!.getWriter();
    if (t.command[0] === "echo") {
      await w.write(new TextEncoder().encode(t.command.slice(1).join(" ") + "\n"));
    } else if (io.stdin) { for await (const c of io.stdin) await w.write(c); }
    w.releaseLock();
    return t.command[0] === "false" ? 1 : 0;
  },
  attach: () => Promise.resolve(0),
  async portForward(_t, conn) {
    await conn.readable.pipeTo(conn.writable);
  },
};

/** A node socket as a byte pipe (after `head`). */
function socketPipe(socket: Duplex, head: Uint8Array) {
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      if (head.length) c.enqueue(new Uint8Array(head));
      socket.on("data", (d: Uint8Array) => c.enqueue(new Uint8Array(d)));
      socket.on("end", () => {
        try {
          c.close();
        } catch { /* cancelled */ }
      });
      socket.on("error", () => {});
    },
    cancel: () => void socket.destroy(),
  });
  const writable = new WritableStream<Uint8Array>({
    write: (c) => new Promise((r) => socket.write(c, () => r())),
    close: () => new Promise((r) => socket.end(() => r())),
  });
  return { readable, writable };
}

/** The stand-in kubelet server: records what reached it; exec through our kubelet protocol. */
function standInKubelet(seen: { path: string; auth: string }[]): http.Server {
  const server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? "", auth: String(req.headers.authorization ?? "") });
    if ((req.url ?? "").startsWith("/containerLogs/default/web/app")) {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("hello from the kubelet\nsecond line\n");
    } else if (req.url === "/stats/summary") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ node: { nodeName: NODE }, pods: [] }, null, 2));
    } else {
      res.writeHead(404);
      res.end("404 page not found\n");
    }
  });
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Uint8Array) => {
    seen.push({ path: req.url ?? "", auth: String(req.headers.authorization ?? "") });
    const headers = new Headers();
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    }
    void serveKubeletUpgrade(
      { method: req.method ?? "GET", url: req.url ?? "/", headers },
      socketPipe(socket, head),
      runtime,
    );
  });
  return server;
}

peerTest("edgecore's EdgeStream carries kubectl logs, exec and nodes/proxy through CloudStream", [
  "EDGECORE_BIN",
], async ({ EDGECORE_BIN }, t) => {
  await exclusively(async () => {
    const dir = await Deno.makeTempDir({ prefix: "edgecloud-peer-stream-" });
    const tunnelPort = freePort();
    const hub = await startHub(dir, {
      extra: `  cloudStream:\n    enable: true\n    tunnelPort: ${tunnelPort}\n`,
    });
    const kc = hub.kubeconfig;
    const edgeDir = `${dir}/edge`;
    await Deno.mkdir(edgeDir, { recursive: true });
    const seen: { path: string; auth: string }[] = [];
    const kubelet = standInKubelet(seen);
    await new Promise<void>((r) => kubelet.listen(KUBELET_PORT, "127.0.0.1", r));
    let edge: LoggedProcess | undefined;
    try {
      // edged is off, so nothing registers the node: create it as edged would have.
      await kubectl(kc, ["apply", "-f", "-"], {
        stdin: `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${NODE}\n`,
      });
      await kubectl(kc, ["apply", "-f", "-"], {
        stdin:
          `apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  nodeName: ${NODE}\n  containers:\n  - name: app\n    image: busybox:1\n`,
      });
      const config = await edgecoreConfig(
        EDGECORE_BIN,
        edgeDir,
        NODE,
        hub,
        await joinToken(hub.dataDir),
        { mqtt: freePort(), metaServer: freePort(), tunnel: tunnelPort },
      );
      edge = new LoggedProcess(EDGECORE_BIN, ["--config", config], `${edgeDir}/edgecore.log`);

      await t.step("the tunnel comes up and the node's kubelet port is recorded", async () => {
        await hub.main.waitForLine(`stream tunnel connected node=${NODE}`);
        const port = await eventually(async () =>
          (await kubectl(kc, [
            "get",
            "node",
            NODE,
            "-o",
            "jsonpath={.status.daemonEndpoints.kubeletEndpoint.Port}",
          ])).stdout, "kubelet port");
        assertEquals(port, "10351");
      });

      await t.step("kubectl logs reaches the kubelet through edgecore's relay", async () => {
        const out = await kubectl(kc, ["logs", "web", "--tail=2", "--timestamps"]);
        assertEquals(out.stdout, "hello from the kubelet\nsecond line\n");
        const hit = seen.find((s) => s.path.startsWith("/containerLogs/default/web/app"))!;
        assertEquals(hit.path, "/containerLogs/default/web/app?tailLines=2&timestamps=true");
        assertEquals(hit.auth, "", "kubectl's token never reaches the edge");
      });

      await t.step("nodes/proxy stats/summary", async () => {
        const out = await kubectl(kc, [
          "get",
          "--raw",
          `/api/v1/nodes/${NODE}/proxy/stats/summary`,
        ]);
        assertEquals(JSON.parse(out.stdout).node.nodeName, NODE);
      });

      for (const mode of ["websocket", "spdy"]) {
        await t.step(`kubectl exec (${mode}) through edgecore's raw relay`, async () => {
          const flag = mode === "websocket" ? "true" : "false";
          const out = await new Deno.Command("kubectl", {
            args: ["--kubeconfig", kc, "exec", "-i", "web", "--", "cat"],
            stdin: "piped",
            stdout: "piped",
            stderr: "piped",
            env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: flag, KUBECACHEDIR: `${kc}.cache` },
          }).spawn();
          const w = out.stdin.getWriter();
          await w.write(new TextEncoder().encode("through the real edgecore\n"));
          await w.close();
          const r = await out.output();
          assertEquals(new TextDecoder().decode(r.stdout), "through the real edgecore\n");
          assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
          const hit = seen.findLast((s) => s.path.startsWith("/exec/default/web/app"))!;
          assertEquals(hit.path, "/exec/default/web/app?command=cat&error=1&input=1&output=1");
          assertEquals(hit.auth, "");
        });
      }
      const failed = await kubectl(kc, ["exec", "web", "--", "false"], { allowFail: true });
      assertEquals(failed.code, 1);

      await t.step("no malformed frames, and the tunnel stays up", () => {
        assertEquals(hub.main.lines.filter((l) => l.includes("malformed")), []);
        assert(!hub.main.lines.some((l) => l.includes("stream tunnel closed")));
        assertStringIncludes(edge!.log(), "Start a new tunnel stream connection");
      });
    } finally {
      await edge?.stop();
      await new Promise<void>((r) => kubelet.close(() => r()));
      kubelet.closeAllConnections();
      await hub.stop();
      await removeDir(dir);
    }
  });
});
