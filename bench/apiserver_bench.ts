/**
 * Embedded API benchmark: creates/s, LIST of 10k objects, and watch fan-out to 100 watchers, each
 * against a raw Deno KV baseline measured in the same run on the same disk.
 *
 *   deno task bench:run bench/apiserver_bench.ts [--creates 3000] [--concurrency 32]
 *     [--objects 10000] [--watchers 100] [--events 300]
 *
 * - creates/s: ConfigMaps POSTed over HTTPS (one HTTP/2 client, `concurrency` in flight) vs raw
 *   `kv.set` of the same JSON bytes with the same concurrency.
 * - list: GET of `objects` ConfigMaps (one JSON response) vs `kv.list` of the same number of
 *   values decoded and parsed.
 * - watch fan-out: `watchers` HTTPS watch streams, `events` writes, time until every watcher has
 *   every event; vs `watchers` `kv.watch` calls on one key with `events` sequential sets, until
 *   every watcher saw the last value. Reported as delivered events/s (writes × watchers / time).
 * Ratios are API/raw: the share of raw KV speed the full API path (TLS, HTTP, JSON, validation,
 * change log, RV) keeps.
 */
import { parseArgs } from "node:util";
import { startEmbeddedApi } from "../apiserver/mod.ts";
import { setLogLevel } from "../lib/log.ts";
import { printTable, writeResult } from "./lib/report.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    creates: { type: "string", default: "3000" },
    concurrency: { type: "string", default: "32" },
    objects: { type: "string", default: "10000" },
    watchers: { type: "string", default: "100" },
    events: { type: "string", default: "300" },
  },
});
const CREATES = Number(args.creates);
const CONC = Number(args.concurrency);
const OBJECTS = Number(args.objects);
const WATCHERS = Number(args.watchers);
const EVENTS = Number(args.events);
const ROUNDS = 5;

setLogLevel("warn");
const enc = new TextEncoder();

function configMap(name: string): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, labels: { app: "bench", shard: String(name.length % 7) } },
    data: { key: "value-" + name, payload: "x".repeat(200) },
  };
}

async function pool(n: number, conc: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(conc, n) }, worker));
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const dir = await Deno.makeTempDir({ prefix: "edgecloud-apibench-" });
const api = await startEmbeddedApi({ dataDir: `${dir}/api`, port: 0 });
const client = Deno.createHttpClient({ caCerts: [api.caPem] });
const headers = { authorization: `Bearer ${api.token}`, "content-type": "application/json" };
const kv = await Deno.openKv(`${dir}/raw.kv`);

