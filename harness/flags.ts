/**
 * Permissions for benchmark processes. Benches never get `-A`: they talk to loopback only,
 * read and write temporary directories and `bench/results/`, ask node:os for CPU and memory
 * (`--allow-sys`) and pass the environment on to client-node. Only the parent scripts spawn
 * processes (the hub, simulator workers, `bash` for `ulimit -n`, `ps` for RSS and CPU: see
 * proc.ts), so `--allow-run` is added for them alone (the `bench:*` tasks in deno.json spell
 * out the same set).
 */
export const BENCH_CHILD_FLAGS: readonly string[] = [
  "--allow-net=127.0.0.1,localhost,[::1]",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
];
