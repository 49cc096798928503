/**
 * `kubectl get` columns of the workload kinds in apiserver/workloads.ts, as kube-apiserver's
 * printers (`pkg/printers/internalversion/printers.go`) fill them. Name and Age are added by
 * table.ts; Age goes between the priority-0 columns below and the wide (priority 1) ones.
 */
import { isJsonObject, type JsonObject } from "./own.ts";
import type { KObject, ResourceDef } from "./resources.ts";
import { formatLabels, formatLabelSelector, type LabelSelector } from "../lib/mod.ts";

/** One column besides Name and Age (the shape of table.ts's columns). */
export interface WorkloadColumn {
  name: string;
  type: string;
  description: string;
  priority: number;
  value: (o: KObject) => unknown;
}

function obj(v: unknown): JsonObject {
  return isJsonObject(v) ? v : {};
}

function path(o: unknown, ...keys: string[]): unknown {
  let cur = o;
  for (const k of keys) cur = isJsonObject(cur) && Object.hasOwn(cur, k) ? cur[k] : undefined;
  return cur;
}

function int(v: unknown): number {
  return typeof v === "number" ? v : 0;
}

/** apimachinery `duration.HumanDuration`, which kubectl's duration and age cells use. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    return hours % 24 === 0 ? `${hours / 24}d` : `${Math.trunc(hours / 24)}d${hours % 24}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.trunc(hours / 24) % 365;
    const years = Math.trunc(hours / 24 / 365);
    return days === 0 ? `${years}y` : `${years}y${days}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

function since(ts: unknown, now: number): string {
  return typeof ts === "string" ? humanDuration(now - Date.parse(ts)) : "<unknown>";
}

function col(
  name: string,
  type: string,
  value: (o: KObject) => unknown,
  priority = 0,
  description = name,
): WorkloadColumn {
  return { name, type, description, priority, value };
}

/** Containers and Images (wide) of the pod template at `template`. */
function containerCols(template: (o: KObject) => unknown): WorkloadColumn[] {
  const containers = (o: KObject) => {
    const list = path(template(o), "spec", "containers");
    return Array.isArray(list) ? list.map(obj) : [];
  };
  return [
    col(
      "Containers",
      "string",
      (o) => containers(o).map((c) => String(c.name ?? "")).join(","),
      1,
      "Names of each container in the template.",
    ),
    col(
      "Images",
      "string",
      (o) => containers(o).map((c) => String(c.image ?? "")).join(","),
      1,
      "Images referenced by each container in the template.",
    ),
  ];
}

function selectorCol(selector: (o: KObject) => unknown): WorkloadColumn {
  return col(
    "Selector",
    "string",
    (o) => formatLabelSelector(selector(o) as LabelSelector | undefined),
    1,
  );
}

function hasCondition(o: KObject, type: string): boolean {
  const conds = path(o, "status", "conditions");
  return Array.isArray(conds) &&
    conds.some((c) => obj(c).type === type && obj(c).status === "True");
}

function jobStatus(o: KObject): string {
  if (hasCondition(o, "Complete")) return "Complete";
  if (hasCondition(o, "Failed")) return "Failed";
  if (o.metadata?.deletionTimestamp) return "Terminating";
  if (hasCondition(o, "Suspended")) return "Suspended";
  if (hasCondition(o, "FailureTarget")) return "FailureTarget";
  return "Running";
}

