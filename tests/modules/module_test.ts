import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { Inbox } from "../../modules/inbox.ts";
import { setLogSink } from "../../lib/log.ts";
import { Bus } from "../../modules/bus.ts";
import { buildMessage, type Message } from "../../modules/message.ts";
import {
  type Module,
  type ModuleContext,
  ModuleRegistry,
  receiveLoop,
} from "../../modules/module.ts";

class Recorder implements Module {
  readonly got: Message[] = [];
  #loop?: Promise<void>;
  constructor(
    readonly name: string,
    readonly log: string[],
    readonly group = name,
    readonly failStart = false,
  ) {}
  start(ctx: ModuleContext): Promise<void> {
    if (this.failStart) return Promise.reject(new Error(`${this.name} cannot start`));
    this.log.push(`start ${this.name}`);
    this.#loop = receiveLoop(ctx.bus, this.name, (m) => {
      this.got.push(m);
      if (m.route.operation === "explode") throw new Error("handler error");
    });
    return Promise.resolve();
  }
  stop(): Promise<void> {
    this.log.push(`stop ${this.name}`);
    return Promise.resolve();
  }
  get loop(): Promise<void> | undefined {
    return this.#loop;
  }
}

Deno.test("registry starts in order, skips disabled, stops in reverse and ends receive loops", async () => {
  const log: string[] = [];
  const bus = new Bus();
  const reg = new ModuleRegistry(bus);
  const a = new Recorder("a", log);
  const b = new Recorder("b", log);
  reg.register(a);
  reg.register(new Recorder("disabled", log), false);
  reg.register(b);
  assertEquals(reg.names, ["a", "b"]);
  await reg.startAll();
  await bus.send("a", buildMessage({ operation: "explode" }, null));
  await bus.send("a", buildMessage({ operation: "fine" }, null));
  await reg.stopAll();
  await a.loop;
  await b.loop;
  assertEquals(log, ["start a", "start b", "stop b", "stop a"]);
  assertEquals(a.got.map((m) => m.route.operation), ["explode", "fine"]);
  bus.close();
});

Deno.test("a failing start stops what already started and rethrows", async () => {
  const log: string[] = [];
  const bus = new Bus();
  const reg = new ModuleRegistry(bus);
  const a = new Recorder("a", log);
  reg.register(a);
  reg.register(new Recorder("bad", log, "bad", true));
  await assertRejects(() => reg.startAll(), Error, "cannot start");
  await a.loop;
  assertEquals(log, ["start a", "stop a"]);
  bus.close();
});

Deno.test("a module whose stop hangs is cut off after the stop timeout", async () => {
  const bus = new Bus();
  const reg = new ModuleRegistry(bus, 20);
  let release!: () => void;
  const hang = new Promise<void>((r) => release = r);
  reg.register({ name: "slow", group: "slow", start: () => Promise.resolve(), stop: () => hang });
  await reg.startAll();
  await reg.stopAll();
  release();
  bus.close();
});

Deno.test("duplicate registration is refused", () => {
  const reg = new ModuleRegistry(new Bus());
  const m: Module = {
    name: "x",
    group: "x",
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
  };
  reg.register(m);
  let threw = false;
  try {
    reg.register(m);
  } catch {
    threw = true;
  }
  assertEquals(threw, true);
});

Deno.test("receiveLoop: a handler stopped by a closed queue is logged at debug, other failures as errors", async () => {
  const lines: Array<[string, string]> = [];
  const previous = setLogSink((level, line) => lines.push([level, line]));
  const bus = new Bus();
  try {
    bus.addModule("m");
    const queue = new Inbox<Message>(1, "pool nodeStatus");
    queue.close();
    const handled: string[] = [];
    const loop = receiveLoop(bus, "m", async (msg) => {
      handled.push(msg.route.operation ?? "");
      if (msg.route.operation === "closed") await queue.push(msg);
      if (msg.route.operation === "explode") throw new Error("handler error");
    });
    for (const op of ["closed", "explode", "after"]) {
      await bus.send("m", buildMessage({ operation: op, resource: "r" }, ""));
    }
    while (handled.length < 3) await new Promise((r) => setTimeout(r, 5));
    bus.close();
    await loop;
    assertEquals(handled, ["closed", "explode", "after"]);
    const errors = lines.filter(([level]) => level === "error").map(([, line]) => line);
    assertEquals(errors.length, 1);
    assertStringIncludes(errors[0], "handler error");
    assert(!errors.some((l) => l.includes("pool nodeStatus is closed")));
  } finally {
    setLogSink(previous);
    bus.close();
  }
});
