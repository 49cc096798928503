/** Test helpers for the embedded API: start on port 0 in a temp dir, run kubectl, poll. */
import {
  type EmbeddedApi,
  type EmbeddedApiOptions,
  startEmbeddedApi,
} from "../../apiserver/mod.ts";
import { setLogLevel } from "../../lib/log.ts";
import { waitUntil } from "../wait.ts";

setLogLevel("warn");

/** An API plus its temp dir (removed by `close`). */
export interface TestApi extends EmbeddedApi {
  dir: string;
  /** Closes the API and removes its directory. */
  dispose(): Promise<void>;
}

/** Starts an embedded API on 127.0.0.1:0 in a fresh temp dir (or `dir`). */
export async function startTestApi(
  extra: Partial<EmbeddedApiOptions> & { dir?: string } = {},
): Promise<TestApi> {
  const dir = extra.dir ?? await Deno.makeTempDir({ prefix: "edgecloud-api-" });
  const api = await startEmbeddedApi({ dataDir: dir, port: 0, hostname: "127.0.0.1", ...extra });
  return Object.assign(Object.create(null), {
    url: api.url,
    port: api.port,
    kubeconfigPath: api.kubeconfigPath,
    kubeconfigYaml: api.kubeconfigYaml,
    caPem: api.caPem,
    token: api.token,
    dir,
    close: () => api.close(),
    endWatches: () => api.endWatches(),
    setNodeProxy: (p: Parameters<EmbeddedApi["setNodeProxy"]>[0]) => api.setNodeProxy(p),
    async dispose() {
      await api.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  }) as TestApi;
}

/** The result of one kubectl run. */
export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs real kubectl against the API; `stdin` is piped when given. */
export async function kubectl(
  api: EmbeddedApi,
  args: string[],
  stdin?: string,
): Promise<KubectlResult> {
  const cmd = new Deno.Command("kubectl", {
    args: ["--kubeconfig", api.kubeconfigPath, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { HOME: Deno.env.get("HOME") ?? "/tmp", KUBECACHEDIR: `${api.kubeconfigPath}.cache` },
  });
  const child = cmd.spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs kubectl and throws (with stderr) unless it exits 0. */
export async function kubectlOk(api: EmbeddedApi, args: string[], stdin?: string): Promise<string> {
  const r = await kubectl(api, args, stdin);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Polls `fn` until it returns a truthy value or the timeout passes. */
export function waitFor<T>(
  fn: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  return waitUntil(fn, what, { timeoutMs }) as Promise<T>;
}

/** A raw HTTPS request to the API with the admin token (or `token`). */
export async function rawRequest(
  api: EmbeddedApi,
  method: string,
  path: string,
  body?: string | Uint8Array<ArrayBuffer>,
  headers: Record<string, string> = {},
  token: string | null = api.token,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const client = Deno.createHttpClient({ caCerts: [api.caPem] });
  try {
    const res = await fetch(`${api.url}${path}`, {
      method,
      body,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        "content-type": "application/json",
        ...headers,
      },
      client,
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text);
    } catch {
      json = { raw: text };
    }
    return { status: res.status, json };
  } finally {
    client.close();
  }
}

/** Asserts that `text` matches `re`. */
export function assertMatch(text: string, re: RegExp, msg?: string): void {
  if (!re.test(text)) throw new Error(msg ?? `expected ${JSON.stringify(text)} to match ${re}`);
}

/** An open raw watch stream: read parsed events, then close. */
export interface RawWatch {
  next(): Promise<{ type: string; object: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** Opens a watch (GET with watch=1) as a raw HTTPS stream. */
export async function rawWatch(api: EmbeddedApi, path: string): Promise<RawWatch> {
  const client = Deno.createHttpClient({ caCerts: [api.caPem] });
  const res = await fetch(`${api.url}${path}`, {
    headers: { authorization: `Bearer ${api.token}` },
    client,
  });
  if (!res.body) throw new Error(`watch ${path}: no body (${res.status})`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  return {
    async next() {
      for (;;) {
        const nl = buf.indexOf("\n");
        if (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          return JSON.parse(line);
        }
        // Bounded: a missed event must fail the test, not hang the suite.
        let timer: ReturnType<typeof setTimeout> | undefined;
        const { value, done } = await Promise.race([
          reader.read(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`watch ${path}: no event within 20 s`)),
              20_000,
            );
          }),
        ]).finally(() => clearTimeout(timer));
        if (done) throw new Error("watch stream ended");
        buf += value;
      }
    },
    async close() {
      await reader.cancel().catch(() => {});
      client.close();
    },
  };
}
