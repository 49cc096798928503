/**
 * deploy/edgecloud.service and deploy/install.sh: the unit passes `systemd-analyze verify`, its
 * paths agree with the permissions baked into the binary (permissions.ts, profile "system"), and
 * install.sh stages, dry-runs and refuses as documented — without touching this machine.
 */
import { fileURLToPath } from "node:url";
import { notifyBindPath, SYSTEM_OPTIONS } from "../../permissions.ts";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");
const UNIT = `${ROOT}/deploy/edgecloud.service`;
const INSTALL = `${ROOT}/deploy/install.sh`;

/** `[Section] Key=Value` pairs of a unit file; repeated keys keep every value. */
function parseUnit(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = header[1];
      continue;
    }
    const eq = line.indexOf("=");
    const key = `${section}.${line.slice(0, eq)}`;
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const out = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env,
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A stand-in for the compiled binary: answers --defaultconfig like edgecloud does. */
async function fakeBinary(dir: string): Promise<string> {
  const path = `${dir}/edgecloud-fake`;
  await Deno.writeTextFile(
    path,
    '#!/bin/sh\n[ "$1" = --defaultconfig ] && printf "apiVersion: cloudcore.config.kubeedge.io/v1alpha1\\nkind: CloudCore\\n"\n',
  );
  await Deno.chmod(path, 0o755);
  return path;
}

Deno.test("the unit: Type=notify, dedicated user, state dir, hardening, restart, file limit", async () => {
  const unit = parseUnit(await Deno.readTextFile(UNIT));
  const one = (key: string) => unit.get(key)?.at(-1);
  assertEquals(one("Service.Type"), "notify");
  assertEquals(one("Service.NotifyAccess"), "main");
  assertEquals(
    one("Service.ExecStart"),
    "/usr/local/bin/edgecloud serve --config /etc/kubeedge/config/cloudcore.yaml " +
      "--data-dir /var/lib/edgecloud",
  );
  assertEquals(one("Service.User"), "edgecloud");
  assertEquals(one("Service.StateDirectory"), "edgecloud");
  assertEquals(one("Service.NoNewPrivileges"), "yes");
  assertEquals(one("Service.ProtectSystem"), "strict");
  assertEquals(one("Service.ProtectHome"), "yes");
  assertEquals(one("Service.PrivateTmp"), "yes");
  assertEquals(one("Service.Restart"), "on-failure");
  assert(one("Service.RestartSec"));
  assertEquals(one("Service.WatchdogSec"), "30s"); // serve pings it (lib/watchdog.ts)
  assertEquals(one("Service.LimitNOFILE"), "1048576");
  assertEquals(one("Service.AmbientCapabilities"), "");
  assertEquals(one("Install.WantedBy"), "multi-user.target");
});

Deno.test("the unit's paths are the ones baked into the binary (permissions.ts system profile)", async () => {
  const unit = parseUnit(await Deno.readTextFile(UNIT));
  const exec = unit.get("Service.ExecStart")![0].split(" ");
  const arg = (flag: string) => exec[exec.indexOf(flag) + 1];
  assertEquals(arg("--config"), SYSTEM_OPTIONS.configPath);
  assertEquals(arg("--data-dir"), SYSTEM_OPTIONS.dataDir);
  assertEquals(`/var/lib/${unit.get("Service.StateDirectory")![0]}`, SYSTEM_OPTIONS.dataDir);
  // Every writable path outside the StateDirectory is opened up by ReadWritePaths=.
  const socketDir = SYSTEM_OPTIONS.socketPath!.slice(
    0,
    SYSTEM_OPTIONS.socketPath!.lastIndexOf("/"),
  );
  const rw = (unit.get("Service.ReadWritePaths") ?? []).flatMap((v) => v.split(/\s+/))
    .map((p) => p.replace(/^-/, ""));
  assert(rw.includes(socketDir), `ReadWritePaths lacks ${socketDir}: ${rw}`);
  // The notify sender binds inside the data dir, which StateDirectory makes writable.
  assert(notifyBindPath(SYSTEM_OPTIONS.dataDir).startsWith(SYSTEM_OPTIONS.dataDir + "/"));
  assertEquals(SYSTEM_OPTIONS.notifySocket, "/run/systemd/notify");
});

async function hasSystemdAnalyze(): Promise<boolean> {
  try {
    return (await run("systemd-analyze", ["--version"])).code === 0;
  } catch {
    return false;
  }
}

