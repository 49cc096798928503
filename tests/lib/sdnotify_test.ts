import { notifyReady, notifyStopping, sdNotify, SdNotifyError } from "../../lib/sdnotify.ts";
import { havePython, startPasscredReceiver } from "../hub/passcred_receiver.ts";
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

// systemd's side: a SOCK_DGRAM socket with SO_PASSCRED that checks the sender's PID.
Deno.test("a SOCK_DGRAM receiver with SO_PASSCRED sees READY=1 from the Deno process's PID", async () => {
  if (!(await havePython())) {
    console.log("skipped: python3 not found (used as the independent SO_PASSCRED receiver)");
    return;
  }
  const receiver = await startPasscredReceiver();
  try {
    const bindPath = `${receiver.path}.sender`;
    assert(await notifyReady({ notifySocket: receiver.path, bindPath }, "ok"));
    const got = await receiver.next(0);
    assertEquals([got.pid, got.text], [Deno.pid, "READY=1|STATUS=ok"]);
  } finally {
    await receiver.close();
  }
});
