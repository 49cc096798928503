/**
 * Keeps the current join token: made at start, stored in Secret `kubeedge/tokensecret`
 * (`tokendata`), and regenerated every `tokenRefreshDuration` hours (§5.3). Tokens stay valid for
 * twice the refresh period, so an edge holding the previous token can still join.
 *
 * @example
 * ```ts
 * const tokens = new TokenManager({ ca, store, refreshHours: 12 });
 * await tokens.start();
 * console.log(tokens.current());
 * tokens.stop();
 * ```
 */
import { createLogger } from "../../lib/mod.ts";
import { SECRET_NAMESPACE, type SecretStore, TOKEN_DATA, TOKEN_SECRET } from "./store.ts";
import { createToken, type TokenKey } from "../../pki/mod.ts";

const log = createLogger("certs");

/** Schedules `fn` every `ms` milliseconds; returns a function that cancels it. */
export type Scheduler = (ms: number, fn: () => void) => () => void;

/** The default scheduler: `setInterval`. */
export const intervalScheduler: Scheduler = (ms, fn) => {
  const id = setInterval(fn, ms);
  return () => clearInterval(id);
};

/** Options of {@link TokenManager}. */
export interface TokenManagerOptions {
  /** CA material the tokens are derived from. */
  ca: TokenKey;
  /** Where `kubeedge/tokensecret` is written. */
  store: SecretStore;
  /** `tokenRefreshDuration` in hours (> 0). */
  refreshHours: number;
  /** Clock (tests pin it). */
  now?: () => Date;
  /** Timer (tests drive it by hand). */
  schedule?: Scheduler;
}

/** Generates, stores and refreshes the join token. */
export class TokenManager {
  #token: string | null = null;
  #cancel: (() => void) | null = null;
  #refreshing: Promise<string> | null = null;
  readonly #opts: TokenManagerOptions;

  /** @param opts see {@link TokenManagerOptions} */
  constructor(opts: TokenManagerOptions) {
    this.#opts = opts;
  }

  /** Creates and stores the first token and starts the refresh timer. Returns the token. */
  async start(): Promise<string> {
    const token = await this.refresh();
    if (!this.#cancel) {
      const schedule = this.#opts.schedule ?? intervalScheduler;
      this.#cancel = schedule(this.#opts.refreshHours * 60 * 60 * 1000, () => {
        this.refresh().catch((err) =>
          log.error("token refresh failed; keeping the previous token", { error: err })
        );
      });
    }
    return token;
  }

  /** Generates a new token now, stores it, and makes it current. */
  refresh(): Promise<string> {
    // Serialise refreshes so a slow Secret write cannot make an older token current again.
    const run = async (): Promise<string> => {
      const now = this.#opts.now?.() ?? new Date();
      const token = await createToken(this.#opts.ca, this.#opts.refreshHours, now);
      await this.#opts.store.put(SECRET_NAMESPACE, TOKEN_SECRET, {
        [TOKEN_DATA]: new TextEncoder().encode(token),
      });
      this.#token = token;
      log.info("join token refreshed", { validHours: 2 * this.#opts.refreshHours });
      return token;
    };
    const next = (this.#refreshing ?? Promise.resolve("")).catch(() => "").then(run);
    this.#refreshing = next;
    return next;
  }

  /** Resolves once no refresh is in flight (tests await the timer-started refresh with it). */
  async idle(): Promise<void> {
    await this.#refreshing?.catch(() => undefined);
  }

  /** The current token. Throws if `start()` has not completed. */
  current(): string {
    if (this.#token === null) throw new Error("TokenManager: no token yet; await start() first");
    return this.#token;
  }

  /** Stops the refresh timer. */
  stop(): void {
    this.#cancel?.();
    this.#cancel = null;
  }
}

/** Reads the stored token (`edgecloud token`, like `keadm gettoken`); null if there is none. */
export async function readStoredToken(store: SecretStore): Promise<string | null> {
  const secret = await store.get(SECRET_NAMESPACE, TOKEN_SECRET);
  const data = secret?.[TOKEN_DATA];
  return data ? new TextDecoder().decode(data) : null;
}