Deno.test("systemd-analyze verify accepts the unit as install.sh installs it", async () => {
  if (!await hasSystemdAnalyze()) {
    console.log(
      "skipped: systemd-analyze not found (Debian package `systemd`; .ci/run installs it)",
    );
    return;
  }
  const dir = await Deno.makeTempDir();
  try {
    const root = `${dir}/root`;
    const staged = await run("bash", [INSTALL, "--binary", await fakeBinary(dir)], {
      DESTDIR: root,
    });
    assertEquals(staged.code, 0, staged.stderr);
    // verify resolves the unit's default dependencies (sysinit.target, ...) inside --root.
    await Deno.mkdir(`${root}/usr/lib/systemd`, { recursive: true });
    const copy = await run("cp", ["-r", "/usr/lib/systemd/system", `${root}/usr/lib/systemd/`]);
    assertEquals(copy.code, 0, copy.stderr);
    const r = await run("systemd-analyze", [
      "verify",
      `--root=${root}`,
      "/etc/systemd/system/edgecloud.service",
    ]);
    assertEquals(r.code, 0, r.stderr);
    // No warnings either (unknown keys, bad values only warn).
    assertEquals(r.stderr, "");

    // And verify does catch mistakes in this setup.
    await Deno.writeTextFile(`${root}/etc/systemd/system/edgecloud.service`, "NoSuchKey=1\n", {
      append: true,
    });
    const bad = await run("systemd-analyze", [
      "verify",
      `--root=${root}`,
      "/etc/systemd/system/edgecloud.service",
    ]);
    assertStringIncludes(bad.stderr, "NoSuchKey");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("install.sh with DESTDIR stages binary, unit, directories and a default config", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const root = `${dir}/root`;
    const r = await run("bash", [INSTALL, "--binary", await fakeBinary(dir)], { DESTDIR: root });
    assertEquals(r.code, 0, r.stderr);
    const mode = (p: string) => Deno.statSync(`${root}${p}`).mode! & 0o777;
    assertEquals(mode("/usr/local/bin/edgecloud"), 0o755);
    assertEquals(mode("/etc/systemd/system/edgecloud.service"), 0o644);
    assertEquals(
      await Deno.readTextFile(`${root}/etc/systemd/system/edgecloud.service`),
      await Deno.readTextFile(UNIT),
    );
    for (const d of ["/etc/kubeedge/config", "/etc/kubeedge/ca", "/etc/kubeedge/certs"]) {
      assertEquals(mode(d), 0o750, d);
    }
    assertEquals(mode("/var/lib/kubeedge"), 0o750);
    assertEquals(mode("/etc/kubeedge/config/cloudcore.yaml"), 0o640);
    assertStringIncludes(
      await Deno.readTextFile(`${root}/etc/kubeedge/config/cloudcore.yaml`),
      "kind: CloudCore",
    );

    // A second run keeps an edited config.
    await Deno.writeTextFile(`${root}/etc/kubeedge/config/cloudcore.yaml`, "# mine\n");
    const again = await run("bash", [INSTALL, "--binary", await fakeBinary(dir)], {
      DESTDIR: root,
    });
    assertEquals(again.code, 0, again.stderr);
    assertEquals(await Deno.readTextFile(`${root}/etc/kubeedge/config/cloudcore.yaml`), "# mine\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("install.sh --dry-run prints the system changes and makes none", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await run("bash", [INSTALL, "--binary", await fakeBinary(dir), "--dry-run"]);
    assertEquals(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n").filter((l) => l.startsWith("+ "));
    const has = (text: string) =>
      assert(lines.some((l) => l.includes(text)), `no "${text}" in:\n${r.stdout}`);
    has("install -D -m 0755");
    has("/usr/local/bin/edgecloud");
    has("/etc/systemd/system/edgecloud.service");
    has("install -d -m 0750 -o edgecloud -g edgecloud /var/lib/kubeedge");
    has("systemctl daemon-reload");
    has("systemctl enable --now edgecloud.service");
    const noStart = await run("bash", [
      INSTALL,
      "--binary",
      await fakeBinary(dir),
      "--dry-run",
      "--no-start",
    ]);
    assertStringIncludes(noStart.stdout, "+ systemctl enable edgecloud.service\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("install.sh refuses bad arguments, a missing binary and a checksum mismatch", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const unknown = await run("bash", [INSTALL, "--bogus"]);
    assertEquals(unknown.code, 2);
    assertStringIncludes(unknown.stderr, "unknown argument: --bogus");
    const missing = await run("bash", [INSTALL, "--binary", `${dir}/nope`, "--dry-run"]);
    assertEquals(missing.code, 1);
    assertStringIncludes(missing.stderr, "not found");
    const bin = await fakeBinary(dir);
    await Deno.writeTextFile(`${bin}.sha256`, `${"0".repeat(64)}  edgecloud-fake\n`);
    const mismatch = await run("bash", [INSTALL, "--binary", bin], { DESTDIR: `${dir}/root` });
    assertEquals(mismatch.code, 1);
    assertStringIncludes(mismatch.stderr, "does not match");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
