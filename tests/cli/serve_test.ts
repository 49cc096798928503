import { assert, assertEquals, assertRejects } from "../assert.ts";
import { serve, type ServeContext } from "../../cli/serve.ts";
import { defaultConfig } from "../../config/defaults.ts";
import type { Bus } from "../../modules/bus.ts";
import { setLogSink } from "../../lib/log.ts";
import type { Module, ModuleContext } from "../../modules/module.ts";

const config = () => defaultConfig({ hostAddresses: ["127.0.0.1"] });

/** A module that records its lifecycle in `events`. */
class FakeModule implements Module {
  readonly group: string;
  bus?: Bus;
  constructor(
    readonly name: string,
    readonly events: string[],
    readonly hooks: { start?: () => Promise<void>; stop?: () => Promise<void> } = {},
  ) {
    this.group = name;
  }
  async start(ctx: ModuleContext): Promise<void> {
    this.bus = ctx.bus;
    await this.hooks.start?.();
    this.events.push(`start ${this.name}`);
  }
  async stop(): Promise<void> {
    await this.hooks.stop?.();
    this.events.push(`stop ${this.name}`);
  }
}

/** Captures log lines for the duration of `fn`. */
async function withLogs<T>(fn: (lines: string[]) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  const previous = setLogSink((_level, line) => lines.push(line));
  try {
    return await fn(lines);
  } finally {
    setLogSink(previous);
  }
}

/** Resolves when a log line contains `text` (polls the captured lines; no fixed sleeps). */
async function waitForLog(lines: string[], text: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (lines.some((l) => l.includes(text))) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no log line with "${text}": ${lines.join("\n")}`);
}

Deno.test("serve creates the data dir, starts modules in order, stops in reverse, exits 0", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await withLogs(async (lines) => {
      const events: string[] = [];
      const stop = new AbortController();
      let seen: ServeContext | undefined;
      const running = serve({
        config: config(),
        dataDir: `${dir}/nested/data`,
        handleSignals: false,
        signal: stop.signal,
        buildModules: (ctx) => {
          seen = ctx;
          ctx.onShutdown(() => void events.push("cleanup 1"));
          ctx.onShutdown(() => void events.push("cleanup 2"));
          return [
            { module: new FakeModule("a", events) },
            { module: new FakeModule("off", events), enabled: false },
            { module: new FakeModule("b", events) },
          ];
        },
      });
      await waitForLog(lines, "edgecloud ready");
      assert((await Deno.stat(`${dir}/nested/data`)).isDirectory);
      assert(lines.some((l) => l.includes("edgecloud ready modules=a,b")), lines.join("\n"));
      assertEquals(events, ["start a", "start b"]);
      assertEquals(seen?.bus.closed, false);
      stop.abort();
      assertEquals(await running, 0);
      assertEquals(events, [
        "start a",
        "start b",
        "stop b",
        "stop a",
        "cleanup 2",
        "cleanup 1",
      ]);
      assertEquals(seen?.bus.closed, true);
      assert(lines.some((l) => l.includes("edgecloud stopped")));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a module that fails to start makes serve throw after cleaning up", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await withLogs(async () => {
      const events: string[] = [];
      await assertRejects(
        () =>
          serve({
            config: config(),
            dataDir: dir,
            handleSignals: false,
            buildModules: (ctx) => {
              ctx.onShutdown(() => void events.push("cleanup"));
              return [
                { module: new FakeModule("a", events) },
                {
                  module: new FakeModule("b", events, {
                    start: () => Promise.reject(new Error("listen failed")),
                  }),
                },
              ];
            },
          }),
        Error,
        "listen failed",
      );
      assertEquals(events, ["start a", "stop a", "cleanup"]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a shutdown slower than the timeout returns exit code 1 with a log line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await withLogs(async (lines) => {
      const events: string[] = [];
      let release!: () => void;
      const stuck = new Promise<void>((r) => release = r);
      const stop = new AbortController();
      const running = serve({
        config: config(),
        dataDir: dir,
        handleSignals: false,
        signal: stop.signal,
        shutdownTimeoutMs: 10,
        buildModules: () => [{ module: new FakeModule("slow", events, { stop: () => stuck }) }],
      });
      await waitForLog(lines, "edgecloud ready");
      stop.abort();
      assertEquals(await running, 1);
      assert(
        lines.some((l) => l.includes("shutdown timed out; forcing exit")),
        lines.join("\n"),
      );
      // let the stuck stop finish so nothing outlives the test
      release();
      await waitForLog(lines, "module stopped");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an already-aborted signal still starts, then stops at once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await withLogs(async () => {
      const events: string[] = [];
      const code = await serve({
        config: config(),
        dataDir: dir,
        handleSignals: false,
        signal: AbortSignal.abort(),
        buildModules: () => [{ module: new FakeModule("a", events) }],
      });
      assertEquals(code, 0);
      assertEquals(events, ["start a", "stop a"]);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve tells systemd READY=1 when serving and STOPPING=1 when draining", async () => {
  const dir = await Deno.makeTempDir();
  const socketPath = `${dir}/systemd-notify.sock`;
  const listener = Deno.listenDatagram({ transport: "unixpacket", path: socketPath });
  try {
    await withLogs(async () => {
      const stop = new AbortController();
      const running = serve({
        config: config(),
        dataDir: `${dir}/data`,
        handleSignals: false,
        signal: stop.signal,
        notifySocket: socketPath,
        buildModules: () => [],
      });
      const decoder = new TextDecoder();
      const [ready] = await listener.receive();
      assertEquals(decoder.decode(ready), "READY=1\nSTATUS=serving 0 modules");
      stop.abort();
      const [stopping] = await listener.receive();
      assertEquals(decoder.decode(stopping), "STOPPING=1");
      assertEquals(await running, 0);
    });
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failing systemd notification is a warning, not a failure", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await withLogs(async (lines) => {
      const code = await serve({
        config: config(),
        dataDir: dir,
        handleSignals: false,
        signal: AbortSignal.abort(),
        notifySocket: `${dir}/nobody-listens.sock`,
        buildModules: () => [],
      });
      assertEquals(code, 0);
      assert(
        lines.some((l) => l.includes("WARN edgecloud systemd notification failed")),
        lines.join("\n"),
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
