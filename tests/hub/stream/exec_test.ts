/**
 * kubectl exec, attach and port-forward on edge-sim pods through the embedded API and the
 * CloudStream tunnel, both over kubectl's default WebSocket streams (translated to SPDY for the
 * kubelet) and over SPDY (relayed byte for byte).
 */
import { assert, assertEquals, assertStringIncludes } from "../../assert.ts";
import { kubectlOk } from "../../apiserver/helpers.ts";
import { waitUntil } from "../../wait.ts";
import type { EmbeddedApi } from "../../../apiserver/mod.ts";
import { podYaml, startStreamFixture, type StreamFixture } from "./stream_fixture.ts";

/** Stream transports kubectl can use. */
const MODES = {
  websocket: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: "true", KUBECTL_PORT_FORWARD_WEBSOCKETS: "true" },
  spdy: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: "false", KUBECTL_PORT_FORWARD_WEBSOCKETS: "false" },
};
type Mode = keyof typeof MODES;

function kubectlCmd(api: EmbeddedApi, mode: Mode, args: string[], stdin: "piped" | "null") {
  return new Deno.Command("kubectl", {
    args: ["--kubeconfig", api.kubeconfigPath, ...args],
    stdin,
    stdout: "piped",
    stderr: "piped",
    env: { ...MODES[mode], KUBECACHEDIR: `${api.kubeconfigPath}.cache` },
  });
}

async function run(api: EmbeddedApi, mode: Mode, args: string[], input?: string) {
  const child = kubectlCmd(api, mode, args, input === undefined ? "null" : "piped").spawn();
  if (input !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(input));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function withPod(fn: (f: StreamFixture) => Promise<void>): Promise<void> {
  const f = await startStreamFixture(1);
  try {
    await kubectlOk(f.api, ["apply", "-f", "-"], podYaml("web", "sim-0", ["app"]));
    await waitUntil(() => f.sim.nodes[0].pods.get("default", "web"), "pod reaches the node");
    await fn(f);
  } finally {
    await f.close();
  }
}

for (const mode of ["websocket", "spdy"] as const) {
  Deno.test(`kubectl exec (${mode}): output, stdin, exit codes, attach`, () =>
    withPod(async (f) => {
      const { api } = f;
      const echo = await run(api, mode, ["exec", "web", "--", "echo", "hi", "there"]);
      assertEquals([echo.code, echo.stdout], [0, "hi there\n"]);
      const cat = await run(api, mode, ["exec", "-i", "web", "--", "cat"], "line one\nline two\n");
      assertEquals([cat.code, cat.stdout], [0, "line one\nline two\n"]);
      const exit3 = await run(api, mode, ["exec", "web", "--", "sh", "-c", "exit 3"]);
      assertEquals(exit3.code, 3);
      assertStringIncludes(exit3.stderr, "command terminated with exit code 3");
      const missing = await run(api, mode, ["exec", "web", "--", "nope"]);
      assertEquals(missing.code, 127);
      assertStringIncludes(missing.stderr, 'exec: "nope": executable file not found');
      const attach = await run(api, mode, ["attach", "-i", "web"], "to the main process\n");
      assertEquals([attach.code, attach.stdout], [0, "to the main process\n"]);
      const ws = await f.stack.stream!.metrics.webSocketStreams.get();
      const translated = ws.values.reduce((n, v) => n + v.value, 0);
      assertEquals(translated > 0, mode === "websocket", `translated streams: ${translated}`);
    }));

  Deno.test(`kubectl port-forward (${mode}) moves bytes both ways`, () =>
    withPod(async (f) => {
      const child = kubectlCmd(f.api, mode, [
        "port-forward",
        "pod/web",
        "--address",
        "127.0.0.1",
        ":8080",
      ], "null").spawn();
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      try {
        let text = "";
        let port = 0;
        while (!port) {
          const { value, done } = await lines.read();
          if (done) throw new Error(`port-forward ended: ${text}`);
          text += value;
          port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(text)?.[1] ?? 0);
        }
        for (const payload of ["ping through the tunnel", "x".repeat(200_000)]) {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port });
          await conn.write(new TextEncoder().encode(payload));
          let got = "";
          const buf = new Uint8Array(65536);
          while (got.length < payload.length) {
            const n = await conn.read(buf);
            if (n === null) break;
            got += new TextDecoder().decode(buf.subarray(0, n));
          }
          conn.close();
          assertEquals(got.length, payload.length);
          assert(got === payload, "echoed bytes differ");
        }
      } finally {
        child.kill("SIGTERM");
        await lines.cancel();
        await child.stderr.cancel();
        await child.status;
      }
    }));
}

Deno.test("kubectl exec -i -t: a terminal, its input, and a resize reach the container", () =>
  withPod(async (f) => {
    // `script` gives kubectl a pseudo-terminal, as an operator's shell would.
    // The terminal is resized while the session runs, once the test creates `go` (no timing).
    const go = `${f.stack.dataDir}/resize-now`;
    const cmd = `stty cols 100 rows 30; ` +
      `kubectl --kubeconfig ${f.api.kubeconfigPath} exec -i -t web -- sh </dev/tty & K=$!; ` +
      `while [ ! -e ${go} ]; do sleep 0.05; done; stty cols 120 rows 40; kill -WINCH $K; wait $K`;
    const child = new Deno.Command("script", {
      args: ["-q", "-e", "-c", cmd, "/dev/null"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { KUBECACHEDIR: `${f.api.kubeconfigPath}.cache`, TERM: "xterm" },
    }).spawn();
    // A session that stalls ends with kubectl killed, so `until` fails instead of hanging.
    const guard = setTimeout(() => child.kill(), 30_000);
    const w = child.stdin.getWriter();
    const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    const until = async (needle: string) => {
      while (!seen.includes(needle)) {
        const { value, done } = await out.read();
        if (done) throw new Error(`kubectl ended before ${JSON.stringify(needle)}: ${seen}`);
        seen += value;
      }
    };
    try {
      await until("[resize 100x30]");
      await w.write(new TextEncoder().encode("hello edge\r"));
      await until("hello edge");
      await Deno.writeTextFile(go, "");
      await until("[resize 120x40]");
      await w.write(new TextEncoder().encode("exit\r"));
      // The shell ends the session; closing the terminal's input before that would hang it up.
      const status = await child.status;
      await w.close().catch(() => {});
      assertEquals(status.code, 0, seen);
    } finally {
      clearTimeout(guard);
      await out.cancel().catch(() => {});
      await child.stderr.cancel().catch(() => {});
      try {
        child.kill();
      } catch { /* exited */ }
      await child.status;
    }
  }));
