/**
 * Failover with real processes: two candidates (tests/ha/elector_proc.ts, each under narrow
 * permissions) against one embedded API; the leader is killed with SIGKILL (no release), and the
 * other takes over once the Lease expires. Timing bounds are proven in logical time by
 * leader_test.ts; here only the order of events is asserted.
 */
import { fileURLToPath } from "node:url";
import { startEmbeddedApi } from "../../apiserver/mod.ts";
import { DEFAULT_LEASE_NAME, DEFAULT_LEASE_NAMESPACE } from "../../ha/mod.ts";
import { assert, assertEquals } from "../assert.ts";

const PROC = fileURLToPath(new URL("./elector_proc.ts", import.meta.url));

/** A candidate process whose stdout lines are collected. */
class Candidate {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  readonly #done: Promise<void>;
  #wake: () => void = () => {};

  constructor(readonly identity: string, kubeconfig: string, apiPort: number) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--allow-net=127.0.0.1:${apiPort}`,
        `--allow-read=${kubeconfig}`,
        "--ignore-env",
        "--allow-sys=hostname",
        PROC,
        kubeconfig,
        identity,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.#done = this.#read();
  }

  async #read(): Promise<void> {
    let rest = "";
    for await (const chunk of this.child.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      this.lines.push(...parts);
      this.#wake();
    }
    this.#wake();
  }

  /** Waits for a line (bounded, so a broken build fails instead of hanging). */
  async waitFor(line: string, guardMs = 60_000): Promise<void> {
    const deadline = Date.now() + guardMs;
    let ended = false;
    this.#done.then(() => ended = true);
    while (!this.lines.includes(line)) {
      if (ended) throw new Error(`${this.identity} ended without "${line}": ${this.lines}`);
      if (Date.now() > deadline) throw new Error(`${this.identity}: no "${line}": ${this.lines}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  async finish(signal: Deno.Signal): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
    const status = await this.child.status;
    await this.#done;
    return status;
  }
}

Deno.test("SIGKILL the leader process: the other candidate takes the Lease over", async () => {
  const dir = await Deno.makeTempDir();
  const api = await startEmbeddedApi({ dataDir: dir, port: 0 });
  const candidates: Candidate[] = [];
  try {
    const a = new Candidate("replica-a", api.kubeconfigPath, api.port);
    candidates.push(a);
    await a.waitFor("leading");
    const b = new Candidate("replica-b", api.kubeconfigPath, api.port);
    candidates.push(b);
    await b.waitFor("leader replica-a");
    assert(!b.lines.includes("leading"), "b led while a was alive");

    const killed = await a.finish("SIGKILL");
    assertEquals(killed.signal, "SIGKILL");
    await b.waitFor("leading");
    assertEquals(b.lines.filter((l) => l === "leading").length, 1);

    const out = await new Deno.Command("kubectl", {
      args: [
        "--kubeconfig",
        api.kubeconfigPath,
        "get",
        "lease",
        "-n",
        DEFAULT_LEASE_NAMESPACE,
        DEFAULT_LEASE_NAME,
        "-o",
        "jsonpath={.spec.holderIdentity} {.spec.leaseTransitions}",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    assertEquals(new TextDecoder().decode(out.stdout), "replica-b 1");

    // A clean stop of the new leader releases the Lease (no holder).
    const stopped = await b.finish("SIGTERM");
    assertEquals(stopped.code, 0);
    assert(b.lines.includes("stopped"));
    const after = await new Deno.Command("kubectl", {
      args: [
        "--kubeconfig",
        api.kubeconfigPath,
        "get",
        "lease",
        "-n",
        DEFAULT_LEASE_NAMESPACE,
        DEFAULT_LEASE_NAME,
        "-o",
        "jsonpath=[{.spec.holderIdentity}]",
      ],
      stdout: "piped",
    }).output();
    assertEquals(new TextDecoder().decode(after.stdout), "[]");
  } finally {
    for (const c of candidates) await c.finish("SIGKILL");
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
});
