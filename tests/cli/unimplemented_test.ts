import { assert, assertEquals } from "../assert.ts";
import { defaultConfig } from "../../config/mod.ts";
import { unimplementedSections } from "../../cli/unimplemented.ts";
import { RunningMain, writeTestConfig } from "./subprocess.ts";

Deno.test("unimplemented config sections: none by default, each enabled one named", () => {
  const cfg = defaultConfig();
  // KubeEdge's defaults (iptablesManager on, the rest off) are quiet: without cloudStream the
  // iptables manager has nothing to forward.
  assertEquals(unimplementedSections(cfg), []);
  cfg.modules.cloudStream.enable = true;
  cfg.modules.router.enable = true;
  cfg.modules.dynamicController.enable = true;
  cfg.modules.taskManager.enable = true;
  // cloudStream works; with the embedded API the iptables manager has nothing to forward.
  assertEquals(unimplementedSections(cfg).map((s) => s.section), [
    "modules.router",
    "modules.taskManager",
  ]);
  // With an external kube-apiserver it would forward the kubelet port to the stream server.
  cfg.kubeAPIConfig.kubeConfig = "/etc/kubeedge/kubeconfig";
  assertEquals(unimplementedSections(cfg).map((s) => s.section), [
    "modules.iptablesManager",
    "modules.router",
    "modules.taskManager",
  ]);
});

Deno.test("serve warns once per enabled but unimplemented section", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgecloud-unimpl-" });
  const config = await writeTestConfig(
    dir,
    "  router:\n    enable: true\n  dynamicController:\n    enable: true\n",
  );
  const hub = new RunningMain(["serve", "--config", config, "--data-dir", `${dir}/data`]);
  try {
    await hub.waitForLine("edgecloud ready");
    const warned = hub.lines.filter((l) => l.includes("is enabled but not implemented"))
      .map((l) => /config section (\S+)/.exec(l)![1]);
    assertEquals(warned, ["modules.router"]);
    // With the embedded API the control plane runs here (with a real cluster it stays off:
    // tests/peers/kube_apiserver_test.ts).
    assert(hub.lines.some((l) => l.includes("embedded control plane: its controllers run")));
  } finally {
    try {
      hub.child.kill("SIGTERM");
    } catch { /* already exited */ }
    await hub.finish();
    await Deno.remove(dir, { recursive: true });
  }
});
