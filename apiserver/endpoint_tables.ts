/**
 * `kubectl get` columns of Endpoints and EndpointSlices, as kube-apiserver's printers fill them
 * (`pkg/printers/internalversion/printers.go`: `formatEndpoints`, `formatDiscoveryPorts`,
 * `formatDiscoveryEndpoints`): at most three entries, then `+ N more...`. Name and Age are added
 * by table.ts.
 */
import { isJsonObject, type JsonObject } from "./own.ts";
import type { KObject, ResourceDef } from "./resources.ts";
import type { WorkloadColumn } from "./workload_tables.ts";

const MAX = 3;

function objs(v: unknown): JsonObject[] {
  return Array.isArray(v) ? v.filter(isJsonObject) : [];
}

/** `net.JoinHostPort`. */
function hostPort(ip: string, port: unknown): string {
  return `${ip.includes(":") ? `[${ip}]` : ip}:${port}`;
}

/** `formatEndpoints` with every port: `ip:port` of the ready addresses. */
export function formatEndpoints(o: KObject): string {
  const subsets = objs(o.subsets);
  if (!subsets.length) return "<none>";
  const list: string[] = [];
  let more = false, count = 0;
  for (const ss of subsets) {
    const addrs = objs(ss.addresses).map((a) => String(a.ip ?? ""));
    const ports = objs(ss.ports);
    if (!ports.length) {
      // Headless Services may have no ports.
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === MAX) {
          more = true;
          break;
        }
        list.push(a);
      }
      continue;
    }
    for (const p of ports) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === MAX) {
          more = true;
          break;
        }
        list.push(hostPort(a, p.port));
      }
    }
  }
  const ret = list.join(",");
  return more ? `${ret} + ${count - MAX} more...` : ret;
}

function withMore(list: string[], more: boolean, count: number): string {
  const ret = list.join(",");
  if (more) return `${ret} + ${count - MAX} more...`;
  return ret || "<unset>";
}

/** `formatDiscoveryPorts`. */
export function formatSlicePorts(o: KObject): string {
  const list: string[] = [];
  let more = false, count = 0;
  for (const p of objs(o.ports)) {
    if (list.length < MAX) {
      list.push(
        typeof p.port === "number" ? String(p.port) : typeof p.name === "string" ? p.name : "*",
      );
    } else if (list.length === MAX) more = true;
    count++;
  }
  return withMore(list, more, count);
}

/** `formatDiscoveryEndpoints`. */
export function formatSliceEndpoints(o: KObject): string {
  const list: string[] = [];
  let more = false, count = 0;
  for (const e of objs(o.endpoints)) {
    for (const a of Array.isArray(e.addresses) ? e.addresses : []) {
      if (list.length < MAX) list.push(String(a));
      else if (list.length === MAX) more = true;
      count++;
    }
  }
  return withMore(list, more, count);
}

function col(name: string, description: string, value: (o: KObject) => unknown): WorkloadColumn {
  return { name, type: "string", description, priority: 0, value };
}

/** The columns between Name and Age, or undefined for other resources. */
export function endpointColumns(def: ResourceDef): WorkloadColumn[] | undefined {
  if (!def.builtin) return undefined;
  if (def.group === "" && def.resource === "endpoints") {
    return [
      col("Endpoints", "The set of all endpoints is the union of all subsets.", formatEndpoints),
    ];
  }
  if (def.group === "discovery.k8s.io" && def.resource === "endpointslices") {
    return [
      col(
        "AddressType",
        "addressType specifies the type of address carried by this EndpointSlice.",
        (o) => o.addressType ?? "",
      ),
      col(
        "Ports",
        "ports specifies the list of network ports exposed by each endpoint.",
        formatSlicePorts,
      ),
      col(
        "Endpoints",
        "endpoints is a list of unique endpoints in this slice.",
        formatSliceEndpoints,
      ),
    ];
  }
  return undefined;
}
