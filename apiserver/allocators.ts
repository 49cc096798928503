/**
 * Service address allocators (kube-apiserver's ClusterIP and NodePort ranges): a free value from
 * a random starting point, scanning the whole range once; a full range is kube-apiserver's 500
 * `Internal error occurred: failed to allocate a ...: range is full`, never a placeholder value.
 */
import { internal } from "./errors.ts";

/** The NodePort range (kube-apiserver's default `--service-node-port-range`). */
export const NODE_PORT_RANGE = { first: 30000, size: 2768 } as const;
/** ClusterIPs handed out: 10.96.0.10 onwards in 10.96.0.0/16 (.0-.9 kept for DNS and the API). */
export const CLUSTER_IP_RANGE = { first: 10, size: 65000 } as const;

/** The first value of `first + (start + i) % size` not in `used`, or undefined. */
function scan(
  first: number,
  size: number,
  isUsed: (n: number) => boolean,
  random: () => number,
): number | undefined {
  const start = Math.floor(random() * size);
  for (let i = 0; i < size; i++) {
    const n = first + (start + i) % size;
    if (!isUsed(n)) return n;
  }
  return undefined;
}

/** A NodePort not in `used`. @throws ApiError 500 when the range is full. */
export function allocateNodePort(
  used: ReadonlySet<number>,
  range: { first: number; size: number } = NODE_PORT_RANGE,
  random: () => number = Math.random,
): number {
  const port = scan(range.first, range.size, (n) => used.has(n), random);
  if (port === undefined) throw internal("failed to allocate a nodePort: range is full");
  return port;
}

/** The IPv4 address of the `n`th ClusterIP in 10.96.0.0/16. */
export function clusterIpOf(n: number): string {
  return `10.96.${n >> 8}.${n & 255}`;
}

/** A ClusterIP not in `used`. @throws ApiError 500 when the range is full. */
export function allocateClusterIP(
  used: ReadonlySet<unknown>,
  range: { first: number; size: number } = CLUSTER_IP_RANGE,
  random: () => number = Math.random,
): string {
  const n = scan(range.first, range.size, (i) => used.has(clusterIpOf(i)), random);
  if (n === undefined) throw internal("failed to allocate a serviceIP: range is full");
  return clusterIpOf(n);
}
