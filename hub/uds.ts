/**
 * The CSI endpoint (docs/protocol.md §6): a Unix socket where KubeEdge's csidriver writes one JSON
 * `model.Message` per connection. The request goes to CloudHub with `sendSync` (the dispatcher
 * sends the volume operation to the edge; the edge's `response` comes back through §3.7 rule 2,
 * `sendResp`), and the reply is written back as one JSON message before the connection closes.
 *
 * - Address `unix://<path>` (the prefix is required); production default
 *   `unix:///var/lib/kubeedge/kubeedge.sock`, in development `<data-dir>/kubeedge.sock`.
 * - A stale socket file is removed at start; the socket is created with mode 0600 (the CSI
 *   driver runs as root) and removed on stop.
 * - One request per connection: a single read of at most 10480 bytes.
 * - Every failure (over size, not JSON, offline node, timeout, ...) is answered with
 *   `NewErrorMessage`: operation `error`, route `cloudhub/<request group>`, content the error text.
 *
 * @example
 * ```ts
 * const uds = new UdsServer({ address: "unix:///var/lib/kubeedge/kubeedge.sock", bus });
 * await uds.start();
 * // ...
 * await uds.stop();
 * ```
 */
import type { Bus } from "../modules/mod.ts";
import {
  decodeMessage,
  encodeMessage,
  getNodeId,
  type Message,
  ModuleName,
  newErrorMessage,
  newMessage,
} from "../modules/mod.ts";
import { createLogger } from "../lib/mod.ts";

/** Largest request KubeEdge's UDS server reads (one read of this many bytes). */
export const MAX_UDS_REQUEST = 10480;
/** KubeEdge's default address. */
export const DEFAULT_UDS_ADDRESS = "unix:///var/lib/kubeedge/kubeedge.sock";
/** Default time to wait for the edge's reply (KubeEdge: 1 minute). */
export const DEFAULT_UDS_TIMEOUT_MS = 60_000;

const PREFIX = "unix://";
const log = createLogger("uds");

/** A bad `unixsocket.address`. */
export class UdsAddressError extends Error {
  override name = "UdsAddressError";
}

/** Returns the socket path of a `unix://` address. @throws UdsAddressError */
export function parseUnixAddress(address: string): string {
  if (!address.toLowerCase().startsWith(PREFIX)) {
    throw new UdsAddressError(
      `modules.cloudHub.unixsocket.address ${JSON.stringify(address)} must start with unix://`,
    );
  }
  const path = address.slice(PREFIX.length);
  if (!path) {
    throw new UdsAddressError(
      `modules.cloudHub.unixsocket.address ${JSON.stringify(address)} has no path`,
    );
  }
  return path;
}

/** The address to use: production default, or `<dataDir>/kubeedge.sock` in development. */
export function defaultUdsAddress(dataDir?: string): string {
  if (!dataDir) return DEFAULT_UDS_ADDRESS;
  return `${PREFIX}${dataDir.replace(/\/+$/, "")}/kubeedge.sock`;
}

/** Options of {@link UdsServer}. */
export interface UdsServerOptions {
  /** `unix://<path>`. */
  address: string;
  bus: Bus;
  /** Time to wait for the edge's reply (default 60 s; `unixsocket.requestTimeout` × 1000). */
  timeoutMs?: number;
  /** Bus module the requests go to (default `cloudhub`). */
  target?: string;
  /**
   * Whether a node has a live session. When given, a request for an offline node is answered
   * at once instead of after the timeout.
   */
  nodeOnline?: (nodeId: string) => boolean;
}

/** What the endpoint did, for metrics and tests. */
export interface UdsStats {
  requests: number;
  replied: number;
  errors: number;
}

/** The CSI Unix-socket endpoint (see module docs). */
export class UdsServer {
  readonly path: string;
  readonly stats: UdsStats = { requests: 0, replied: 0, errors: 0 };
  readonly #opts: UdsServerOptions;
  #listener: Deno.UnixListener | null = null;
  #loop: Promise<void> | null = null;
  readonly #conns = new Set<Promise<void>>();

  /** @throws UdsAddressError for an address without `unix://`. */
  constructor(opts: UdsServerOptions) {
    this.path = parseUnixAddress(opts.address);
    this.#opts = opts;
  }

