/**
 * `meta.k8s.io/v1 Table` output, which `kubectl get` asks for; columns follow kubectl's defaults
 * for the common built-in types and a CRD's additionalPrinterColumns otherwise.
 */
import { getOwn } from "./own.ts";
import type { KObject, ResourceDef } from "./resources.ts";
import { workloadColumns } from "./workload_tables.ts";
import { endpointColumns } from "./endpoint_tables.ts";

interface Column {
  name: string;
  type: string;
  format?: string;
  description: string;
  priority: number;
  value: (o: KObject) => unknown;
}

type Obj = Record<string, unknown>;

function get(o: unknown, path: string): unknown {
  let cur = o;
  for (const p of path.replace(/^\./, "").split(".")) cur = getOwn(cur, p);
  return cur;
}

/** Human age like kubectl: 5s, 3m, 2h, 4d. */
export function age(ts: unknown, now = Date.now()): string {
  if (typeof ts !== "string") return "<unknown>";
  const s = Math.max(0, Math.floor((now - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

const nameCol: Column = {
  name: "Name",
  type: "string",
  format: "name",
  description: "Name must be unique within a namespace.",
  priority: 0,
  value: (o) => o.metadata?.name ?? "",
};
const ageCol: Column = {
  name: "Age",
  type: "string",
  description:
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
  priority: 0,
  value: (o) => age(o.metadata?.creationTimestamp),
};

function col(name: string, value: (o: KObject) => unknown, priority = 0): Column {
  return { name, type: "string", description: name, priority, value };
}

function podReady(o: KObject): string {
  const spec = (o.spec ?? {}) as Obj;
  const statuses = (get(o, "status.containerStatuses") ?? []) as Obj[];
  const total = Array.isArray(spec.containers) ? spec.containers.length : 0;
  return `${statuses.filter((s) => s.ready === true).length}/${total}`;
}

function nodeStatus(o: KObject): string {
  const conds = (get(o, "status.conditions") ?? []) as Obj[];
  const ready = conds.find((c) => c.type === "Ready");
  let s = ready?.status === "True" ? "Ready" : ready ? "NotReady" : "Unknown";
  if (get(o, "spec.unschedulable") === true) s += ",SchedulingDisabled";
  return s;
}

function columnsFor(def: ResourceDef): Column[] {
  const workload = workloadColumns(def) ?? endpointColumns(def);
  if (workload) {
    const wide = workload.filter((c) => c.priority > 0);
    return [nameCol, ...workload.filter((c) => c.priority === 0), ageCol, ...wide];
  }
  if (def.builtin && def.group === "") {
    switch (def.resource) {
      case "pods":
        return [
          nameCol,
          col("Ready", podReady),
          col(
            "Status",
            (o) => o.metadata?.deletionTimestamp ? "Terminating" : get(o, "status.phase") ?? "",
          ),
          col("Restarts", (o) =>
            ((get(o, "status.containerStatuses") ?? []) as Obj[]).reduce(
              (n, s) => n + Number(s.restartCount ?? 0),
              0,
            )),
          ageCol,
          col("Node", (o) => get(o, "spec.nodeName") ?? "<none>", 1),
        ];
      case "nodes":
        return [
          nameCol,
          col("Status", nodeStatus),
          col("Roles", (o) => {
            const roles = Object.keys(o.metadata?.labels ?? {})
              .filter((k) => k.startsWith("node-role.kubernetes.io/"))
              .map((k) => k.slice("node-role.kubernetes.io/".length));
            return roles.length ? roles.join(",") : "<none>";
          }),
          ageCol,
          col("Version", (o) => get(o, "status.nodeInfo.kubeletVersion") ?? ""),
        ];
      case "namespaces":
        return [nameCol, col("Status", (o) => get(o, "status.phase") ?? ""), ageCol];
      case "events": {
        // kube-apiserver's event printer: Name only in the wide view.
        const last = (o: KObject) =>
          age(
            get(o, "lastTimestamp") ?? get(o, "eventTime") ?? get(o, "firstTimestamp") ??
              o.metadata?.creationTimestamp,
          );
        const object = (o: KObject) =>
          `${String(get(o, "involvedObject.kind") ?? "").toLowerCase()}/${
            get(o, "involvedObject.name") ?? ""
          }`;
        return [
          col("Last Seen", last),
          col("Type", (o) => get(o, "type") ?? ""),
          col("Reason", (o) => get(o, "reason") ?? ""),
          col("Object", object),
          col("Subobject", (o) => get(o, "involvedObject.fieldPath") ?? "", 1),
          col("Source", (o) => get(o, "source.component") ?? get(o, "reportingComponent") ?? "", 1),
          col("Message", (o) => get(o, "message") ?? ""),
          col("First Seen", (o) => age(get(o, "firstTimestamp")), 1),
          col("Count", (o) => get(o, "count") ?? 1, 1),
          { ...nameCol, priority: 1 },
        ];
      }
      case "configmaps":
        return [
          nameCol,
          col("Data", (o) =>
            Object.keys((o.data ?? {}) as Obj).length +
            Object.keys((o.binaryData ?? {}) as Obj).length),
          ageCol,
        ];
      case "secrets":
        return [
          nameCol,
          col("Type", (o) => o.type ?? ""),
          col("Data", (o) => Object.keys((o.data ?? {}) as Obj).length),
          ageCol,
        ];
      case "services":
        return [
          nameCol,
          col("Type", (o) => get(o, "spec.type") ?? ""),
          col("Cluster-IP", (o) => get(o, "spec.clusterIP") ?? "<none>"),
          col(
            "Ports",
            (o) =>
              ((get(o, "spec.ports") ?? []) as Obj[]).map((p) =>
                `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`
              )
                .join(",") || "<none>",
          ),
          ageCol,
        ];
    }
  }
  const extra = (def.printerColumns ?? []).map((c) => ({
    name: c.name,
    type: c.type === "date" ? "string" : c.type,
    description: c.description ?? c.name,
    priority: c.priority ?? 0,
    value: (o: KObject) => {
      const v = get(o, c.jsonPath);
      return c.type === "date" ? age(v) : v ?? "";
    },
  }));
  return [nameCol, ...extra, ageCol];
}

/** Builds a Table for `items`; `includeObject` "Object" embeds full objects, else metadata only. */
export function toTable(
  def: ResourceDef,
  items: KObject[],
  resourceVersion: string,
  includeObject: string | null,
  withColumns = true,
  cont?: string,
): KObject {
  const cols = columnsFor(def);
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion, ...(cont ? { continue: cont } : {}) },
    columnDefinitions: withColumns
      ? cols.map(({ name, type, format, description, priority }) => ({
        name,
        type,
        format: format ?? "",
        description,
        priority,
      }))
      : [],
    rows: items.map((o) => ({
      cells: cols.map((c) => c.value(o)),
      object: includeObject === "None" ? undefined : includeObject === "Object" ? o : {
        kind: "PartialObjectMetadata",
        apiVersion: "meta.k8s.io/v1",
        metadata: o.metadata,
      },
    })),
  };
}

/** True when the Accept header asks for Table output. */
export function wantsTable(accept: string | null): boolean {
  return !!accept && accept.split(",")[0].includes("as=Table");
}
