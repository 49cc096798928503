/**
 * The simulated container runtime behind a simulated kubelet's exec, attach and port-forward:
 * `echo ARGS` prints them, `cat` copies stdin to stdout, `sh -c "exit N"` exits N, `hostname`
 * prints the pod name, `env` a few variables; `sh` (or attach) with a tty is an echoing shell that
 * reports terminal resizes (`[resize WxH]`) and ends on `exit` or end of input. Port-forward echoes
 * what it receives. Unknown commands fail like a missing binary (exit 127, message on stderr).
 */
import type {
  ByteDuplex,
  ContainerRuntime,
  StreamIO,
  TerminalSize,
} from "../../protocol/kubelet/mod.ts";
import type { SimPods } from "./pods.ts";

const enc = new TextEncoder();

async function write(w: WritableStream<Uint8Array> | undefined, s: string): Promise<void> {
  if (!w) return;
  const writer = w.getWriter();
  try {
    await writer.write(enc.encode(s));
  } finally {
    writer.releaseLock();
  }
}

async function copy(
  from: ReadableStream<Uint8Array> | undefined,
  to: WritableStream<Uint8Array> | undefined,
) {
  if (!from) return;
  if (!to) {
    await from.cancel().catch(() => {});
    return;
  }
  const w = to.getWriter();
  try {
    for await (const c of from) await w.write(c);
  } catch {
    /* the client went away */
  } finally {
    w.releaseLock();
  }
}

/** An echoing interactive shell on a tty. */
async function shell(io: StreamIO, prompt: string): Promise<number> {
  const out = io.stdout;
  void (async () => {
    for await (const size of io.resize as AsyncIterable<TerminalSize>) {
      await write(out, `[resize ${size.width}x${size.height}]\r\n`).catch(() => {});
    }
  })();
  await write(out, prompt);
  if (!io.stdin) return 0;
  const dec = new TextDecoder();
  let line = "";
  for await (const chunk of io.stdin) {
    const text = dec.decode(chunk, { stream: true });
    await write(out, text.replace(/\r?\n|\r/g, "\r\n"));
    line += text;
    const lines = line.split(/\r?\n|\r/);
    line = lines.pop() ?? "";
    for (const l of lines) {
      if (l.trim() === "exit") return 0;
      if (l.trim()) await write(out, `${l.trim()}\r\n${prompt}`);
    }
  }
  return 0;
}

/** See module docs. */
export class SimRuntime implements ContainerRuntime {
  constructor(readonly pods: SimPods) {}

  #check(namespace: string, pod: string, container?: string): void {
    const p = this.pods.get(namespace, pod);
    if (!p) throw new Error(`pod ${namespace}/${pod} is not running on this node`);
    if (container !== undefined && !p.containers.includes(container)) {
      throw new Error(`container ${container} is not running in pod ${namespace}/${pod}`);
    }
  }

  async exec(
    t: { namespace: string; pod: string; container: string; command: string[] },
    io: StreamIO,
  ): Promise<number> {
    this.#check(t.namespace, t.pod, t.container);
    const [cmd, ...args] = t.command;
    const done = async (code: number) => {
      await io.stdin?.cancel().catch(() => {});
      return code;
    };
    switch (cmd) {
      case "echo":
        await write(io.stdout, args.join(" ") + (io.tty ? "\r\n" : "\n"));
        return done(0);
      case "cat":
        await copy(io.stdin, io.stdout);
        return 0;
      case "hostname":
        await write(io.stdout, `${t.pod}\n`);
        return done(0);
      case "env":
        await write(io.stdout, `HOSTNAME=${t.pod}\nPOD_NAMESPACE=${t.namespace}\n`);
        return done(0);
      case "sh":
      case "bash":
        if (args[0] === "-c") {
          const m = /^exit (\d+)$/.exec(args[1]?.trim() ?? "");
          if (m) return done(Number(m[1]));
          const e = /^echo (.*)$/.exec(args[1]?.trim() ?? "");
          if (e) {
            await write(io.stdout, e[1] + "\n");
            return done(0);
          }
        }
        if (io.tty) return await shell(io, "/ # ");
        await copy(io.stdin, io.stdout);
        return 0;
      default:
        await write(
          io.tty ? io.stdout : io.stderr,
          `exec: "${cmd}": executable file not found in $PATH\n`,
        );
        return done(127);
    }
  }

  async attach(
    t: { namespace: string; pod: string; container: string },
    io: StreamIO,
  ): Promise<number> {
    this.#check(t.namespace, t.pod, t.container);
    if (io.tty) return await shell(io, "");
    await copy(io.stdin, io.stdout);
    return 0;
  }

  async portForward(
    t: { namespace: string; pod: string; port: number },
    conn: ByteDuplex,
  ): Promise<void> {
    this.#check(t.namespace, t.pod);
    await copy(conn.readable, conn.writable);
  }
}
