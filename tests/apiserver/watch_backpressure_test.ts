/**
 * Watch back-pressure (issue #17): a watch whose client never reads is ended once its unread
 * events pass the bound, and its buffer is released; clients that read get every event.
 */
import {
  DEFAULT_WATCH_BUFFER_BYTES,
  type EmbeddedApi,
  type EmbeddedApiOptions,
  startEmbeddedApi,
} from "../../apiserver/mod.ts";
import { setLogSink } from "../../lib/log.ts";
import { assert, assertEquals } from "../assert.ts";
import { rawWatch } from "./helpers.ts";

const CM = "/api/v1/namespaces/default/configmaps";
const PATCHES = 300;
const BLOB = 80 * 1024;

/** An embedded API in a fresh temp dir, with the warn lines it logs. */
async function start(extra: Partial<EmbeddedApiOptions> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "edgecloud-watch-bp-" });
  const api = await startEmbeddedApi({ dataDir: dir, port: 0, hostname: "127.0.0.1", ...extra });
  const warnings: string[] = [];
  const previous = setLogSink((level, line) => {
    if (level === "warn") warnings.push(line);
  });
  return {
    api,
    warnings,
    async dispose() {
      setLogSink(previous);
      await api.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** One request through the in-process handler. */
function call(api: EmbeddedApi, method: string, path: string, body?: unknown, type?: string) {
  return api.handle(
    new Request(`${api.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${api.token}`,
        "content-type": type ?? "application/json",
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
}

/** Creates ConfigMap `name` (with `blob` as data when given); returns its resourceVersion. */
async function createConfigMap(api: EmbeddedApi, name: string, blob?: string): Promise<string> {
  const res = await call(api, "POST", CM, { metadata: { name }, data: blob ? { blob } : {} });
  assertEquals(res.status, 201);
  return (await res.json()).metadata.resourceVersion;
}

/** PATCHes `name` `count` times with an 80 KiB value; returns the resourceVersions, in order. */
async function patchMany(api: EmbeddedApi, name: string, count = PATCHES): Promise<string[]> {
  const rvs: string[] = [];
  for (let i = 0; i < count; i++) {
    const blob = `${i}:`.padEnd(BLOB, String.fromCharCode(97 + i % 26));
    const res = await call(
      api,
      "PATCH",
      `${CM}/${name}`,
      { data: { blob } },
      "application/merge-patch+json",
    );
    assertEquals(res.status, 200);
    rvs.push((await res.json()).metadata.resourceVersion);
  }
  return rvs;
}

/** One watch event as sent. */
interface WatchEvent {
  type: string;
  object: { metadata: { name?: string; resourceVersion: string; annotations?: unknown } };
}

/** The events of a watch body; `return()` cancels it. */
async function* lines(body: ReadableStream<Uint8Array>): AsyncGenerator<WatchEvent> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        yield JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    }
  } finally {
    await reader.cancel();
  }
}

/**
 * Reads a watch body until it ends, failing instead of blocking if the event with resourceVersion
 * `lastRv` arrives (then the watch was never ended). Returns the resourceVersions read.
 */
async function readUntilEnd(body: ReadableStream<Uint8Array>, lastRv: string): Promise<string[]> {
  const rvs: string[] = [];
  for await (const ev of lines(body)) {
    rvs.push(ev.object.metadata.resourceVersion);
    if (rvs.at(-1) === lastRv) {
      throw new Error(`the stalled watch was not ended: it still had all ${rvs.length} events`);
    }
  }
  return rvs;
}

Deno.test("a watch that never reads is ended at the bound and its buffer released (in-process, default bound)", async () => {
  const { api, warnings, dispose } = await start();
  try {
    const rv = await createConfigMap(api, "big");
    const stalled = await call(api, "GET", `${CM}?watch=1&resourceVersion=${rv}`);
    assertEquals(stalled.status, 200);
    const rvs = await patchMany(api, "big");

    // Nothing was read, so nothing is left: the stream ends at once.
    assertEquals(await readUntilEnd(stalled.body!, rvs.at(-1)!), []);
    const stats = api.watchStats();
    assertEquals(stats.slowWatchesEnded, 1);
    assert(
      stats.peakBufferedBytes <= DEFAULT_WATCH_BUFFER_BYTES &&
        stats.peakBufferedBytes > DEFAULT_WATCH_BUFFER_BYTES - 2 * BLOB,
      `peak ${stats.peakBufferedBytes} should be just under ${DEFAULT_WATCH_BUFFER_BYTES}`,
    );
    // Released: no bytes held, no open watch (store subscription and WatchSet entry gone).
    assertEquals(stats.bufferedBytes, 0);
    assertEquals(stats.open, 0);
    assertEquals(warnings.length, 1);
    assert(/watch ended: client too slow resource=configmaps/.test(warnings[0]), warnings[0]);
  } finally {
    await dispose();
  }
});

Deno.test("a watch that never reads over HTTPS is ended once it is the bound behind", async () => {
  // Socket buffers take some megabytes before the server sees back-pressure; a 1 MiB bound keeps
  // the test independent of their size (24 MB are written).
  const bound = 1024 * 1024;
  const { api, dispose } = await start({ watchBufferBytes: bound });
  const client = Deno.createHttpClient({ caCerts: [api.caPem] });
  try {
    const rv = await createConfigMap(api, "big");
    const stalled = await fetch(`${api.url}${CM}?watch=1&resourceVersion=${rv}`, {
      headers: { authorization: `Bearer ${api.token}` },
      client,
    });
    assertEquals(stalled.status, 200);
    const rvs = await patchMany(api, "big");

    // What the sockets had taken still arrives, in order, then the stream ends.
    const got = await readUntilEnd(stalled.body!, rvs.at(-1)!);
    assertEquals(got, rvs.slice(0, got.length));
    const stats = api.watchStats();
    assertEquals(stats.slowWatchesEnded, 1);
    assert(stats.peakBufferedBytes <= bound, `peak ${stats.peakBufferedBytes} > ${bound}`);
    assertEquals(stats.bufferedBytes, 0);
    assertEquals(stats.open, 0);
  } finally {
    client.close();
    await dispose();
  }
});

Deno.test("a watch that reads gets every event in order under the same load, beside a stalled one", async () => {
  const { api, dispose } = await start();
  try {
    const rv = await createConfigMap(api, "big");
    const stalled = await call(api, "GET", `${CM}?watch=1&resourceVersion=${rv}`);
    const reading = await rawWatch(api, `${CM}?watch=1&resourceVersion=${rv}`);
    try {
      const received: { rv: string; head: string }[] = [];
      const reader = (async () => {
        while (received.length < PATCHES) {
          const ev = await reading.next();
          assertEquals(ev.type, "MODIFIED");
          const o = ev.object as { metadata: { resourceVersion: string }; data: { blob: string } };
          assertEquals(o.data.blob.length, BLOB);
          received.push({ rv: o.metadata.resourceVersion, head: o.data.blob.split(":")[0] });
        }
      })();
      const rvs = await patchMany(api, "big");
      await reader;
      assertEquals(received.map((r) => r.rv), rvs);
      assertEquals(received.map((r) => r.head), rvs.map((_, i) => String(i)));
      // Only the stalled watch was ended; the reading one is still open with nothing queued.
      const stats = api.watchStats();
      assertEquals(stats.slowWatchesEnded, 1);
      assertEquals(stats.open, 1);
      assertEquals(stats.bufferedBytes, 0);
    } finally {
      await reading.close();
      await stalled.body!.cancel();
    }
  } finally {
    await dispose();
  }
});

Deno.test("initial events and a change-log replay larger than the bound are sent in full", async () => {
  const bound = 256 * 1024;
  const { api, dispose } = await start({ watchBufferBytes: bound });
  try {
    const rv = await createConfigMap(api, "big");
    await patchMany(api, "big", 10); // 800 KiB of change log after `rv`
    for (let i = 0; i < 5; i++) await createConfigMap(api, `cm-${i}`, "x".repeat(BLOB));

    // Resume from `rv`: the replay (15 events, 1.2 MiB) is over the bound but not cut off.
    const replay = await call(api, "GET", `${CM}?watch=1&resourceVersion=${rv}`);
    const replayed = lines(replay.body!);
    const types = [];
    for (let i = 0; i < 15; i++) types.push((await replayed.next()).value!.type);
    assertEquals(types, [...Array(10).fill("MODIFIED"), ...Array(5).fill("ADDED")]);
    await replayed.return(undefined);

    // Initial state (6 objects, 480 KiB), the end-of-initial-events bookmark, then live events.
    const listRv = (await (await call(api, "GET", CM)).json()).metadata.resourceVersion;
    const initial = await call(
      api,
      "GET",
      `${CM}?watch=1&sendInitialEvents=true&allowWatchBookmarks=true` +
        `&resourceVersionMatch=NotOlderThan`,
    );
    const events = lines(initial.body!);
    const names = [];
    for (let i = 0; i < 6; i++) {
      const ev = (await events.next()).value!;
      assertEquals(ev.type, "ADDED");
      names.push(ev.object.metadata.name);
    }
    assertEquals(names.sort(), ["big", "cm-0", "cm-1", "cm-2", "cm-3", "cm-4"]);
    const mark = (await events.next()).value!;
    assertEquals(mark.type, "BOOKMARK");
    assertEquals(mark.object.metadata.resourceVersion, listRv);
    assertEquals(mark.object.metadata.annotations, { "k8s.io/initial-events-end": "true" });
    const live = await patchMany(api, "big", 2);
    for (const want of live) {
      assertEquals((await events.next()).value!.object.metadata.resourceVersion, want);
    }
    await events.return(undefined);
    assertEquals(api.watchStats().slowWatchesEnded, 0);
    assertEquals(api.watchStats().open, 0);
  } finally {
    await dispose();
  }
});
