/**
 * Scenario `stalled_watch`: the embedded API's RSS under watches that never read (issue #17).
 *
 *   deno task bench:run bench/scenarios/stalled_watch.ts [--watches 5] [--patches 300] [--kib 80]
 *
 * The embedded API runs alone in a child process (this script with `--serve`), so its RSS is
 * measured apart from the clients. The parent creates one ConfigMap, opens `--watches` watches on
 * ConfigMaps over HTTPS and never reads their bodies, then sends `--patches` merge patches that
 * each replace an `--kib` KiB value. Reported: the API's RSS before, at its peak during the writes,
 * after the writes, and 5 s after the stalled watches were closed; the child logs (level warn)
 * each watch it ends for falling behind.
 */
import { parseArgs } from "node:util";
import { startEmbeddedApi } from "../../apiserver/mod.ts";
import { setLogLevel } from "../../lib/log.ts";
import { BENCH_CHILD_FLAGS } from "../../harness/flags.ts";
import { readLines } from "../../harness/lines.ts";
import { rssOf } from "../../harness/proc.ts";
import { mib, printTable, sleep } from "../lib/report.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    serve: { type: "boolean", default: false },
    "data-dir": { type: "string" },
    watches: { type: "string", default: "5" },
    patches: { type: "string", default: "300" },
    kib: { type: "string", default: "80" },
  },
});

if (values.serve) {
  // Child: the API alone; one ready line on stdout, then serve until killed.
  setLogLevel("warn");
  const api = await startEmbeddedApi({ dataDir: values["data-dir"]!, port: 0 });
  console.log(JSON.stringify({ url: api.url, token: api.token, caPem: api.caPem }));
  Deno.addSignalListener("SIGTERM", () => api.close().then(() => Deno.exit(0)));
} else {
  await parent();
}

async function parent(): Promise<void> {
  const watches = Number(values.watches);
  const patches = Number(values.patches);
  const kib = Number(values.kib);
  const dataDir = await Deno.makeTempDir({ prefix: "bench-stalled-watch-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-check",
      "--unstable-kv",
      "--unstable-net",
      ...BENCH_CHILD_FLAGS,
      new URL(import.meta.url).pathname,
      "--serve",
      "--data-dir",
      dataDir,
    ],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const lines = readLines(child.stdout);
  const first = await lines.next();
  if (first.done) throw new Error("API process exited before it was ready");
  const drain = (async () => {
    for await (const _ of lines) { /* discard */ }
  })();
  const ready: { url: string; token: string; caPem: string } = JSON.parse(first.value);
  const client = Deno.createHttpClient({ caCerts: [ready.caPem] });
  const path = "/api/v1/namespaces/default/configmaps";
  const call = async (method: string, url: string, body?: unknown, type = "application/json") => {
    const res = await fetch(`${ready.url}${url}`, {
      method,
      client,
      headers: { authorization: `Bearer ${ready.token}`, "content-type": type },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status}`);
  };
  await call("POST", path, { metadata: { name: "stalled-watch" }, data: {} });
  await sleep(2000);
  const rssBefore = rssOf(child.pid);

  // Each stalled watch gets its own connection, like separate clients.
  const stalled: { client: Deno.HttpClient; res: Response }[] = [];
  for (let i = 0; i < watches; i++) {
    const c = Deno.createHttpClient({ caCerts: [ready.caPem] });
    const res = await fetch(`${ready.url}${path}?watch=1`, {
      client: c,
      headers: { authorization: `Bearer ${ready.token}` },
    });
    stalled.push({ client: c, res });
  }

  let peak = rssBefore;
  const t0 = performance.now();
  for (let i = 0; i < patches; i++) {
    const blob = `${i}:`.padEnd(kib * 1024, String.fromCharCode(97 + i % 26));
    await call(
      "PATCH",
      `${path}/stalled-watch`,
      { data: { blob } },
      "application/merge-patch+json",
    );
    if (i % 25 === 0) peak = Math.max(peak, rssOf(child.pid));
  }
  const writeMs = performance.now() - t0;
  await sleep(1000);
  const rssAfterWrites = rssOf(child.pid);
  peak = Math.max(peak, rssAfterWrites);

  for (const s of stalled) {
    await s.res.body?.cancel().catch(() => {});
    s.client.close();
  }
  await sleep(5000);
  const rssAfterClose = rssOf(child.pid);

  printTable([
    ["watches", "patches", "KiB", "write s", "RSS before", "peak", "after writes", "after close"],
    [
      watches,
      patches,
      kib,
      (writeMs / 1000).toFixed(1),
      `${mib(rssBefore)} MiB`,
      `${mib(peak)} MiB`,
      `${mib(rssAfterWrites)} MiB`,
      `${mib(rssAfterClose)} MiB`,
    ],
  ]);
  client.close();
  child.kill("SIGTERM");
  await child.status;
  await drain;
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
}
