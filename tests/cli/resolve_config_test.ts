import { assertEquals, assertMatch, assertRejects } from "../assert.ts";
import { parseCliArgs } from "../../cli/args.ts";
import { resolveConfig } from "../../cli/resolve_config.ts";
import { ConfigError } from "../../config/error.ts";
import { setLogSink } from "../../lib/log.ts";

const opts = { hostAddresses: ["192.0.2.1"], defaultPath: "/nonexistent/cloudcore.yaml" };

async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const previous = setLogSink(() => {});
  try {
    return await fn();
  } finally {
    setLogSink(previous);
  }
}

Deno.test("no --config and no default file: the built-in defaults", async () => {
  const r = await resolveConfig(parseCliArgs([]), opts);
  assertEquals(r.file, undefined);
  assertEquals(r.config.modules.cloudHub.advertiseAddress, ["192.0.2.1"]);
});

Deno.test("cloudcore's default path is used when it exists", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/cloudcore.yaml`;
    await Deno.writeTextFile(path, "modules:\n  cloudHub:\n    nodeLimit: 10\n");
    const r = await quietly(() => resolveConfig(parseCliArgs([]), { ...opts, defaultPath: path }));
    assertEquals(r.file, path);
    assertEquals(r.config.modules.cloudHub.nodeLimit, 10);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("flags override the file; the config is adjusted to nodeLimit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/cloudcore.yaml`;
    const kubeconfig = `${dir}/kubeconfig`;
    await Deno.writeTextFile(kubeconfig, "apiVersion: v1\n");
    await Deno.writeTextFile(
      path,
      "kubeAPIConfig: {qps: 100, burst: 200, kubeConfig: /nonexistent}\napiServer: {port: 7000}\nmodules:\n  cloudHub: {nodeLimit: 1000}\n",
    );
    const r = await quietly(() =>
      resolveConfig(
        parseCliArgs(["--config", path, "--kubeconfig", kubeconfig, "--api-port", "0"]),
        opts,
      )
    );
    assertEquals(r.config.kubeAPIConfig.kubeConfig, kubeconfig);
    assertEquals(r.config.apiServer.port, 0);
    assertEquals(r.config.kubeAPIConfig.qps, 5000);
    assertEquals(r.config.kubeAPIConfig.burst, 10000);
    assertEquals(r.config.modules.edgeController.load.queryNodeWorkers, 1000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a relative --kubeconfig is made absolute", async () => {
  const e = await assertRejects(
    () => resolveConfig(parseCliArgs(["--kubeconfig", "no/such/kubeconfig"]), opts),
    ConfigError,
  );
  assertEquals(e.file, "--kubeconfig");
  assertEquals(e.value, `${Deno.cwd()}/no/such/kubeconfig`);
  assertMatch(e.message, /^--kubeconfig: kubeAPIConfig\.kubeConfig: ".*" does not exist$/);
});

Deno.test("errors in the file name the file even when other flags are given", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/cloudcore.yaml`;
    await Deno.writeTextFile(path, "kubeAPIConfig: {kubeConfig: /nonexistent}\n");
    const e = await assertRejects(
      () => resolveConfig(parseCliArgs(["--config", path, "--api-port", "1"]), opts),
      ConfigError,
    );
    assertEquals(e.message, `${path}: kubeAPIConfig.kubeConfig: "/nonexistent" does not exist`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
