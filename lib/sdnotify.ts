/**
 * systemd's readiness protocol (`sd_notify`, `Type=notify`): one datagram such as `READY=1` sent
 * to the Unix datagram socket named by `$NOTIFY_SOCKET`.
 *
 * Hand-written because it is one datagram and no npm package does it from Deno. Deno's datagram
 * API (`Deno.listenDatagram({transport: "unixpacket"})`, `--unstable-net`) is SOCK_DGRAM but can
 * only send from a bound socket, so the sender binds a path of its own (see
 * `notifyBindPath` in permissions.ts) and removes it afterwards. systemd identifies the sender by
 * the kernel-attached credentials (it sets SO_PASSCRED), so the bound path does not matter; the
 * PID does, which is why the unit needs no `NotifyAccess=all`. Abstract sockets (`@name`) cannot
 * be addressed through Deno's path-based API; they are reported, not sent to.
 *
 * @example
 * ```ts
 * await sdNotify("READY=1", { bindPath: "/run/edgecloud/notify.sock" }); // false outside systemd
 * ```
 */
import { createLogger } from "./mod.ts";

const log = createLogger("sdnotify");

/** Raised when a notification cannot be sent to a socket that is set. */
export class SdNotifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SdNotifyError";
  }
}

/** Options of {@link sdNotify}. */
export interface SdNotifyOptions {
  /** Where to send; default `$NOTIFY_SOCKET`. Undefined/empty: not under systemd, nothing sent. */
  notifySocket?: string;
  /** Path the sending socket binds; removed before and after. */
  bindPath: string;
}

/** `$NOTIFY_SOCKET`, or undefined when unset or not readable (no `--allow-env=NOTIFY_SOCKET`). */
export function notifySocketFromEnv(): string | undefined {
  try {
    return Deno.env.get("NOTIFY_SOCKET") || undefined;
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    throw err;
  }
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

// `Deno.listenDatagram` with `unixpacket` is typed only under `--unstable-net`'s lib; this is the
// slice of it used here, so the module type-checks without the unstable lib.
interface UnixDatagramConn {
  send(data: Uint8Array, addr: { transport: "unixpacket"; path: string }): Promise<number>;
  close(): void;
}
type ListenDatagram = (opts: { transport: "unixpacket"; path: string }) => UnixDatagramConn;

/** The last queued send: sends go one at a time, as they share the bind path. */
let sending: Promise<unknown> = Promise.resolve();

/**
 * Sends `state` (newline-separated `KEY=VALUE` pairs, e.g. `READY=1` or `STOPPING=1`) to the
 * notify socket. Returns true if sent, false if there is no socket to send to (not started by
 * systemd, or an abstract socket). Throws {@link SdNotifyError} if the socket is set but the send
 * fails (missing permission, `--unstable-net` not given, socket gone). Concurrent calls (watchdog
 * pings next to READY=1, say) are sent one after the other.
 */
export function sdNotify(state: string, options: SdNotifyOptions): Promise<boolean> {
  const sent = sending.then(() => send(state, options));
  sending = sent.catch(() => {});
  return sent;
}

async function send(state: string, options: SdNotifyOptions): Promise<boolean> {
  const target = options.notifySocket ?? notifySocketFromEnv();
  if (!target) return false;
  if (target.startsWith("@")) {
    log.warn("abstract notify socket not supported by Deno; not notifying", { socket: target });
    return false;
  }
  const listen = (Deno as unknown as { listenDatagram?: ListenDatagram }).listenDatagram;
  if (typeof listen !== "function") {
    throw new SdNotifyError("sd_notify needs Deno.listenDatagram: run with --unstable-net");
  }
  let conn: UnixDatagramConn | undefined;
  try {
    await removeIfPresent(options.bindPath);
    conn = listen({ transport: "unixpacket", path: options.bindPath });
    await conn.send(new TextEncoder().encode(state), { transport: "unixpacket", path: target });
    log.debug("notified systemd", { state: state.replaceAll("\n", " "), socket: target });
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      // Keep Deno's message: it names the path and the flag to add.
      throw new SdNotifyError(`sd_notify to ${target}: ${(err as Error).message}`);
    }
    throw new SdNotifyError(`sd_notify to ${target} failed: ${(err as Error).message}`);
  } finally {
    conn?.close();
    await removeIfPresent(options.bindPath).catch(() => {});
  }
}

/** `READY=1` with a status line shown by `systemctl status`. */
export function notifyReady(options: SdNotifyOptions, status = "serving"): Promise<boolean> {
  return sdNotify(`READY=1\nSTATUS=${status}`, options);
}

/** `STOPPING=1`: systemd shows the unit as deactivating while shutdown drains sessions. */
export function notifyStopping(options: SdNotifyOptions): Promise<boolean> {
  return sdNotify("STOPPING=1", options);
}
