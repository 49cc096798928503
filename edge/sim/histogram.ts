/**
 * A bounded sample of values (latencies in ms) with percentiles. Reservoir sampling keeps memory
 * fixed however long a run lasts; hand-written because it is twenty lines and no npm package here
 * offers exactly this without native code.
 *
 * @example
 * ```ts
 * const h = new Histogram();
 * h.add(3.2);
 * h.summary(); // { count: 1, p50: 3.2, p99: 3.2, max: 3.2, mean: 3.2 }
 * ```
 */

/** Percentile summary of a {@link Histogram}. */
export interface HistogramSummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Fixed-size reservoir of samples. */
export class Histogram {
  readonly #cap: number;
  readonly #samples: number[] = [];
  #count = 0;
  #sum = 0;
  #max = 0;

  /** @param cap samples kept (default 100 000) */
  constructor(cap = 100_000) {
    this.#cap = cap;
  }

  /** Number of values added (not only those kept). */
  get count(): number {
    return this.#count;
  }

  /** Adds one value. */
  add(v: number): void {
    this.#count++;
    this.#sum += v;
    if (v > this.#max) this.#max = v;
    if (this.#samples.length < this.#cap) {
      this.#samples.push(v);
      return;
    }
    const j = Math.floor(Math.random() * this.#count);
    if (j < this.#cap) this.#samples[j] = v;
  }

  /** Adds every sample of `other` (merging per-node histograms). */
  merge(other: Histogram): void {
    for (const v of other.#samples) this.add(v);
  }

  /** The value below which `q` (0..1) of the samples fall. */
  quantile(q: number): number {
    if (this.#samples.length === 0) return 0;
    const sorted = [...this.#samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  }

  /** Count, p50, p90, p99, max and mean, rounded to 0.01. */
  summary(): HistogramSummary {
    const r = (v: number) => Math.round(v * 100) / 100;
    if (this.#samples.length === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
    const sorted = [...this.#samples].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    return {
      count: this.#count,
      p50: r(at(0.5)),
      p90: r(at(0.9)),
      p99: r(at(0.99)),
      max: r(this.#max),
      mean: r(this.#sum / this.#count),
    };
  }
}
