/**
 * A simulated node's EdgeStream: keeps its CloudStream tunnel up (redialled every 2 s after a drop
 * or refusal, as edgecore's ticker does) and serves it from the node's {@link SimKubelet}.
 */
import { dialStreamTunnel, type StreamTunnel } from "../stream/tunnel_client.ts";
import type { EdgeKubelet } from "../stream/kubelet.ts";
import type { NodeCredentials } from "./link.ts";

/** edgecore's redial period. */
export const STREAM_REDIAL_MS = 2_000;

/** Options of {@link SimStream}. */
export interface SimStreamOptions {
  server: string;
  nodeName: string;
  internalIP: string;
  credentials: NodeCredentials;
  kubelet: EdgeKubelet;
  redialMs?: number;
}

/** See module docs. */
export class SimStream {
  #tunnel: StreamTunnel | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  /** Tunnels opened so far. */
  dials = 0;
  /** The last refusal or CLOSE_CONNECT reason. */
  lastError = "";

  constructor(readonly opts: SimStreamOptions) {}

  /** True while the tunnel is up. */
  get connected(): boolean {
    return this.#tunnel !== undefined;
  }

  /** Starts dialling (returns after the first attempt). */
  async start(): Promise<void> {
    await this.#dial();
  }

  async #dial(): Promise<void> {
    if (this.#stopped) return;
    try {
      const t = await dialStreamTunnel({
        server: this.opts.server,
        nodeName: this.opts.nodeName,
        internalIP: this.opts.internalIP,
        kubelet: this.opts.kubelet,
        ...this.opts.credentials,
      });
      if (this.#stopped) return t.close();
      this.dials++;
      this.#tunnel = t;
      t.closed.then((why) => {
        this.#tunnel = undefined;
        if (why) this.lastError = why;
        this.#later();
      });
    } catch (e) {
      this.lastError = (e as Error).message;
      this.#later();
    }
  }

  #later(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#dial(), this.opts.redialMs ?? STREAM_REDIAL_MS);
  }

  /** Closes the tunnel and stops redialling; resolves once closed. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const t = this.#tunnel;
    if (t) {
      t.close();
      await t.closed;
    }
  }
}
