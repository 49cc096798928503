/**
 * Runs one scenario of a worker module under a deadline, so that a hang fails the test.
 *
 * A denial-of-service bug can starve the event loop (an endless chain of microtasks), and then no
 * timer of the same isolate ever fires: the test would hang instead of failing. A Worker is an
 * isolate of its own that `terminate()` stops even in the middle of such a loop.
 *
 * The worker module answers `{scenario, arg}` messages with `{ok: true}` or
 * `{ok: false, error}` (see dos_worker.ts).
 */

/** What a scenario worker posts back. */
export interface ScenarioResult {
  ok: boolean;
  error?: string;
}

/** Runs `scenario` in a fresh worker of `module`; throws on failure or after `deadlineMs`. */
export async function runInWorker(
  module: URL,
  scenario: string,
  arg: unknown,
  deadlineMs: number,
): Promise<void> {
  const worker = new Worker(module, { type: "module" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const result = await new Promise<ScenarioResult>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<ScenarioResult>) => resolve(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`scenario ${scenario}: worker error: ${e.message}`));
      };
      timer = setTimeout(
        () => reject(new Error(`scenario ${scenario} hung: no answer within ${deadlineMs} ms`)),
        deadlineMs,
      );
      worker.postMessage({ scenario, arg });
    });
    if (!result.ok) throw new Error(`scenario ${scenario} failed: ${result.error}`);
  } finally {
    clearTimeout(timer);
    worker.terminate();
  }
}
