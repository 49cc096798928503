/**
 * Denial of service through nesting (issue #17): deeply nested or unserializable bodies are
 * refused alone with a Status, and the API and its store keep serving. Each scenario runs in a
 * Worker under a deadline (dos_worker.ts, worker_guard.ts): before the fix the first one wedged the
 * event loop for good, which a timer in the same isolate could not report.
 */
import { runInWorker } from "./worker_guard.ts";

const WORKER = new URL("./dos_worker.ts", import.meta.url);

/** Runs one scenario of dos_worker.ts with a fresh temp dir. */
async function scenario(name: string, deadlineMs = 30_000): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "edgecloud-dos-" });
  try {
    await runInWorker(WORKER, name, dir, deadlineMs);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

Deno.test("dos: a 16 KB ConfigMap nested 8,000 arrays deep is a 400; the API keeps serving", async () => {
  await scenario("deepConfigMap");
});

Deno.test("dos: the same attack on a custom resource that keeps unknown fields is a 400", async () => {
  await scenario("deepCustomResource");
});

Deno.test("dos: store writes that cannot be serialized fail alone; the queue keeps moving", async () => {
  await scenario("storeUnserializable");
});

Deno.test("dos: YAML bodies nested too deep, through aliases or in a cycle are a 400", async () => {
  await scenario("yamlBodies");
});

Deno.test("dos: deep patches and patches whose result is too deep are a 400", async () => {
  await scenario("patches");
});
