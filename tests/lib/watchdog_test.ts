/**
 * lib/watchdog.ts: WATCHDOG=1 at half of $WATCHDOG_USEC, from the caller's event loop (a blocked
 * loop leaves a gap systemd would act on), and nothing after stop(). The receiver is Python with
 * SO_PASSCRED, as systemd checks the sender's PID (systemd cannot run in this container).
 */
import { startWatchdog, watchdogIntervalFromEnv } from "../../lib/watchdog.ts";
import { havePython, startPasscredReceiver } from "../hub/passcred_receiver.ts";
import { assert, assertEquals } from "../assert.ts";

/** Runs `fn` with the watchdog variables set as given (undefined: unset), then restores them. */
function withEnv(vars: Record<string, string | undefined>, fn: () => void): void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) {
      x === undefined ? Deno.env.delete(k) : Deno.env.set(k, x);
    }
  };
  apply(vars);
  try {
    fn();
  } finally {
    apply(saved);
  }
}

Deno.test("watchdog: interval is half of $WATCHDOG_USEC, for this PID only", () => {
  const cases: [string | undefined, string | undefined, number | undefined][] = [
    [undefined, undefined, undefined],
    ["30000000", undefined, 15_000],
    ["30000000", String(Deno.pid), 15_000],
    ["30000000", String(Deno.pid + 1), undefined],
    ["0", undefined, undefined],
    ["soon", undefined, undefined],
    ["1", undefined, 1],
  ];
  for (const [usec, pid, want] of cases) {
    withEnv({ WATCHDOG_USEC: usec, WATCHDOG_PID: pid }, () => {
      assertEquals(watchdogIntervalFromEnv(), want, `WATCHDOG_USEC=${usec} WATCHDOG_PID=${pid}`);
    });
  }
  withEnv({ WATCHDOG_USEC: undefined }, () => {
    assertEquals(startWatchdog({ bindPath: "/nonexistent/n.sock" }), undefined);
  });
});

Deno.test("watchdog: without --allow-env for its variables it is off, not a crash", async () => {
  const probe = new URL("./watchdog_probe.ts", import.meta.url).pathname;
  const run = async (flags: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...flags, probe],
      env: { WATCHDOG_USEC: "4000000", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    assert(out.success, `probe ${flags.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    return text;
  };
  assertEquals(await run(["--allow-env=NOTIFY_SOCKET"]), "off");
  assertEquals(await run(["--allow-env=NOTIFY_SOCKET", "--ignore-env"]), "off");
  assertEquals(
    await run(["--allow-env=NOTIFY_SOCKET,WATCHDOG_USEC,WATCHDOG_PID", "--ignore-env"]),
    "2000",
  );
});

Deno.test("watchdog: pings arrive at the configured rate from this PID, pause while the loop is blocked, stop on stop()", async () => {
  if (!(await havePython())) {
    console.log("skipped: python3 not found (used as the independent SO_PASSCRED receiver)");
    return;
  }
  const receiver = await startPasscredReceiver();
  const lines = receiver.received;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    const watchdog = startWatchdog({
      notifySocket: receiver.path,
      bindPath: `${receiver.path}.sender`,
      intervalMs: 100,
    });
    assert(watchdog);
    await sleep(1050);
    const steady = lines.length;
    // One ping at start, then one per 100 ms: 11 in 1.05 s, give or take scheduling.
    assert(steady >= 8 && steady <= 13, `${steady} pings in 1.05 s: ${JSON.stringify(lines)}`);
    for (const line of lines) assertEquals([line.pid, line.text], [Deno.pid, "WATCHDOG=1"]);
    // A blocked event loop sends nothing: the gap systemd's timeout would catch.
    const until = performance.now() + 600;
    while (performance.now() < until) { /* busy: the loop is stuck */ }
    await sleep(350);
    const times = lines.map((l) => l.atMs);
    const gap = Math.max(...times.slice(1).map((t, i) => t - times[i]));
    assert(gap >= 500, `largest gap between pings ${gap} ms; expected the 600 ms block to show`);
    assert(lines.length > steady, "pings resume once the loop runs again");
    // No ping after stop(): its timer is gone, or Deno's sanitizer fails this test (no sleep
    // needed to watch for one).
    await watchdog.stop();
  } finally {
    await receiver.close();
  }
});
