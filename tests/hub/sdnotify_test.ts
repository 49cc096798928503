import { notifyReady, notifyStopping, sdNotify, SdNotifyError } from "../../hub/sdnotify.ts";
import { assert, assertEquals, assertRejects } from "../assert.ts";

interface Datagram {
  data: Uint8Array;
}
interface Receiver {
  receive(): Promise<[Uint8Array, unknown]>;
  close(): void;
}

function listenReceiver(path: string): Receiver {
  return (Deno as unknown as {
    listenDatagram(o: { transport: "unixpacket"; path: string }): Receiver;
  }).listenDatagram({ transport: "unixpacket", path });
}

async function receiveOne(r: Receiver): Promise<Datagram> {
  const [data] = await r.receive();
  return { data };
}

Deno.test("sdNotify sends READY=1 and STOPPING=1 to a unix datagram socket", async () => {
  const dir = await Deno.makeTempDir();
  const target = `${dir}/notify`;
  const receiver = listenReceiver(target);
  try {
    const bindPath = `${dir}/notify.sock`;
    const got = receiveOne(receiver);
    assertEquals(await notifyReady({ notifySocket: target, bindPath }, "up"), true);
    assertEquals(new TextDecoder().decode((await got).data), "READY=1\nSTATUS=up");
    const got2 = receiveOne(receiver);
    assertEquals(await notifyStopping({ notifySocket: target, bindPath }), true);
    assertEquals(new TextDecoder().decode((await got2).data), "STOPPING=1");
    // The sender's bound path is cleaned up.
    await assertRejects(() => Deno.stat(bindPath), Deno.errors.NotFound);
  } finally {
    receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sdNotify is a no-op outside systemd and for abstract sockets", async () => {
  assertEquals(await sdNotify("READY=1", { notifySocket: "", bindPath: "/nonexistent/x" }), false);
  assertEquals(
    await sdNotify("READY=1", { notifySocket: "@abstract", bindPath: "/nonexistent/x" }),
    false,
  );
});

Deno.test("sdNotify reports a vanished socket as SdNotifyError", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertRejects(
      () => sdNotify("READY=1", { notifySocket: `${dir}/gone`, bindPath: `${dir}/n.sock` }),
      SdNotifyError,
      `${dir}/gone`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// systemd's side: a SOCK_DGRAM socket with SO_PASSCRED that checks the sender's PID. Python's
// socket module is the independent peer here (systemd itself cannot run in this container).
Deno.test("a SOCK_DGRAM receiver with SO_PASSCRED sees READY=1 from the Deno process's PID", async () => {
  const python = await new Deno.Command("python3", { args: ["-c", "print(1)"], stdout: "null" })
    .output().then((o) => o.success).catch(() => false);
  if (!python) {
    console.log("skipped: python3 not found (used as the independent SO_PASSCRED receiver)");
    return;
  }
  const dir = await Deno.makeTempDir();
  const target = `${dir}/notify`;
  const script = `
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print("listening", flush=True)
msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
pid = [struct.unpack("iII", d)[0] for (_, t, d) in anc if t == socket.SCM_CREDENTIALS][0]
print(pid, msg.decode().replace("\\n", "|"), flush=True)
`;
  const child = new Deno.Command("python3", {
    args: ["-c", script, target],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    while (!buf.includes("listening\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("receiver exited early");
      buf += value;
    }
    assert(await notifyReady({ notifySocket: target, bindPath: `${dir}/n.sock` }, "ok"));
    buf = buf.slice(buf.indexOf("listening\n") + "listening\n".length);
    while (!buf.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) break;
      buf += value;
    }
    lines.releaseLock();
    assertEquals(buf.trim(), `${Deno.pid} READY=1|STATUS=ok`);
  } finally {
    await child.stdout.cancel().catch(() => {});
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});
