/**
 * A Chrome DevTools-protocol client for a child process started with
 * `--inspect=127.0.0.1:<port>`: heap snapshots streamed to a file, a forced full GC, and
 * `Runtime.evaluate` (to read `Deno.memoryUsage()` inside the hub). Used by
 * bench/scenarios/heap.ts; {@link ./cpu_profile.ts} does the same for CPU profiles.
 *
 * @example
 * ```ts
 * const insp = await Inspector.attach(9339);
 * await insp.collectGarbage();
 * const mem = await insp.evaluate("Deno.memoryUsage()");
 * await insp.heapSnapshot("/tmp/hub.heapsnapshot");
 * insp.close();
 * ```
 */
import { WebSocket } from "ws";

/** `Deno.memoryUsage()` of the inspected process. */
export interface MemoryUsage {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
}

/** A DevTools-protocol connection to one inspected process. */
export class Inspector {
  #id = 0;
  readonly #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  readonly #events = new Map<string, (params: Record<string, unknown>) => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Uint8Array) => {
      const msg = JSON.parse(new TextDecoder().decode(data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
        method?: string;
        params?: Record<string, unknown>;
      };
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(msg.error.message));
        else p?.resolve(msg.result);
      } else if (msg.method) {
        this.#events.get(msg.method)?.(msg.params ?? {});
      }
    });
  }

  /** Connects to the inspector listening on `port` (retrying while the process starts). */
  static async attach(port: number, timeoutMs = 30_000): Promise<Inspector> {
    const deadline = performance.now() + timeoutMs;
    let list: { webSocketDebuggerUrl: string }[] = [];
    for (;;) {
      try {
        list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
        if (list.length) break;
      } catch (err) {
        if (performance.now() > deadline) throw err;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const ws = new WebSocket(list[0].webSocketDebuggerUrl, { maxPayload: 1 << 30 });
    await new Promise((r, j) => {
      ws.once("open", r);
      ws.once("error", j);
    });
    return new Inspector(ws);
  }

  /** One protocol call. */
  call<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.#id;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Evaluates `expr` in the process's main context and returns its value (JSON). */
  async evaluate<T = unknown>(expr: string): Promise<T> {
    const r = await this.call<{ result: { value: T }; exceptionDetails?: { text: string } }>(
      "Runtime.evaluate",
      { expression: expr, returnByValue: true, awaitPromise: true },
    );
    if (r.exceptionDetails) throw new Error(`evaluate failed: ${r.exceptionDetails.text}`);
    return r.result.value;
  }

  /** A full (major, compacting) GC. */
  async collectGarbage(): Promise<void> {
    await this.call("HeapProfiler.enable");
    await this.call("HeapProfiler.collectGarbage");
    await this.call("HeapProfiler.collectGarbage");
  }

  /** `Deno.memoryUsage()` inside the process. */
  memoryUsage(): Promise<MemoryUsage> {
    return this.evaluate<MemoryUsage>(
      "(() => { const m = Deno.memoryUsage(); return { rss: m.rss, heapTotal: m.heapTotal, " +
        "heapUsed: m.heapUsed, external: m.external }; })()",
    );
  }

  /** Takes a heap snapshot (after a GC) and streams it to `file`; resolves with its size. */
  async heapSnapshot(file: string): Promise<number> {
    await this.call("HeapProfiler.enable");
    const out = await Deno.open(file, { write: true, create: true, truncate: true });
    const enc = new TextEncoder();
    let bytes = 0;
    let writing = Promise.resolve();
    this.#events.set("HeapProfiler.addHeapSnapshotChunk", (p) => {
      const chunk = enc.encode(p.chunk as string);
      bytes += chunk.length;
      writing = writing.then(async () => {
        let off = 0;
        while (off < chunk.length) off += await out.write(chunk.subarray(off));
      });
    });
    try {
      await this.call("HeapProfiler.takeHeapSnapshot", {
        reportProgress: false,
        captureNumericValue: false,
      });
      await writing;
    } finally {
      this.#events.delete("HeapProfiler.addHeapSnapshotChunk");
      out.close();
    }
    return bytes;
  }

  close(): void {
    this.ws.close();
  }
}

/** A free loopback TCP port (bound and released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
