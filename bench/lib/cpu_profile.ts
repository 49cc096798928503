/**
 * CPU profiles of a child process started with `--inspect=127.0.0.1:<port>`, taken over the
 * Chrome DevTools protocol (Deno 2.9's `deno run` has no `--cpu-prof` flag). The summary
 * attributes self time to source files and functions, which is what the bench reports need to
 * say where time goes; the raw `.cpuprofile` can be opened in Chrome DevTools.
 *
 * @example
 * ```ts
 * const prof = await CpuProfiler.attach(9339);
 * await prof.start();
 * // ... load ...
 * const summary = await prof.stop("bench/results/latency-hub.cpuprofile");
 * ```
 */
import { WebSocket } from "ws";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Self time by file and by function, in percent of all samples. */
export interface ProfileSummary {
  samples: number;
  byFile: { file: string; pct: number }[];
  byFunction: { fn: string; pct: number }[];
}

/** A DevTools-protocol connection to one inspected process. */
export class CpuProfiler {
  #id = 0;
  readonly #pending = new Map<number, (v: unknown) => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Uint8Array) => {
      const msg = JSON.parse(new TextDecoder().decode(data)) as { id?: number; result?: unknown };
      if (msg.id !== undefined) this.#pending.get(msg.id)?.(msg.result);
    });
  }

  /** Connects to the inspector listening on `port`. */
  static async attach(port: number): Promise<CpuProfiler> {
    const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
      webSocketDebuggerUrl: string;
    }[];
    const ws = new WebSocket(list[0].webSocketDebuggerUrl);
    await new Promise((r, j) => {
      ws.once("open", r);
      ws.once("error", j);
    });
    return new CpuProfiler(ws);
  }

  #call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = ++this.#id;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Lets a process started with `--inspect-wait` or `--inspect-brk` run its program. */
  async resume(): Promise<void> {
    await this.#call("Runtime.runIfWaitingForDebugger");
  }

  /** Starts sampling (1 ms interval). */
  async start(): Promise<void> {
    await this.#call("Profiler.enable");
    await this.#call("Profiler.setSamplingInterval", { interval: 1000 });
    await this.#call("Profiler.start");
  }

  /** Stops, optionally writes the raw profile, and summarises it. */
  async stop(file?: string, top = 15): Promise<ProfileSummary> {
    const { profile } = await this.#call("Profiler.stop") as { profile: { nodes: ProfileNode[] } };
    this.ws.close();
    if (file) await Deno.writeTextFile(file, JSON.stringify(profile));
    const byFile = new Map<string, number>();
    const byFn = new Map<string, number>();
    let total = 0;
    for (const n of profile.nodes) {
      const hits = n.hitCount ?? 0;
      if (!hits) continue;
      total += hits;
      const url = n.callFrame.url || `(${n.callFrame.functionName || "native"})`;
      const file = url.replace(/^.*\/work\/main\//, "").replace(
        /^.*\/node_modules\/\.deno\//,
        "npm:",
      )
        .replace(/^.*\/registry\.npmjs\.org\//, "npm:");
      byFile.set(file, (byFile.get(file) ?? 0) + hits);
      const fn = `${n.callFrame.functionName || "(anonymous)"} ${file}:${
        n.callFrame.lineNumber + 1
      }`;
      byFn.set(fn, (byFn.get(fn) ?? 0) + hits);
    }
    const pct = (m: Map<string, number>) =>
      [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) =>
        [k, Math.round(v / total * 1000) / 10] as const
      );
    return {
      samples: total,
      byFile: pct(byFile).map(([file, p]) => ({ file, pct: p })),
      byFunction: pct(byFn).map(([fn, p]) => ({ fn, pct: p })),
    };
  }
}

/** Prints a summary's top files by self time, as the scenarios' `--profile` runs report it. */
export function printTopFiles(summary: ProfileSummary, who: string, top = 12): void {
  console.log(`${who} CPU self time by file (top):`);
  for (const f of summary.byFile.slice(0, top)) {
    console.log(`  ${f.pct.toFixed(1).padStart(5)} %  ${f.file}`);
  }
}

export { cpuSeconds } from "../../harness/proc.ts";