  /** Removes a stale socket, listens with mode 0600 and starts serving. */
  async start(): Promise<void> {
    if (this.#listener) return;
    await removeSocket(this.path);
    // Create the socket with no group/other bits from the first moment (chmod below is the
    // fallback when the umask cannot be changed).
    let previous: number | null = null;
    try {
      previous = Deno.umask(0o177);
    } catch {
      previous = null;
    }
    try {
      this.#listener = Deno.listen({ transport: "unix", path: this.path });
    } finally {
      if (previous !== null) Deno.umask(previous);
    }
    await Deno.chmod(this.path, 0o600);
    log.info("listening", { path: this.path });
    this.#loop = this.#accept(this.#listener);
  }

  /** Stops listening, waits for requests in flight and removes the socket file. */
  async stop(): Promise<void> {
    if (!this.#listener) return;
    const listener = this.#listener;
    this.#listener = null;
    try {
      listener.close();
    } catch {
      // already closed
    }
    await this.#loop;
    while (this.#conns.size > 0) await Promise.allSettled([...this.#conns]);
    await removeSocket(this.path);
  }

  async #accept(listener: Deno.UnixListener): Promise<void> {
    while (true) {
      let conn: Deno.UnixConn;
      try {
        conn = await listener.accept();
      } catch {
        return; // closed
      }
      const p = this.#serve(conn).finally(() => this.#conns.delete(p));
      this.#conns.add(p);
    }
  }

  async #serve(conn: Deno.UnixConn): Promise<void> {
    this.stats.requests++;
    let reply: Message;
    try {
      reply = await this.handle(conn);
      this.stats.replied++;
    } catch (err) {
      // handle() turns every failure into an error reply; this is a write to a gone client.
      log.warn("request failed", { error: err });
      try {
        conn.close();
      } catch {
        // closed
      }
      return;
    }
    try {
      await writeAll(conn, new TextEncoder().encode(encodeMessage(reply)));
    } catch (err) {
      log.warn("cannot write reply", { error: err });
    } finally {
      try {
        conn.close();
      } catch {
        // closed
      }
    }
  }

  /** Reads one request and produces the reply (an error message on any failure). */
  async handle(conn: Deno.Conn): Promise<Message> {
    // One read, one byte larger than the limit so an oversized request is recognised as such.
    const buf = new Uint8Array(MAX_UDS_REQUEST + 1);
    const n = await conn.read(buf);
    if (n === null || n === 0) return this.#error(null, "empty request");
    if (n > MAX_UDS_REQUEST) {
      return this.#error(null, `request is larger than ${MAX_UDS_REQUEST} bytes`);
    }
    let req: Message;
    try {
      req = decodeMessage(buf.subarray(0, n));
    } catch (err) {
      return this.#error(null, `cannot decode request: ${(err as Error).message}`);
    }
    const nodeId = getNodeId(req.route.resource ?? "");
    if (!nodeId) {
      return this.#error(
        req,
        `request resource ${JSON.stringify(req.route.resource ?? "")} names no node`,
      );
    }
    if (this.#opts.nodeOnline && !this.#opts.nodeOnline(nodeId)) {
      return this.#error(req, `node ${nodeId} is not connected`);
    }
    try {
      const target = this.#opts.target ?? ModuleName.CloudHub;
      return await this.#opts.bus.sendSync(
        target,
        req,
        this.#opts.timeoutMs ?? DEFAULT_UDS_TIMEOUT_MS,
      );
    } catch (err) {
      return this.#error(req, `node ${nodeId}: ${(err as Error).message}`);
    }
  }

  #error(req: Message | null, text: string): Message {
    this.stats.errors++;
    log.warn("CSI request failed", { error: text, resource: req?.route.resource ?? "" });
    const resp = newErrorMessage(req ?? newMessage(), text);
    // NewErrorMessage sets no source or group; KubeEdge's UDS server routes it cloudhub/<group>.
    resp.route = { ...resp.route, source: ModuleName.CloudHub };
    if (req?.route.group) resp.route.group = req.route.group;
    return resp;
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Removes a (stale) socket file; refuses to delete anything that is not a socket. */
async function removeSocket(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  if (!info.isSocket) {
    throw new UdsAddressError(`${path} exists and is not a socket; not removing it`);
  }
  await Deno.remove(path).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
}
