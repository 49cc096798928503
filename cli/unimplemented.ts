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
  if (m.cloudStream.enable) {
    out.push({
      section: "modules.cloudStream",
      effect: "kubectl logs/exec/attach/port-forward and metrics of edge pods are not served",
    });
    // cloudcore's iptables manager forwards the tunnel port cloudStream publishes; it runs by
    // default but has nothing to do without cloudStream, so it is only worth a word with it.
    if (m.iptablesManager.enable) {
      out.push({
        section: "modules.iptablesManager",
        effect: "no iptables rules forward the stream port to the tunnel",
      });
    }
  }
  if (m.router.enable) {
    out.push({ section: "modules.router", effect: "Rules and RuleEndpoints are not acted on" });
  }
  if (m.dynamicController.enable) {
    out.push({
      section: "modules.dynamicController",
      effect: "edge MetaServer list/watch requests are answered Rejected (503)",
    });
  }
  if (m.taskManager.enable) {
    out.push({
      section: "modules.taskManager",
      effect: "NodeUpgradeJob, ImagePrePullJob and ConfigUpdateJob are not acted on",
    });
  }
  return out;
}
