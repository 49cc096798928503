/**
 * Helpers for running `main.ts` as a real subprocess in tests (not a test file itself).
 */
import { fileURLToPath } from "node:url";

/** Repository root (where deno.json lives). */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** main.ts path. */
export const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));

/** Flags `deno task start` uses. */
export const RUN_FLAGS = ["run", "--unstable-kv", "--unstable-net", "-A"];

/** Result of a finished run. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno <flags> main.ts <args>` to completion. */
export async function runMain(args: string[], flags: string[] = RUN_FLAGS): Promise<RunResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...flags, MAIN, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A running `main.ts` whose stderr is read line by line. */
export class RunningMain {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  readonly #done: Promise<void>;
  #waiters: Array<() => void> = [];

  /** `main.ts args` under RUN_FLAGS, or `command` as the whole argument list of deno. */
  constructor(args: string[], command?: string[]) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: command ?? [...RUN_FLAGS, MAIN, ...args],
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.#done = this.#read();
  }

  async #read(): Promise<void> {
    let buffered = "";
    for await (const chunk of this.child.stderr.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      this.lines.push(...parts);
      this.#wake();
    }
    if (buffered) this.lines.push(buffered);
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Waits until a stderr line contains `text` (or the process ends, which throws). */
  async waitForLine(text: string): Promise<string> {
    let ended = false;
    this.#done.then(() => ended = true);
    for (;;) {
      const line = this.lines.find((l) => l.includes(text));
      if (line !== undefined) return line;
      if (ended) throw new Error(`process ended without "${text}":\n${this.lines.join("\n")}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        this.#done.then(() => resolve());
      });
    }
  }

  /** Waits for exit and for stderr to be fully read. */
  async finish(): Promise<Deno.CommandStatus> {
    const status = await this.child.status;
    await this.#done;
    return status;
  }
}

/**
 * Writes a cloudcore.yaml for a hub that can run beside others on one host: every listener on
 * 127.0.0.1 port 0, QUIC off, the CSI socket and nothing else under `dir`, `extra` YAML appended.
 * Returns its path.
 */
export async function writeTestConfig(
  dir: string,
  extra = "",
  advertise = "127.0.0.1",
): Promise<string> {
  const file = `${dir}/cloudcore.yaml`;
  await Deno.writeTextFile(
    file,
    `apiVersion: cloudcore.config.kubeedge.io/v1alpha1
kind: CloudCore
commonConfig:
  monitorServer:
    bindAddress: 127.0.0.1:0
apiServer:
  bindAddress: 127.0.0.1
  port: 0
modules:
  cloudHub:
    advertiseAddress: [${advertise}]
    tlsCAFile: ${dir}/none/rootCA.crt
    tlsCAKeyFile: ${dir}/none/rootCA.key
    tlsCertFile: ${dir}/none/server.crt
    tlsPrivateKeyFile: ${dir}/none/server.key
    websocket: {address: 127.0.0.1, port: 0}
    https: {address: 127.0.0.1, port: 0}
    quic: {enable: false, address: 127.0.0.1, port: 0}
    unixsocket: {enable: true, address: "unix://${dir}/kubeedge.sock"}
${extra}`,
  );
  return file;
}
