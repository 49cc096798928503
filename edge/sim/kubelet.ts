/**
 * A simulated kubelet server behind a simulated node's stream tunnel: container logs (a line per
 * second per container, with follow, tailLines, timestamps, limitBytes and previous), the stats
 * summary and resource metrics with made-up but stable usage, the pod list, and exec, attach and
 * port-forward answered by {@link SimRuntime} through the kubelet streaming protocol.
 */
import type { EdgeByteDuplex, EdgeKubelet, EdgeUpgradeRequest } from "../stream/kubelet.ts";
import type { SimPod, SimPods } from "./pods.ts";
import { SimRuntime } from "./runtime.ts";
import { serveKubeletUpgrade } from "../../protocol/kubelet/mod.ts";

/** Serves an upgrade (exec, attach, port-forward) on a relayed connection. */
export type UpgradeServer = (req: EdgeUpgradeRequest, conn: EdgeByteDuplex) => Promise<void>;

/** Options of {@link SimKubelet}. */
export interface SimKubeletOptions {
  nodeName: string;
  pods: SimPods;
  /** Serves exec/attach/port-forward (default: the kubelet protocol over {@link SimRuntime}). */
  upgrade?: UpgradeServer;
  /** Period of a followed log's new lines (default 1 s). */
  logIntervalMs?: number;
}

const enc = new TextEncoder();

/** A stable number in [0, 1) from a string (usage figures that do not jump between scrapes). */
function unit(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0) / 2 ** 32;
}

/** Usage of one container: cpu in nanocores, memory in bytes. */
export function containerUsage(ns: string, pod: string, c: string): { cpu: number; mem: number } {
  const u = unit(`${ns}/${pod}/${c}`);
  return { cpu: Math.round(1e6 + u * 99e6), mem: Math.round((16 + u * 112) * 1024 * 1024) };
}

function text(s: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      c.enqueue(enc.encode(s));
      c.close();
    },
  });
}

function logLine(pod: SimPod, container: string, n: number, at: Date, stamps: boolean): string {
  const line = `${pod.namespace}/${pod.name}/${container} line ${n}`;
  return stamps ? `${at.toISOString().replace("Z", "000000Z")} ${line}\n` : `${line}\n`;
}

/** See module docs. */
export class SimKubelet implements EdgeKubelet {
  readonly #runtime: SimRuntime;

  constructor(readonly opts: SimKubeletOptions) {
    this.#runtime = new SimRuntime(opts.pods);
  }

