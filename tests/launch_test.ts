/**
 * The real launcher (`deno task start|token|kubeconfig|edge-sim` run `launch.ts`): every documented
 * argument works with paths outside the repository, errors name the thing, and the program gets
 * only the permissions its arguments need.
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { LAUNCHER_FLAGS } from "../permissions.ts";
import { ROOT, RunningMain, writeTestConfig } from "./cli/subprocess.ts";
import { waitUntil } from "./wait.ts";

const LAUNCH = `${ROOT}launch.ts`;
const argvOf = (args: string[]) => ["run", ...LAUNCHER_FLAGS, LAUNCH, ...args];

/** Runs the launcher to completion (it starts `deno` from PATH, as under `deno task`). */
async function launch(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: argvOf(args),
    cwd: ROOT,
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The `--allow-*=` lists of a printed command, by flag. */
function lists(command: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const m of command.matchAll(/--(allow-[a-z]+)(?:=(\S+))?/g)) {
    out[m[1]] = m[2] ? m[2].split(",") : [];
  }
  return out;
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "edgecloud-launch-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("launcher: serve with a data dir, config and --api-port 0 outside the repo; token, kubeconfig; SIGTERM ends it", async () => {
  await withDir(async (dir) => {
    const config = await writeTestConfig(dir);
    const data = `${dir}/data`;
    const hub = new RunningMain(
      [],
      argvOf(["serve", "--data-dir", data, "--config", config, "--api-port", "0"]),
    );
    try {
      await hub.waitForLine("edgecloud ready");
      const token = await launch(["token", "--data-dir", data, "--config", config]);
      assertEquals(token.code, 0, token.stderr);
      assert(/^[0-9a-f]{64}\.[\w-]+\.[\w-]+\.[\w-]+$/.test(token.stdout.trim()), token.stdout);
      const out = `${dir}/admin.kubeconfig`;
      const kc = await launch([
        "kubeconfig",
        "--data-dir",
        data,
        "--output",
        out,
        "--mode",
        "0640",
      ]);
      assertEquals(kc.code, 0, kc.stderr);
      assertEquals((await Deno.stat(out)).mode! & 0o777, 0o640);
      const nodes = await new Deno.Command("kubectl", {
        args: ["--kubeconfig", out, "get", "namespaces", "-o", "name"],
      }).output();
      assertStringIncludes(new TextDecoder().decode(nodes.stdout), "namespace/kubeedge");

      // A second hub on a real cluster's kubeconfig (the first hub's API), also outside the repo.
      await Deno.mkdir(`${dir}/two`);
      const second = new RunningMain(
        [],
        argvOf([
          "serve",
          "--data-dir",
          `${dir}/data2`,
          "--config",
          await writeTestConfig(`${dir}/two`),
          "--kubeconfig",
          out,
        ]),
      );
      try {
        await second.waitForLine("edgecloud ready");
      } finally {
        second.child.kill("SIGTERM");
        assertEquals((await second.finish()).code, 0, second.lines.join("\n"));
      }
    } finally {
      hub.child.kill("SIGTERM");
      const status = await hub.finish();
      assertEquals(status.code, 0, hub.lines.join("\n"));
    }
  });
});

