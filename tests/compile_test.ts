/**
 * compile.sh: argument handling, the exact `deno compile` commands (--dry-run) and the one-line
 * diagnosis when Deno's runtime (denort) cannot be had. Building a real binary needs denort,
 * which this machine cannot download; see docs/deploy.md.
 */
import { fileURLToPath } from "node:url";
import { COMPILE_INCLUDES, permissionFlags, SYSTEM_OPTIONS } from "../permissions.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url)).replace(/\/$/, "");
const TARGETS = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function compileSh(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const out = await new Deno.Command("bash", {
    args: [`${ROOT}/compile.sh`, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { DENO: Deno.execPath(), NO_COLOR: "1", ...env },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("compile.sh --help prints usage and exits 0", async () => {
  const r = await compileSh(["--help"]);
  assertEquals(r.code, 0);
  assertStringIncludes(r.stdout, "usage: compile.sh");
  assertStringIncludes(r.stdout, "--dry-run");
});

Deno.test("compile.sh rejects bad arguments with usage and exit 2", async () => {
  for (
    const args of [["--bogus"], ["--target"], ["--target", "x86_64-pc-windows-msvc"], ["--out"], [
      "--api-server",
    ]]
  ) {
    const r = await compileSh(args);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assertEquals(r.stdout, "");
    assert(r.stderr.startsWith("compile.sh: "), r.stderr);
  }
  const unknown = await compileSh(["--bogus"]);
  assertStringIncludes(unknown.stderr, "unknown argument: --bogus");
  assertStringIncludes(unknown.stderr, "usage: compile.sh");
});

Deno.test("compile.sh --dry-run prints one deno compile per target with permissions.ts's flags", async () => {
  const r = await compileSh(["--dry-run"]);
  assertEquals(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assertEquals(lines.length, TARGETS.length);
  const includes = COMPILE_INCLUDES.flatMap((file) => ["--include", file]);
  TARGETS.forEach((target, i) => {
    const words = lines[i].split(" ");
    // bintrees' test data is excluded where it is cached (see compile.sh).
    const excludes = words.flatMap((w, j) =>
      words[j - 1] === "--exclude" && /\/bintrees\/[^/]+\/test$/.test(w) ? ["--exclude", w] : []
    );
    assertEquals(words, [
      Deno.execPath(),
      "compile",
      ...permissionFlags(SYSTEM_OPTIONS),
      ...includes,
      "--exclude-unused-npm",
      ...excludes,
      "--target",
      target,
      "--output",
      `dist/edgecloud-${target}`,
      "main.ts",
    ]);
  });
});

Deno.test("compile.sh --dry-run honours --target, --out and --api-server", async () => {
  const r = await compileSh([
    "--dry-run",
    "--target",
    "aarch64-unknown-linux-gnu",
    "--out",
    "/tmp/out",
    "--api-server",
    "10.0.0.1:6443",
  ]);
  assertEquals(r.code, 0, r.stderr);
  const words = r.stdout.trim().split(" ");
  const flags = permissionFlags({ ...SYSTEM_OPTIONS, apiServerHosts: ["10.0.0.1:6443"] });
  assertEquals(words.slice(2, 2 + flags.length), flags);
  assertEquals(words.slice(-5), [
    "--target",
    "aarch64-unknown-linux-gnu",
    "--output",
    "/tmp/out/edgecloud-aarch64-unknown-linux-gnu",
    "main.ts",
  ]);
});

Deno.test("compile.sh: a DENORT_BIN that is not a file → one line, exit 3", async () => {
  const r = await compileSh(["--target", TARGETS[0], "--out", "/nonexistent/out"], {
    DENORT_BIN: "/nonexistent/denort",
  });
  assertEquals(r.code, 3);
  assertEquals(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  assertStringIncludes(r.stderr, "DENORT_BIN=/nonexistent/denort is not a file");
});

function denortCached(target: string): boolean {
  const home = Deno.env.get("HOME") ?? "/root";
  const dir = Deno.env.get("DENO_DIR") ?? `${home}/.cache/deno`;
  try {
    Deno.statSync(`${dir}/dl/release/v${Deno.version.deno}/denort-${target}.zip`);
    return true;
  } catch {
    return false;
  }
}

Deno.test("compile.sh: denort cannot be downloaded and DENORT_BIN is unset → one line, exit 3", async () => {
  const target = TARGETS[1];
  if (denortCached(target)) {
    console.log(`skipped: denort for ${target} is cached, so compile.sh would really build`);
    return;
  }
  const out = await Deno.makeTempDir();
  try {
    // A proxy that refuses connections makes dl.deno.land unreachable even where it is not.
    const r = await compileSh(["--target", target, "--out", out], {
      HTTPS_PROXY: "http://127.0.0.1:1",
      https_proxy: "http://127.0.0.1:1",
    });
    assertEquals(r.code, 3, r.stderr);
    assertEquals(
      r.stderr,
      `compile.sh: deno compile needs the Deno runtime (denort) for ${target}: ` +
        "dl.deno.land is unreachable and DENORT_BIN is not set\n",
    );
    assertEquals([...Deno.readDirSync(out)], []);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

function hostTarget(): string | undefined {
  return { x86_64: TARGETS[0], aarch64: TARGETS[1] }[Deno.build.arch as string];
}

// The deno CLI is not a denort: a binary built on it ignores the embedded program. compile.sh
// still runs the whole build (module graph, flags, embedded npm packages), so this checks that
// main.ts compiles here, and that the smoke test catches the wrong runtime.
Deno.test("compile.sh builds main.ts and its smoke test rejects a DENORT_BIN that is not denort", async () => {
  const target = hostTarget();
  if (!target) {
    console.log(`skipped: no compile target for ${Deno.build.arch}`);
    return;
  }
  const out = await Deno.makeTempDir();
  try {
    const r = await compileSh(["--target", target, "--out", out], { DENORT_BIN: Deno.execPath() });
    assertEquals(r.code, 4, r.stderr);
    assertEquals(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assertStringIncludes(r.stderr, "does not run edgecloud");
    assertEquals([...Deno.readDirSync(out)], []);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("compile.sh on a machine with only Node: Deno from npx, as the README runs it", async () => {
  // PATH with the directories of node/npx and bash, and no deno in them.
  const dirs = new Set<string>();
  for (const tool of ["npx", "node", "bash", "sed", "mktemp"]) {
    const which = await new Deno.Command("bash", { args: ["-c", `command -v ${tool}`] }).output();
    const path = new TextDecoder().decode(which.stdout).trim();
    if (path) dirs.add(path.slice(0, path.lastIndexOf("/")));
  }
  for (const dir of dirs) {
    try {
      Deno.statSync(`${dir}/deno`);
      console.log(`skipped: ${dir} holds a deno, so this machine is not Node-only`);
      return;
    } catch { /* no deno there: what this test needs */ }
  }
  const out = await new Deno.Command("bash", {
    args: [`${ROOT}/compile.sh`, "--dry-run", "--target", TARGETS[0]],
    cwd: ROOT,
    clearEnv: true,
    env: { PATH: [...dirs].join(":"), HOME: Deno.env.get("HOME") ?? "/root", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assertEquals(out.code, 0, dec.decode(out.stderr));
  assert(dec.decode(out.stdout).startsWith("npx -y deno@2.9.6 compile "), dec.decode(out.stdout));
});
