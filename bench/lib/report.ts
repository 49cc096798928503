/**
 * Bench output: a plain table on stdout and one JSON file per scenario under bench/results/
 * (`<scenario>.json`, overwritten by each run; bench/results/ is not committed), with the
 * machine it ran on so scripts/perf_report.ts can say where the numbers come from.
 */
import { cpuAndMemory, openFilesLimit } from "../../harness/proc.ts";

/** The machine a result was measured on. */
export interface MachineInfo {
  nproc: number;
  memTotalMiB: number;
  cpuModel: string;
  deno: string;
  v8: string;
  os: string;
  fdSoftLimit: string;
}

/** Reads nproc, memory, CPU model, Deno version and the fd limit. */
export function machineInfo(): MachineInfo {
  const nproc = navigator.hardwareConcurrency;
  const { cpuModel, memTotalMiB } = cpuAndMemory();
  const fdSoftLimit = openFilesLimit();
  return {
    nproc,
    memTotalMiB,
    cpuModel,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    os: `${Deno.build.os}-${Deno.build.arch}`,
    fdSoftLimit,
  };
}

/** Prints rows as an aligned table (first row is the header). */
export function printTable(rows: (string | number)[][]): void {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  for (const [k, r] of cells.entries()) {
    console.log(r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd());
    if (k === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
}

/** One scenario's result file. */
export interface BenchResult {
  scenario: string;
  /** The command that produced it. */
  command: string;
  date: string;
  machine: MachineInfo;
  /** Headline figures (what the results page shows). */
  headline: Record<string, number | string | boolean>;
  /** The table printed. */
  table: (string | number)[][];
  /**
   * The same figures for edgecloud and real cloudcore measured in the same run: rows of
   * [figure, edgecloud, cloudcore, edgecloud / cloudcore] under a header row; a cloudcore cell
   * says "not run" when no cloudcore binary was given.
   */
  compare?: string[][];
  /** Target from docs/design.md and whether it was met. */
  targets: { name: string; target: string; value: string; met: boolean }[];
  /** Anything else worth keeping. */
  details?: unknown;
  /** Notes (limits hit, flags changed). */
  notes?: string[];
  /** Wall time of the run, seconds (process start to result). */
  wallS?: number;
}

/** Writes `bench/results/<scenario>.json` and returns its path. */
export async function writeResult(
  result: Omit<BenchResult, "date" | "machine" | "wallS">,
): Promise<string> {
  const dir = new URL("../results/", import.meta.url);
  await Deno.mkdir(dir, { recursive: true });
  const file = new URL(`${result.scenario}.json`, dir);
  const full: BenchResult = {
    ...result,
    date: new Date().toISOString(),
    machine: machineInfo(),
    wallS: Math.round(performance.now() / 1000),
  };
  await Deno.writeTextFile(file, JSON.stringify(full, null, 2) + "\n");
  console.log(`\nwrote ${file.pathname}`);
  return file.pathname;
}

/** `ms` as seconds with one decimal. */
export function secs(ms: number): string {
  return (ms / 1000).toFixed(1);
}

/** Bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

/** Sleeps (benches only; tests never sleep to wait for events). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