function jobCompletions(o: KObject): string {
  const succeeded = int(path(o, "status", "succeeded"));
  const completions = path(o, "spec", "completions");
  if (typeof completions === "number") return `${succeeded}/${completions}`;
  const parallelism = int(path(o, "spec", "parallelism"));
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

function jobDuration(o: KObject, now: number): string {
  const start = path(o, "status", "startTime");
  if (typeof start !== "string") return "";
  const end = path(o, "status", "completionTime");
  return humanDuration((typeof end === "string" ? Date.parse(end) : now) - Date.parse(start));
}

function controllerOf(o: KObject): string {
  const ref = (o.metadata?.ownerReferences ?? []).find((r) =>
    (r as Record<string, unknown>).controller === true
  );
  if (!ref) return "<none>";
  const group = ref.apiVersion.includes("/") ? ref.apiVersion.split("/")[0] : "";
  return `${ref.kind.toLowerCase()}${group ? `.${group}` : ""}/${ref.name}`;
}

/** The columns of `def` besides Name and Age, or undefined when it is not one of these kinds. */
export function workloadColumns(def: ResourceDef, now = Date.now()): WorkloadColumn[] | undefined {
  if (!def.builtin) return undefined;
  const template = (o: KObject) => path(o, "spec", "template");
  switch (`${def.resource}.${def.group}`) {
    case "deployments.apps":
      return [
        col(
          "Ready",
          "string",
          (o) => `${int(path(o, "status", "readyReplicas"))}/${int(path(o, "spec", "replicas"))}`,
        ),
        col("Up-to-date", "integer", (o) => int(path(o, "status", "updatedReplicas"))),
        col("Available", "integer", (o) => int(path(o, "status", "availableReplicas"))),
        ...containerCols(template),
        selectorCol((o) => path(o, "spec", "selector")),
      ];
    case "replicasets.apps":
      return [
        col("Desired", "integer", (o) => int(path(o, "spec", "replicas"))),
        col("Current", "integer", (o) => int(path(o, "status", "replicas"))),
        col("Ready", "integer", (o) => int(path(o, "status", "readyReplicas"))),
        ...containerCols(template),
        selectorCol((o) => path(o, "spec", "selector")),
      ];
    case "daemonsets.apps":
      return [
        col("Desired", "integer", (o) => int(path(o, "status", "desiredNumberScheduled"))),
        col("Current", "integer", (o) => int(path(o, "status", "currentNumberScheduled"))),
        col("Ready", "integer", (o) => int(path(o, "status", "numberReady"))),
        col("Up-to-date", "integer", (o) => int(path(o, "status", "updatedNumberScheduled"))),
        col("Available", "integer", (o) => int(path(o, "status", "numberAvailable"))),
        col(
          "Node Selector",
          "string",
          (o) =>
            formatLabels(
              path(o, "spec", "template", "spec", "nodeSelector") as Record<string, string>,
            ),
        ),
        ...containerCols(template),
        selectorCol((o) => path(o, "spec", "selector")),
      ];
    case "statefulsets.apps":
      return [
        col(
          "Ready",
          "string",
          (o) => `${int(path(o, "status", "readyReplicas"))}/${int(path(o, "spec", "replicas"))}`,
        ),
        ...containerCols(template),
      ];
    case "controllerrevisions.apps":
      return [
        col("Controller", "string", controllerOf),
        col("Revision", "string", (o) => int(o.revision)),
      ];
    case "jobs.batch":
      return [
        col("Status", "string", jobStatus),
        col("Completions", "string", jobCompletions),
        col("Duration", "string", (o) => jobDuration(o, now)),
        ...containerCols(template),
        selectorCol((o) => path(o, "spec", "selector")),
      ];
    case "cronjobs.batch": {
      const jobSpec = (o: KObject) => path(o, "spec", "jobTemplate", "spec");
      return [
        col("Schedule", "string", (o) => path(o, "spec", "schedule") ?? ""),
        col("Timezone", "string", (o) => path(o, "spec", "timeZone") ?? "<none>"),
        col("Suspend", "boolean", (o) => {
          // printBoolPtr: the cell is text even though the column is typed boolean.
          const v = path(o, "spec", "suspend");
          return typeof v === "boolean" ? (v ? "True" : "False") : "<unset>";
        }),
        col("Active", "integer", (o) => {
          const active = path(o, "status", "active");
          return Array.isArray(active) ? active.length : 0;
        }),
        col("Last Schedule", "string", (o) => {
          const t = path(o, "status", "lastScheduleTime");
          return typeof t === "string" ? since(t, now) : "<none>";
        }),
        ...containerCols((o) => path(jobSpec(o), "template")),
        selectorCol((o) => path(jobSpec(o), "selector")),
      ];
    }
  }
  return undefined;
}
