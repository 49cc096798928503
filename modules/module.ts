/**
 * Modules and their registry: KubeEdge's `core.Register` / `StartModules` as a typed system.
 * Modules are started in registration order and stopped in reverse order.
 *
 * @example
 * ```ts
 * const registry = new ModuleRegistry(new Bus());
 * registry.register(cloudHub, config.modules.cloudHub.enable);
 * await registry.startAll();
 * // ... on SIGTERM:
 * await registry.stopAll();
 * ```
 */
import { type Bus, BusClosedError } from "./bus.ts";
import { createLogger, withTimeout } from "../lib/mod.ts";
import type { Message } from "./message.ts";

/** What a module gets when it starts. */
export interface ModuleContext {
  readonly bus: Bus;
}

/** A named unit in a group, like a beehive module. */
export interface Module {
  /** Module name; its inbox on the bus has this name. */
  readonly name: string;
  /** Group name (cloud modules use their own name as group). */
  readonly group: string;
  /** Starts the module; resolves once it is serving (it must not block for its lifetime). */
  start(ctx: ModuleContext): Promise<void>;
  /** Stops the module: stop listeners, drain, close stores. */
  stop(): Promise<void>;
}

const log = createLogger("modules");

/** Registry of modules; starts and stops them in order. */
export class ModuleRegistry {
  readonly #modules: Module[] = [];
  readonly #started: Module[] = [];

  constructor(readonly bus: Bus, readonly stopTimeoutMs = 4_000) {}

  /** Adds a module; disabled modules are skipped (beehive keeps only enabled ones). */
  register(module: Module, enabled = true): void {
    if (!enabled) {
      log.info("module disabled", { module: module.name });
      return;
    }
    if (this.#modules.some((m) => m.name === module.name)) {
      throw new Error(`module ${module.name} is registered twice`);
    }
    this.#modules.push(module);
  }

  /** Names of registered (enabled) modules in start order. */
  get names(): string[] {
    return this.#modules.map((m) => m.name);
  }

  /**
   * Creates each module's inbox, then starts the modules in order. If one fails, the ones
   * already started are stopped and the error is rethrown.
   */
  async startAll(): Promise<void> {
    for (const m of this.#modules) {
      if (!this.bus.modules().includes(m.name)) this.bus.addModule(m.name, m.group);
    }
    for (const m of this.#modules) {
      try {
        await m.start({ bus: this.bus });
      } catch (err) {
        log.error("module failed to start", { module: m.name, error: err });
        await this.stopAll();
        throw err;
      }
      this.#started.push(m);
      log.info("module started", { module: m.name, group: m.group });
    }
  }

  /** Stops started modules in reverse order, each bounded by `stopTimeoutMs`, then removes their inboxes. */
  async stopAll(): Promise<void> {
    while (this.#started.length > 0) {
      const m = this.#started.pop() as Module;
      try {
        await withTimeout(
          m.stop(),
          this.stopTimeoutMs,
          () => new Error(`stop timed out after ${this.stopTimeoutMs} ms`),
        );
        log.info("module stopped", { module: m.name });
      } catch (err) {
        log.error("module stop failed", { module: m.name, error: err });
      }
    }
    for (const m of this.#modules) this.bus.removeModule(m.name);
  }
}

/**
 * Runs `handler` for every message arriving in `module`'s inbox until the inbox closes.
 * Handler errors are logged and do not end the loop; a handler rejected because a queue it feeds
 * has closed (BusClosedError: shutdown) is logged at debug, not as an error. Returns the loop's
 * promise.
 */
export async function receiveLoop(
  bus: Bus,
  module: string,
  handler: (msg: Message) => void | Promise<void>,
): Promise<void> {
  for (;;) {
    let msg: Message;
    try {
      msg = await bus.receive(module);
    } catch (err) {
      if (err instanceof BusClosedError) return;
      throw err;
    }
    try {
      // Awaited only when it is a promise: a handler done at once costs no microtask turn.
      const pending = handler(msg);
      if (pending) await pending;
    } catch (err) {
      if (err instanceof BusClosedError) {
        // A queue the handler feeds closed under it: the process is stopping, not failing.
        log.debug("message dropped while stopping", {
          module,
          resource: msg.route.resource ?? "",
          error: err,
        });
        continue;
      }
      log.error("message handler failed", {
        module,
        resource: msg.route.resource ?? "",
        error: err,
      });
    }
  }
}