Deno.test("launcher: the program gets only what the run needs (no -A, the listed paths and hosts)", async () => {
  await withDir(async (dir) => {
    const config = await writeTestConfig(dir);
    const printed = await launch([
      "serve",
      "--print",
      "--data-dir",
      `${dir}/d`,
      "--config",
      config,
    ]);
    assertEquals(printed.code, 0, printed.stderr);
    const command = printed.stdout.trim();
    assert(!/\s(-A|--allow-all)(\s|$)/.test(command), command);
    const l = lists(command);
    // writeTestConfig: every listener on 127.0.0.1 port 0, QUIC off, the CSI socket under dir.
    assertEquals(l["allow-net"], ["127.0.0.1", `unix:${dir}/kubeedge.sock`]);
    assertEquals(l["allow-write"], [`${dir}/d`, dir]);
    assert(l["allow-read"].includes(config), command);
    assert(l["allow-read"].every((p) => p.startsWith(dir)), `reads outside ${dir}: ${command}`);
    assertEquals(l["allow-run"], undefined);
    assertEquals(l["allow-ffi"], undefined);
    assert(!command.includes("--unstable-net"), "QUIC is off: no --unstable-net");

    const token = lists((await launch(["token", "--print", "--data-dir", `${dir}/d`])).stdout);
    assertEquals(token["allow-read"], [`${dir}/d`]);
    assertEquals(token["allow-write"], undefined);
    const sim = await launch(["edge-sim", "--print", "--server", "127.0.0.1:1", "--token", "t"]);
    assertEquals(lists(sim.stdout)["allow-net"], ["127.0.0.1:1", "127.0.0.1:10002"]);
  });
});

Deno.test("launcher: help of edge-sim, a bad config outside the repo, a port in use: one clear line", async () => {
  await withDir(async (dir) => {
    const help = await launch(["edge-sim", "--help"]);
    assertEquals(help.code, 0, help.stderr);
    assertStringIncludes(help.stdout, "usage: edgecloud edge-sim");

    const bad = `${dir}/cloudcore.yaml`;
    await Deno.writeTextFile(
      bad,
      "apiVersion: cloudcore.config.kubeedge.io/v1alpha1\nkind: CloudCore\nmodules:\n  cloudHub:\n    websocket:\n      port: notaport\n",
    );
    const r = await launch(["serve", "--config", bad, "--data-dir", `${dir}/d`]);
    assertEquals(r.code, 1);
    assertEquals(
      r.stderr.trim(),
      `edgecloud: ${bad}: modules.cloudHub.websocket.port: "notaport" is not a number`,
    );

    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const port = (taken.addr as Deno.NetAddr).port;
      await Deno.mkdir(`${dir}/inuse`);
      const config = await writeTestConfig(`${dir}/inuse`);
      const text = (await Deno.readTextFile(config)).replace(
        "websocket: {address: 127.0.0.1, port: 0}",
        `websocket: {address: 127.0.0.1, port: ${port}}`,
      );
      await Deno.writeTextFile(config, text);
      const busy = await launch(["serve", "--config", config, "--data-dir", `${dir}/inuse/d`]);
      assertEquals(busy.code, 1);
      const last = busy.stderr.trim().split("\n").pop()!;
      assertEquals(
        last,
        `edgecloud: websocket server: 127.0.0.1:${port} is already in use (another edgecloud or cloudcore running?); free it or change modules.cloudHub.websocket.port`,
      );
    } finally {
      taken.close();
    }
  });
});

Deno.test("launcher: Ctrl-C reaching the whole process group stops the hub cleanly, once", async () => {
  await withDir(async (dir) => {
    const config = await writeTestConfig(dir);
    // Its own process group, as a terminal's foreground job: the launcher and the program in it.
    const child = new Deno.Command(Deno.execPath(), {
      args: argvOf(["serve", "--data-dir", `${dir}/d`, "--config", config]),
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
      detached: true,
    }).spawn();
    const lines: string[] = [];
    const read = (async () => {
      let buf = "";
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        const parts = buf.split("\n");
        buf = parts.pop() ?? "";
        lines.push(...parts);
      }
    })();
    try {
      await waitUntil(() => lines.some((l) => l.includes("edgecloud ready")), "the hub ready", {
        timeoutMs: 30_000,
      });
      Deno.kill(-child.pid, "SIGINT"); // what a terminal does on Ctrl-C
      const status = await child.status;
      await read;
      assertEquals(status.code, 0, lines.join("\n"));
      assert(lines.some((l) => l.includes("edgecloud stopped")), lines.join("\n"));
      assert(!lines.some((l) => l.includes("forcing exit")), lines.join("\n"));
    } finally {
      try {
        Deno.kill(-child.pid, "SIGKILL");
      } catch { /* already gone */ }
    }
  });
});
