/**
 * The module bus: KubeEdge's beehive channel context as a typed TypeScript class
 * (docs/protocol.md §2).
 *
 * Differences from beehive, on purpose: inboxes are bounded and a sender waits when one is
 * full (beehive blocks too, but an unknown module or a closed bus is an error here, not a
 * silent drop); timeouts leave no timer or waiter behind; `sendToGroupSync` returns the
 * replies.
 *
 * @example
 * ```ts
 * const bus = new Bus();
 * bus.addModule("edgecontroller");
 * const reply = await bus.sendSync("edgecontroller", msg, 5_000);
 * ```
 */
import { BusClosedError, Inbox } from "./inbox.ts";
import { createLogger } from "../lib/mod.ts";
import type { Message } from "./message.ts";

export { BusClosedError } from "./inbox.ts";

/** Thrown when a synchronous send gets no (complete) reply in time. */
export class TimeoutError extends Error {
  override name = "TimeoutError";
}

/** Thrown when a message is sent to a module or group that is not registered. */
export class UnknownModuleError extends Error {
  override name = "UnknownModuleError";
}

/** Bus settings; the defaults are beehive's. */
export interface BusOptions {
  /** Inbox capacity per module (beehive: 1024). */
  inboxCapacity?: number;
  /** Timeout for sendSync/sendToGroupSync when none (or <= 0) is given (beehive: 30 s). */
  defaultTimeoutMs?: number;
}

interface SyncWaiter {
  expected: number;
  replies: Message[];
  resolve: (replies: Message[]) => void;
}

interface ModuleEntry {
  name: string;
  group: string;
  inbox: Inbox<Message>;
}

const log = createLogger("bus");

/** Counters a metrics endpoint can read. */
export interface BusStats {
  sent: number;
  dropped: number;
  orphanResponses: number;
  timeouts: number;
}

/** The in-process message bus (see module docs). */
export class Bus {
  readonly #modules = new Map<string, ModuleEntry>();
  readonly #waiters = new Map<string, SyncWaiter>();
  readonly #capacity: number;
  readonly #defaultTimeout: number;
  readonly #closing = new AbortController();
  #closed = false;
  readonly stats: BusStats = { sent: 0, dropped: 0, orphanResponses: 0, timeouts: 0 };

  constructor(opts: BusOptions = {}) {
    this.#capacity = opts.inboxCapacity ?? 1024;
    this.#defaultTimeout = opts.defaultTimeoutMs ?? 30_000;
  }

