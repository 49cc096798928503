/**
 * Child processes a bench started, killed when the bench itself is interrupted (SIGINT or
 * SIGTERM): a child outlives its parent otherwise, and an orphaned hub or API keeps a core busy
 * under the next run's measurements.
 */
const live = new Set<Deno.ChildProcess>();
let installed = false;

function killAll(): void {
  for (const c of live) {
    try {
      c.kill("SIGKILL");
    } catch { /* already gone */ }
  }
  live.clear();
}

/** Tracks `child` until it exits; returns it. */
export function trackChild(child: Deno.ChildProcess): Deno.ChildProcess {
  live.add(child);
  child.status.finally(() => live.delete(child));
  if (!installed) {
    installed = true;
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(sig, () => {
        killAll();
        Deno.exit(130);
      });
    }
  }
  return child;
}
