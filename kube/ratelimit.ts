/**
 * Token buckets for Kubernetes API calls (client-go's `flowcontrol` QPS/burst limiter).
 *
 * Hand-written because it is a dozen lines and must be abortable (tests run with sanitizers).
 *
 * Sizing follows cloudcore's `AdjustCloudCoreConfig`: the whole process gets
 * `kubeAPIConfig.qps = 5 × nodeLimit` and `burst = 10 × nodeLimit`. edgecloud additionally gives
 * each edge node a fair share of that budget — `qps / nodeLimit` (5/s) with burst
 * `burst / nodeLimit` (10) — so one chatty edge cannot starve the other edges' upstream calls.
 */
import { sleep } from "../lib/mod.ts";

/** A reservation-style token bucket: callers queue fairly and wait for their slot. */
export class TokenBucket {
  #tokens: number;
  #last: number;

  /** `qps <= 0` means unlimited. */
  constructor(readonly qps: number, readonly burst: number, readonly now: () => number = Date.now) {
    this.#tokens = Math.max(1, burst);
    this.#last = now();
  }

  #refill(): void {
    const t = this.now();
    const cap = Math.max(1, this.burst);
    this.#tokens = Math.min(cap, this.#tokens + ((t - this.#last) / 1000) * this.qps);
    this.#last = t;
  }

  /** Milliseconds the caller must wait for a token it reserves now (0 when one is free). */
  reserve(): number {
    if (this.qps <= 0) return 0;
    this.#refill();
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens / this.qps) * 1000);
  }

  /** Takes one token, waiting for it when the bucket is empty. */
  async take(signal?: AbortSignal): Promise<void> {
    const wait = this.reserve();
    if (wait > 0) await sleep(wait, signal);
  }
}

/** Settings for {@link NodeRateLimiter}. */
export interface RateLimitOptions {
  /** Overall queries per second (cloudcore: 5 × nodeLimit); `<= 0` disables limiting. */
  qps: number;
  /** Overall burst (cloudcore: 10 × nodeLimit). */
  burst: number;
  /** Node limit the per-node share is computed from (cloudcore default 500). */
  nodeLimit: number;
}

/** The overall bucket plus one bucket per edge node with a `1/nodeLimit` share. */
export class NodeRateLimiter {
  readonly overall: TokenBucket;
  readonly #perNode = new Map<string, TokenBucket>();
  readonly nodeQps: number;
  readonly nodeBurst: number;

  constructor(readonly opts: RateLimitOptions, readonly now: () => number = Date.now) {
    this.overall = new TokenBucket(opts.qps, opts.burst, now);
    const n = Math.max(1, opts.nodeLimit);
    this.nodeQps = opts.qps > 0 ? opts.qps / n : 0;
    this.nodeBurst = Math.max(1, Math.floor(opts.burst / n));
  }

  /**
   * Reserves one token of `node`'s share (if given) and one of the overall budget; returns the
   * milliseconds the caller must wait before using them.
   */
  reserve(node?: string): number {
    let wait = 0;
    if (node) {
      let bucket = this.#perNode.get(node);
      if (!bucket) {
        bucket = new TokenBucket(this.nodeQps, this.nodeBurst, this.now);
        this.#perNode.set(node, bucket);
      }
      wait = bucket.reserve();
    }
    return Math.max(wait, this.overall.reserve());
  }

  /** Waits for a token of `node`'s share (if given) and one of the overall budget. */
  async take(node?: string, signal?: AbortSignal): Promise<void> {
    const wait = this.reserve(node);
    if (wait > 0) await sleep(wait, signal);
  }

  /** Forgets a node's bucket (the node was deleted). */
  forget(node: string): void {
    this.#perNode.delete(node);
  }
}