  /** Registers a module's inbox in a group (the group defaults to the module name). */
  addModule(name: string, group = name, capacity = this.#capacity): void {
    if (this.#closed) throw new BusClosedError("bus is closed");
    if (this.#modules.has(name)) throw new Error(`module ${name} is already on the bus`);
    this.#modules.set(name, { name, group, inbox: new Inbox<Message>(capacity, `module ${name}`) });
  }

  /** Removes a module: its inbox closes, so its pending `receive` rejects with BusClosedError. */
  removeModule(name: string): void {
    const entry = this.#modules.get(name);
    if (!entry) return;
    this.#modules.delete(name);
    entry.inbox.close();
  }

  /** Names of registered modules, optionally only those in `group`. */
  modules(group?: string): string[] {
    return [...this.#modules.values()].filter((m) => group === undefined || m.group === group).map((
      m,
    ) => m.name);
  }

  /** Number of messages waiting in a module's inbox (0 for unknown modules). */
  queueLength(name: string): number {
    return this.#modules.get(name)?.inbox.size ?? 0;
  }

  #entry(name: string): ModuleEntry {
    if (this.#closed) throw new BusClosedError("bus is closed");
    const entry = this.#modules.get(name);
    if (!entry) {
      this.stats.dropped++;
      throw new UnknownModuleError(`no module named ${JSON.stringify(name)} on the bus`);
    }
    return entry;
  }

  /**
   * Delivers a message to a module's inbox, waiting while it is full (back-pressure).
   * @throws UnknownModuleError, BusClosedError
   */
  async send(module: string, msg: Message, signal?: AbortSignal): Promise<void> {
    const entry = this.#entry(module);
    await entry.inbox.push(msg, signal);
    this.stats.sent++;
  }

  /** Waits for the next message in a module's inbox. Rejects with BusClosedError on stop. */
  receive(module: string): Promise<Message> {
    try {
      return this.#entry(module).inbox.shift();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Sends and waits for the reply whose `parent_msg_id` is `msg.header.id` (sets `header.sync`).
   * @throws TimeoutError when no reply arrives in `timeoutMs` (default 30 s), BusClosedError
   * when the bus closes meanwhile.
   */
  async sendSync(module: string, msg: Message, timeoutMs = 0): Promise<Message> {
    msg.header.sync = true;
    const [reply] = await this.#syncRequest([module], msg, timeoutMs, `sendSync to ${module}`);
    return reply;
  }

  /**
   * Completes a pending sendSync / sendToGroupSync by `resp.header.parentId`. Returns false
   * (and logs) when nobody waits for it, like beehive.
   */
  sendResp(resp: Message): boolean {
    const key = resp.header.parentId;
    const waiter = key ? this.#waiters.get(key) : undefined;
    if (!waiter || !key) {
      this.stats.orphanResponses++;
      log.warn("response for unknown or finished request dropped", { parent: key ?? "" });
      return false;
    }
    waiter.replies.push(resp);
    if (waiter.replies.length >= waiter.expected) {
      this.#waiters.delete(key);
      waiter.resolve(waiter.replies);
    }
    return true;
  }

  /**
   * Sends to every module of a group concurrently (each send may wait for room). The message
   * object is shared: receivers must treat it as read-only.
   * @throws UnknownModuleError when the group is empty.
   */
  async sendToGroup(group: string, msg: Message, signal?: AbortSignal): Promise<void> {
    const members = this.#groupMembers(group);
    await Promise.all(members.map((m) => m.inbox.push(msg, signal)));
    this.stats.sent += members.length;
  }

  /**
   * Sends to every module of a group and waits until each has replied (replies matched by
   * `parent_msg_id`).
   * @throws TimeoutError when not all replied in time.
   */
  sendToGroupSync(group: string, msg: Message, timeoutMs = 0): Promise<Message[]> {
    msg.header.sync = true;
    let members: ModuleEntry[];
    try {
      members = this.#groupMembers(group);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#syncRequest(
      members.map((m) => m.name),
      msg,
      timeoutMs,
      `sendToGroupSync to ${group}`,
    );
  }

  #groupMembers(group: string): ModuleEntry[] {
    if (this.#closed) throw new BusClosedError("bus is closed");
    const members = [...this.#modules.values()].filter((m) => m.group === group);
    if (members.length === 0) {
      this.stats.dropped++;
      throw new UnknownModuleError(`no module in group ${JSON.stringify(group)} on the bus`);
    }
    return members;
  }

  async #syncRequest(
    modules: string[],
    msg: Message,
    timeoutMs: number,
    what: string,
  ): Promise<Message[]> {
    const entries = modules.map((m) => this.#entry(m));
    const key = msg.header.id;
    if (this.#waiters.has(key)) throw new Error(`a request with msg_id ${key} is already waiting`);
    const ms = timeoutMs > 0 ? timeoutMs : this.#defaultTimeout;
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onClose = () => abort.abort(new BusClosedError("bus closed while waiting for a reply"));
    this.#closing.signal.addEventListener("abort", onClose, { once: true });
    const replies = new Promise<Message[]>((resolve, reject) => {
      this.#waiters.set(key, { expected: entries.length, replies: [], resolve });
      abort.signal.addEventListener("abort", () => reject(abort.signal.reason), { once: true });
      timer = setTimeout(() => {
        this.stats.timeouts++;
        abort.abort(new TimeoutError(`${what}: no reply to ${key} within ${ms} ms`));
      }, ms);
    });
    try {
      await Promise.all(entries.map((e) => e.inbox.push(msg, abort.signal)));
      this.stats.sent += entries.length;
      return await replies;
    } finally {
      clearTimeout(timer);
      this.#waiters.delete(key);
      this.#closing.signal.removeEventListener("abort", onClose);
      // A rejection nobody awaits any more (send failed first) must not surface as unhandled.
      replies.catch(() => {});
    }
  }

  /** Closes every inbox and fails every pending sync request with BusClosedError. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    for (const entry of this.#modules.values()) entry.inbox.close();
    this.#modules.clear();
    this.#waiters.clear();
  }

  get closed(): boolean {
    return this.#closed;
  }
}
