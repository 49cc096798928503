import { assert, assertEquals, assertMatch } from "../assert.ts";
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
      assertEquals(config.modules.cloudHub.advertiseAddress, ["192.0.2.7"]);
      return Promise.resolve("abc.def.ghi.jkl");
    },
  });
  assertEquals(code, 0);
  assertEquals(c.out, ["abc.def.ghi.jkl"]);
  assertEquals(seenDir, "/tmp/x");
});

Deno.test("a failing token provider is one error line and exit 1", async () => {
  const c = capture();
  const code = await runCli(["token"], {
    ...c.deps,
    token: () => Promise.reject(new Error("CA not found in /tmp/x")),
  });
  assertEquals(code, 1);
  assertEquals(c.err, ["edgecloud: CA not found in /tmp/x"]);
});

Deno.test("version, help and usage errors through runCli", async () => {
  let c = capture();
  assertEquals(await runCli(["version"], c.deps), 0);
  assertMatch(c.out[0], new RegExp(`^edgecloud ${VERSION.replaceAll(".", "\\.")} \\(`));
  c = capture();
  assertEquals(await runCli(["--help"], c.deps), 0);
  assertMatch(c.out[0], /Usage:/);
  c = capture();
  assertEquals(await runCli(["--nope"], c.deps), 2);
  assertEquals(c.err, ["edgecloud: unknown flag --nope (see edgecloud --help)"]);
});

Deno.test("--defaultconfig uses the injected host addresses", async () => {
  const c = capture();
  assertEquals(await runCli(["--defaultconfig", "--log-level", "warn"], c.deps), 0);
  setLogLevel("info");
  assertMatch(c.out[0], /advertiseAddress:\n\s+- 192\.0\.2\.7\n/);
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
    assertEquals(code, 0);
    assertEquals(events, ["start", "stop"]);
    assertEquals(c.err, []);
    assert((await Deno.stat(`${dir}/d`)).isDirectory);
  } finally {
    setLogLevel("info");
    await Deno.remove(dir, { recursive: true });
  }
});
