/**
 * cloudcore.yaml sections edgecloud validates but does not implement yet. An operator who turns
 * one on must hear at startup that it does nothing here, not find out later (docs/compatibility.md,
 * "Defaults and config sections").
 */
import type { CloudCoreConfig } from "../config/mod.ts";

/** One enabled section that edgecloud ignores, and what that means. */
export interface UnimplementedSection {
  /** The config path, e.g. `modules.cloudStream`. */
  section: string;
  /** What is missing because of it. */
  effect: string;
}

/** The enabled sections of `cfg` that edgecloud does not implement. */
export function unimplementedSections(cfg: CloudCoreConfig): UnimplementedSection[] {
  const m = cfg.modules;
  const out: UnimplementedSection[] = [];
  // cloudcore's iptables manager forwards the kubelet port nodes announce to the stream server,
  // for an external kube-apiserver; it has nothing to do without cloudStream or with the
  // embedded API (which reaches the tunnels in process).
  if (m.cloudStream.enable && m.iptablesManager.enable && cfg.kubeAPIConfig.kubeConfig) {
    out.push({
      section: "modules.iptablesManager",
      effect:
        "no iptables rules forward the nodes' kubelet port to the stream port: add the DNAT rule yourself (docs/cloudstream.md)",
    });
  }
  if (m.router.enable) {
    out.push({ section: "modules.router", effect: "Rules and RuleEndpoints are not acted on" });
  }
  if (m.taskManager.enable) {
    out.push({
      section: "modules.taskManager",
      effect: "NodeUpgradeJob, ImagePrePullJob and ConfigUpdateJob are not acted on",
    });
  }
  return out;
}
