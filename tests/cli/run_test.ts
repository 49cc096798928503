import assert from "node:assert/strict";
import { runCli } from "../../cli/run.ts";
import { setLogLevel } from "../../lib/log.ts";
import { VERSION } from "../../cli/version.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    deps: {
      out: (t: string) => void out.push(t),
      err: (l: string) => void err.push(l),
      hostAddresses: ["192.0.2.7"],
      defaultConfigPath: "/nonexistent/cloudcore.yaml",
    },
  };
}

Deno.test("token prints what the wired token provider returns", async () => {
  const c = capture();
  let seenDir = "";
  const code = await runCli(["token", "--data-dir", "/tmp/x"], {
    ...c.deps,
    token: ({ config, dataDir }) => {
      seenDir = dataDir;
      assert.deepEqual(config.modules.cloudHub.advertiseAddress, ["192.0.2.7"]);
      return Promise.resolve("abc.def.ghi.jkl");
    },
  });
  assert.equal(code, 0);
  assert.deepEqual(c.out, ["abc.def.ghi.jkl"]);
  assert.equal(seenDir, "/tmp/x");
});

Deno.test("a failing token provider is one error line and exit 1", async () => {
  const c = capture();
  const code = await runCli(["token"], {
    ...c.deps,
    token: () => Promise.reject(new Error("CA not found in /tmp/x")),
  });
  assert.equal(code, 1);
  assert.deepEqual(c.err, ["edgecloud: CA not found in /tmp/x"]);
});

Deno.test("version, help and usage errors through runCli", async () => {
  let c = capture();
  assert.equal(await runCli(["version"], c.deps), 0);
  assert.match(c.out[0], new RegExp(`^edgecloud ${VERSION.replaceAll(".", "\\.")} \\(`));
  c = capture();
  assert.equal(await runCli(["--help"], c.deps), 0);
  assert.match(c.out[0], /Usage:/);
  c = capture();
  assert.equal(await runCli(["--nope"], c.deps), 2);
  assert.deepEqual(c.err, ["edgecloud: unknown flag --nope (see edgecloud --help)"]);
});

Deno.test("--defaultconfig uses the injected host addresses", async () => {
  const c = capture();
  assert.equal(await runCli(["--defaultconfig", "--log-level", "warn"], c.deps), 0);
  setLogLevel("info");
  assert.match(c.out[0], /advertiseAddress:\n\s+- 192\.0\.2\.7\n/);
});

Deno.test("serve runs the built modules until the abort signal", async () => {
  const dir = await Deno.makeTempDir();
  const c = capture();
  const stop = new AbortController();
  const events: string[] = [];
  try {
    setLogLevel("error");
    const code = await runCli(["serve", "--data-dir", `${dir}/d`], {
      ...c.deps,
      signal: stop.signal,
      buildModules: () => [{
        module: {
          name: "selfstop",
          group: "selfstop",
          start: () => {
            events.push("start");
            // Ask for shutdown once started: proves runCli wires serve end to end.
            queueMicrotask(() => stop.abort());
            return Promise.resolve();
          },
          stop: () => {
            events.push("stop");
            return Promise.resolve();
          },
        },
      }],
    });
    assert.equal(code, 0);
    assert.deepEqual(events, ["start", "stop"]);
    assert.deepEqual(c.err, []);
    assert.ok((await Deno.stat(`${dir}/d`)).isDirectory);
  } finally {
    setLogLevel("info");
    await Deno.remove(dir, { recursive: true });
  }
});