  get(path: string, _headers: Headers, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const url = new URL(path, "http://127.0.0.1:10350");
    const seg = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    if (seg[0] === "containerLogs" && seg.length === 4) {
      return Promise.resolve(this.#logs(seg[1], seg[2], seg[3], url.searchParams, signal));
    }
    if (url.pathname === "/stats/summary") return Promise.resolve(text(this.#summary()));
    if (url.pathname === "/metrics/resource") return Promise.resolve(text(this.#resource()));
    if (url.pathname === "/pods") return Promise.resolve(text(this.#podList()));
    if (url.pathname === "/healthz") return Promise.resolve(text("ok"));
    if (url.pathname === "/metrics" || url.pathname === "/metrics/cadvisor") {
      return Promise.resolve(text(
        `# HELP kubelet_running_pods Number of pods that have a running pod sandbox\n` +
          `# TYPE kubelet_running_pods gauge\nkubelet_running_pods ${this.opts.pods.size}\n`,
      ));
    }
    return Promise.resolve(text(`404 page not found\n`));
  }

  upgrade(req: EdgeUpgradeRequest, conn: EdgeByteDuplex): Promise<void> {
    if (this.opts.upgrade) return this.opts.upgrade(req, conn);
    return serveKubeletUpgrade(req, conn, this.#runtime);
  }

  #logs(
    ns: string,
    name: string,
    container: string,
    q: URLSearchParams,
    signal: AbortSignal,
  ): ReadableStream<Uint8Array> {
    const pod = this.opts.pods.get(ns, name);
    if (!pod || !pod.containers.includes(container)) {
      return text(`container "${container}" in pod "${name}" is not available\n`);
    }
    const stamps = q.get("timestamps") === "true";
    const follow = q.get("follow") === "true";
    const previous = q.get("previous") === "true";
    const limit = Number(q.get("limitBytes") ?? Infinity) || Infinity;
    const every = this.opts.logIntervalMs ?? 1_000;
    if (previous) {
      return text(`previous terminated container "${container}" in pod "${name}" not found\n`);
    }
    // One line per interval since the container started, at least one.
    const start = pod.startedAt.getTime();
    const total = Math.max(1, Math.floor((Date.now() - start) / every) + 1);
    const tail = q.has("tailLines") ? Math.max(0, Number(q.get("tailLines"))) : total;
    const first = Math.max(1, total - tail + 1);
    let sent = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    return new ReadableStream<Uint8Array>({
      start: (c) => {
        const push = (s: string): boolean => {
          const b = enc.encode(s).subarray(0, Math.max(0, limit - sent));
          if (b.length) c.enqueue(b);
          sent += b.length;
          return sent < limit;
        };
        for (let n = first; n <= total; n++) {
          if (!push(logLine(pod, container, n, new Date(start + (n - 1) * every), stamps))) {
            return c.close();
          }
        }
        if (!follow) return c.close();
        let n = total;
        const tick = () => {
          if (signal.aborted) return c.close();
          if (!push(logLine(pod, container, ++n, new Date(), stamps))) return c.close();
          timer = setTimeout(tick, every);
        };
        timer = setTimeout(tick, every);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          try {
            c.close();
          } catch { /* closed */ }
        }, { once: true });
      },
      cancel: () => clearTimeout(timer),
    });
  }

  #summary(): string {
    const now = new Date().toISOString();
    const pods = this.opts.pods.list().map((p) => {
      const containers = p.containers.map((c) => {
        const u = containerUsage(p.namespace, p.name, c);
        return {
          name: c,
          startTime: p.startedAt.toISOString(),
          cpu: { time: now, usageNanoCores: u.cpu, usageCoreNanoSeconds: u.cpu * 60 },
          memory: { time: now, workingSetBytes: u.mem, usageBytes: u.mem, rssBytes: u.mem },
        };
      });
      const cpu = containers.reduce((n, c) => n + c.cpu.usageNanoCores, 0);
      const mem = containers.reduce((n, c) => n + c.memory.workingSetBytes, 0);
      return {
        podRef: { name: p.name, namespace: p.namespace, uid: p.uid },
        startTime: p.startedAt.toISOString(),
        containers,
        cpu: { time: now, usageNanoCores: cpu, usageCoreNanoSeconds: cpu * 60 },
        memory: { time: now, workingSetBytes: mem, usageBytes: mem },
      };
    });
    const cpu = 50e6 + pods.reduce((n, p) => n + p.cpu.usageNanoCores, 0);
    const mem = 256 * 1024 * 1024 + pods.reduce((n, p) => n + p.memory.workingSetBytes, 0);
    return JSON.stringify(
      {
        node: {
          nodeName: this.opts.nodeName,
          startTime: now,
          cpu: { time: now, usageNanoCores: cpu, usageCoreNanoSeconds: cpu * 60 },
          memory: {
            time: now,
            workingSetBytes: mem,
            usageBytes: mem,
            availableBytes: 4 * 1024 ** 3 - mem,
          },
        },
        pods,
      },
      null,
      2,
    );
  }

  #resource(): string {
    const t = Date.now();
    const lines = [
      "# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds",
      "# TYPE node_cpu_usage_seconds_total counter",
    ];
    let nodeCpu = 0.05, nodeMem = 256 * 1024 * 1024;
    const cpuLines: string[] = [], memLines: string[] = [];
    for (const p of this.opts.pods.list()) {
      for (const c of p.containers) {
        const u = containerUsage(p.namespace, p.name, c);
        const secs = (u.cpu / 1e9) * ((t - p.startedAt.getTime()) / 1000);
        nodeCpu += u.cpu / 1e9;
        nodeMem += u.mem;
        const l = `container="${c}",namespace="${p.namespace}",pod="${p.name}"`;
        cpuLines.push(`container_cpu_usage_seconds_total{${l}} ${secs} ${t}`);
        memLines.push(`container_memory_working_set_bytes{${l}} ${u.mem} ${t}`);
      }
    }
    lines.push(`node_cpu_usage_seconds_total ${nodeCpu * 60} ${t}`);
    lines.push(
      "# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes",
      "# TYPE node_memory_working_set_bytes gauge",
      `node_memory_working_set_bytes ${nodeMem} ${t}`,
      "# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds",
      "# TYPE container_cpu_usage_seconds_total counter",
      ...cpuLines,
      "# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes",
      "# TYPE container_memory_working_set_bytes gauge",
      ...memLines,
      "# HELP scrape_error [ALPHA] 1 if there was an error while getting container metrics, 0 otherwise",
      "# TYPE scrape_error gauge",
      "scrape_error 0",
    );
    return lines.join("\n") + "\n";
  }

  #podList(): string {
    return JSON.stringify({
      kind: "PodList",
      apiVersion: "v1",
      metadata: {},
      items: this.opts.pods.list().map((p) => ({
        metadata: { name: p.name, namespace: p.namespace, uid: p.uid },
        spec: { nodeName: this.opts.nodeName, containers: p.containers.map((name) => ({ name })) },
        status: { phase: "Running" },
      })),
    });
  }
}
