/**
 * Renders a config as cloudcore.yaml text.
 */
import { Document, isMap, isScalar } from "yaml";
import { EDGECLOUD_DEFAULT_DEVIATIONS, EDGECLOUD_EXTENSIONS } from "./types.ts";

/**
 * Renders `cfg` (a full config or a partial one such as `minConfig()`) as YAML in field order.
 * edgecloud's extension fields carry a `# edgecloud extension` comment, and fields whose default
 * differs from KubeEdge's say so. The output is YAML 1.1
 * safe (values like `on` or `yes` are quoted), because configs are read as YAML 1.1, like
 * cloudcore's go-yaml v2.
 */
export function renderConfig(cfg: object): string {
  const doc = new Document(cfg, { version: "1.1" });
  const comments: Array<[string, string]> = [
    ...EDGECLOUD_EXTENSIONS.map((path): [string, string] => [path, "edgecloud extension"]),
    ...Object.entries(EDGECLOUD_DEFAULT_DEVIATIONS),
  ];
  for (const [path, comment] of comments) {
    const parts = path.split(".");
    const parent = parts.length === 1 ? doc.contents : doc.getIn(parts.slice(0, -1), true);
    if (!isMap(parent)) continue;
    const last = parts[parts.length - 1];
    const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === last);
    if (pair && isScalar(pair.key)) pair.key.commentBefore = ` ${comment}`;
  }
  return doc.toString({ lineWidth: 0 });
}
