/**
 * systemd's side of sd_notify for tests: a SOCK_DGRAM Unix socket with SO_PASSCRED that reports
 * each datagram with the sender's PID, the receive time (monotonic ms) and the text. Python's
 * socket module is the independent peer (systemd itself cannot run in this container).
 */

/** One datagram as the receiver saw it. */
export interface Notification {
  /** The sender's PID from the kernel-attached credentials. */
  pid: number;
  /** Receive time, milliseconds on the receiver's monotonic clock. */
  atMs: number;
  /** The message, newlines shown as `|`. */
  text: string;
}

/** A running receiver: datagrams arrive in `received`; `close()` ends it. */
export interface PasscredReceiver {
  /** Path of the socket (what `$NOTIFY_SOCKET` would name). */
  path: string;
  /** Every datagram so far, in order. */
  received: Notification[];
  /** Resolves with the next datagram (or one already received beyond `after`). */
  next(after?: number): Promise<Notification>;
  /** Stops the receiver and removes its directory. */
  close(): Promise<void>;
}

const SCRIPT = `
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print("listening", flush=True)
while True:
    msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = [struct.unpack("iII", d)[0] for (_, t, d) in anc if t == socket.SCM_CREDENTIALS][0]
    print(pid, round(time.monotonic() * 1000), msg.decode().replace("\\n", "|"), flush=True)
`;

/** True when python3 runs here; tests print that they did not run otherwise. */
export async function havePython(): Promise<boolean> {
  return await new Deno.Command("python3", { args: ["-c", "print(1)"], stdout: "null" })
    .output().then((o) => o.success).catch(() => false);
}

/** Starts a receiver in a fresh temporary directory; resolves once it listens. */
export async function startPasscredReceiver(): Promise<PasscredReceiver> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/notify`;
  const child = new Deno.Command("python3", {
    args: ["-c", SCRIPT, path],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const received: Notification[] = [];
  const listening = Promise.withResolvers<void>();
  let wake = Promise.withResolvers<void>();
  const reading = (async () => {
    let buf = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === "listening") {
          listening.resolve();
          continue;
        }
        const [pid, at, ...text] = line.split(" ");
        received.push({ pid: Number(pid), atMs: Number(at), text: text.join(" ") });
        wake.resolve();
        wake = Promise.withResolvers<void>();
      }
    }
    listening.reject(new Error("the receiver exited before listening"));
  })();
  const close = async () => {
    child.kill("SIGKILL");
    await child.status;
    await reading;
    await Deno.remove(dir, { recursive: true });
  };
  try {
    await listening.promise;
  } catch (err) {
    await close();
    throw err;
  }
  return {
    path,
    received,
    async next(after = received.length) {
      while (received.length <= after) await wake.promise;
      return received[after];
    },
    close,
  };
}
