/**
 * Process and machine facts for the bench reports, read through `ps`, `bash` and Deno's own
 * APIs. Deno 2 answers every read under `/proc` with "requires all access" (it would take `-A`),
 * and benches run with narrow flags (see flags.ts), so nothing here reads `/proc` itself.
 */
import os from "node:os";

function run(cmd: string, args: string[]): string {
  try {
    const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : "";
  } catch {
    return "";
  }
}

/** Resident set size of `pid` in bytes (`ps -o rss=`), 0 once the process is gone. */
export function rssOf(pid: number): number {
  const kb = Number(run("ps", ["-o", "rss=", "-p", String(pid)]));
  return Number.isFinite(kb) ? kb * 1024 : 0;
}

/**
 * CPU time (user + system) of `pid` in seconds, 0 once gone: utime + stime from
 * `/proc/<pid>/stat` read by `cat` (clock ticks, 1/100 s on Linux), falling back to `ps -o
 * times=` (whole seconds) where there is no /proc.
 */
export function cpuSeconds(pid: number): number {
  const stat = run("cat", [`/proc/${pid}/stat`]);
  // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(rest[11]) + Number(rest[12]);
  if (stat && Number.isFinite(ticks)) return ticks / 100;
  const s = Number(run("ps", ["-o", "times=", "-p", String(pid)]));
  return Number.isFinite(s) ? s : 0;
}

/** This process's open-files limit as `soft (hard H)`, from the shell's `ulimit`. */
export function openFilesLimit(): string {
  const [soft, hard] = run("bash", ["-c", "ulimit -Sn; ulimit -Hn"]).split("\n");
  return soft ? `${soft} (hard ${hard})` : "unknown";
}

/** CPU model and total memory (MiB) through node:os (`--allow-sys`). */
export function cpuAndMemory(): { cpuModel: string; memTotalMiB: number } {
  try {
    return {
      cpuModel: os.cpus()[0]?.model?.trim() || "unknown",
      memTotalMiB: Math.round(os.totalmem() / 1024 / 1024),
    };
  } catch {
    return { cpuModel: "unknown", memTotalMiB: 0 };
  }
}