async function post(path: string, body: unknown): Promise<void> {
  const res = await fetch(`${api.url}${path}`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
    client,
  });
  await res.body?.cancel();
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status}`);
}

try {
  // Warm up both paths (JIT, TLS session, KV file).
  await post("/api/v1/namespaces", { metadata: { name: "bench" } });
  await post("/api/v1/namespaces", { metadata: { name: "list" } });
  await pool(200, CONC, (i) => post("/api/v1/namespaces/bench/configmaps", configMap(`warm-${i}`)));
  await pool(200, CONC, async (i) => {
    await kv.set(["warm", i], enc.encode(JSON.stringify(configMap(`warm-${i}`))));
  });

  // 1. creates/s: alternating rounds (API, raw, API, raw, ...) so load drift on a shared machine
  // hits both sides; the median round of each is reported.
  const apiRounds: number[] = [], rawRounds: number[] = [];
  const per = Math.ceil(CREATES / ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    apiRounds.push(
      await timed(() =>
        pool(
          per,
          CONC,
          (i) => post("/api/v1/namespaces/bench/configmaps", configMap(`c-${r}-${i}`)),
        )
      ),
    );
    rawRounds.push(
      await timed(() =>
        pool(per, CONC, async (i) => {
          await kv.set(
            ["raw", "configmaps", "bench", `c-${r}-${i}`],
            enc.encode(JSON.stringify(configMap(`c-${r}-${i}`))),
          );
        })
      ),
    );
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const apiCreateMs = median(apiRounds) * ROUNDS;
  const rawCreateMs = median(rawRounds) * ROUNDS;
  const apiCreates = (per * ROUNDS) / (apiCreateMs / 1000);
  const rawCreates = (per * ROUNDS) / (rawCreateMs / 1000);

  // 2. LIST of OBJECTS objects
  await pool(
    OBJECTS,
    CONC * 2,
    (i) => post("/api/v1/namespaces/list/configmaps", configMap(`l-${String(i).padStart(6, "0")}`)),
  );
  for (let i = 0; i < OBJECTS; i += 500) {
    const op = kv.atomic();
    for (let j = i; j < Math.min(OBJECTS, i + 500); j++) {
      op.set(["rawlist", j], enc.encode(JSON.stringify(configMap(`l-${j}`))));
    }
    await op.commit();
  }
  const listRounds = 5;
  let apiListMs = Infinity, rawListMs = Infinity;
  for (let r = 0; r < listRounds; r++) {
    apiListMs = Math.min(
      apiListMs,
      await timed(async () => {
        const res = await fetch(`${api.url}/api/v1/namespaces/list/configmaps`, {
          headers,
          client,
        });
        const body = await res.json();
        if (body.items.length !== OBJECTS) throw new Error(`list returned ${body.items.length}`);
      }),
    );
    rawListMs = Math.min(
      rawListMs,
      await timed(async () => {
        const dec = new TextDecoder();
        const items: unknown[] = [];
        for await (const e of kv.list<Uint8Array>({ prefix: ["rawlist"] })) {
          items.push(JSON.parse(dec.decode(e.value)));
        }
        if (items.length !== OBJECTS) throw new Error(`raw list returned ${items.length}`);
      }),
    );
  }

  // 3. watch fan-out
  await post("/api/v1/namespaces", { metadata: { name: "watch" } });
  const readers: ReadableStreamDefaultReader<string>[] = [];
  const counts = new Array(WATCHERS).fill(0);
  const allSeen = Promise.withResolvers<void>();
  let done = 0;
  for (let w = 0; w < WATCHERS; w++) {
    const res = await fetch(
      `${api.url}/api/v1/namespaces/watch/configmaps?watch=1&resourceVersion=0`,
      { headers, client },
    );
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    readers.push(reader);
    (async () => {
      let buf = "";
      for (;;) {
        const { value, done: end } = await reader.read().catch(() => ({
          value: undefined,
          done: true,
        }));
        if (end) return;
        buf += value;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          buf = buf.slice(nl + 1);
          if (++counts[w] === EVENTS && ++done === WATCHERS) allSeen.resolve();
        }
      }
    })();
  }
  const apiWatchMs = await timed(async () => {
    await pool(
      EVENTS,
      CONC,
      (i) => post("/api/v1/namespaces/watch/configmaps", configMap(`w-${i}`)),
    );
    await allSeen.promise;
  });
  for (const r of readers) await r.cancel().catch(() => {});

  const rawWatchMs = await timed(async () => {
    const key = ["rawwatch"];
    await kv.set(key, -1);
    const streams = Array.from({ length: WATCHERS }, () => kv.watch([key]));
    const finished = streams.map(async (s) => {
      for await (const [e] of s) if (e.value === EVENTS - 1) break;
    });
    for (let i = 0; i < EVENTS; i++) await kv.set(key, i);
    await Promise.all(finished);
  });
  const apiFan = (EVENTS * WATCHERS) / (apiWatchMs / 1000);
  const rawFan = (EVENTS * WATCHERS) / (rawWatchMs / 1000);

  const table: (string | number)[][] = [
    ["measure", "embedded API", "raw Deno KV", "ratio API/raw"],
    [
      `creates/s (median of ${ROUNDS} alternating rounds)`,
      apiCreates.toFixed(0),
      rawCreates.toFixed(0),
      (apiCreates / rawCreates).toFixed(2),
    ],
    [
      `list ${OBJECTS} (ms, best of ${listRounds})`,
      apiListMs.toFixed(1),
      rawListMs.toFixed(1),
      (rawListMs / apiListMs).toFixed(2),
    ],
    [
      `watch fan-out ${WATCHERS}×${EVENTS} (events/s)`,
      apiFan.toFixed(0),
      rawFan.toFixed(0),
      (apiFan / rawFan).toFixed(2),
    ],
  ];
  console.log();
  printTable(table);
  console.log(
    "\nratio > 1 means the API path is faster than the raw KV baseline (for list: raw ms / API ms).",
  );
  await writeResult({
    scenario: "apiserver",
    command: `deno task bench:run bench/apiserver_bench.ts ${Deno.args.join(" ")}`.trim(),
    headline: {
      createsPerSec: Math.round(apiCreates),
      createsRatio: Number((apiCreates / rawCreates).toFixed(3)),
      list10kMs: Number(apiListMs.toFixed(1)),
      listRatio: Number((rawListMs / apiListMs).toFixed(3)),
      watchEventsPerSec: Math.round(apiFan),
      watchRatio: Number((apiFan / rawFan).toFixed(3)),
    },
    table,
    targets: [],
    details: {
      creates: CREATES,
      concurrency: CONC,
      objects: OBJECTS,
      watchers: WATCHERS,
      events: EVENTS,
      rawCreates,
      rawListMs,
      rawFan,
    },
  });
} finally {
  client.close();
  kv.close();
  await api.close();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
