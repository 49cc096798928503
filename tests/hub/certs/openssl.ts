/** Test helper: run the real `openssl` binary and temp-dir handling for the certs tests. */

/** Result of one openssl run. */
export interface OpensslResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `openssl <args>` to completion (optionally feeding stdin) and returns its output. */
export async function openssl(args: string[], stdin?: Uint8Array): Promise<OpensslResult> {
  const child = new Deno.Command("openssl", {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(stdin);
    await writer.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Like {@link openssl} but throws on a non-zero exit. */
export async function opensslOk(args: string[], stdin?: Uint8Array): Promise<string> {
  const r = await openssl(args, stdin);
  if (r.code !== 0) throw new Error(`openssl ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Runs `fn` with a fresh temp dir that is removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "edgecloud-certs-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
