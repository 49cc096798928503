/**
 * The lock behind leader election: one `coordination.k8s.io/v1` Lease, read and written through
 * `npm:@kubernetes/client-node` with optimistic concurrency (the Lease's resourceVersion), as
 * client-go's `resourcelock.LeaseLock` does.
 *
 * @example
 * ```ts
 * const lock = new LeaseLock(kc.makeApiClient(CoordinationV1Api), "kubeedge", "edgecloud-controllers");
 * const current = await lock.get(); // null if the Lease does not exist
 * ```
 */
import type { CoordinationV1Api, KubeConfig, V1Lease } from "@kubernetes/client-node";
import { clientNode, type KubeHttp } from "../kube/mod.ts";

/** Namespace of edgecloud's controller Lease (KubeEdge keeps its objects in `kubeedge`). */
export const DEFAULT_LEASE_NAMESPACE = "kubeedge";
/** Name of the Lease the controller leader holds. */
export const DEFAULT_LEASE_NAME = "edgecloud-controllers";

/** What the Lease says about the leader (client-go's `LeaderElectionRecord`). */
export interface LeaderElectionRecord {
  /** "" when released. */
  holderIdentity: string;
  leaseDurationSeconds: number;
  /** Milliseconds since the epoch. */
  acquireTime: number;
  /** Milliseconds since the epoch. */
  renewTime: number;
  leaseTransitions: number;
}

/** A record together with the Lease version it was read at. */
export interface VersionedRecord {
  record: LeaderElectionRecord;
  resourceVersion: string;
}

/** Raised when a Lease could not be read or written for a reason other than a lost race. */
export class LeaseLockError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LeaseLockError";
  }
}

/** The Lease API as the lock uses it; `CoordinationV1Api` fits, tests may wrap it. */
export type LeaseApi = Pick<
  CoordinationV1Api,
  "readNamespacedLease" | "createNamespacedLease" | "replaceNamespacedLease"
>;

/**
 * The HTTP status of a failed call: client-node's `ApiException` and kube/'s `KubeApiError` both
 * carry it as a numeric `code` (read by shape, so this module does not load client-node).
 */
function statusOf(err: unknown): number | undefined {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === "number" ? code : undefined;
}

/**
 * client-node's `V1MicroTime`, spelled out so this module does not load client-node: a Date that
 * serialises with the six fractional digits Kubernetes' MicroTime requires.
 */
export class MicroTime extends Date {
  override toISOString(): string {
    return super.toISOString().slice(0, -1) + "000Z";
  }
}

// client-node leaves MicroTime fields as the wire string when reading; accept both forms.
function toMillis(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === "string") {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  }
  return 0;
}

/** The record a Lease holds. */
export function recordFromLease(lease: V1Lease): LeaderElectionRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity ?? "",
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: toMillis(spec.acquireTime),
    renewTime: toMillis(spec.renewTime),
    leaseTransitions: spec.leaseTransitions ?? 0,
  };
}

function specFromRecord(record: LeaderElectionRecord): V1Lease["spec"] {
  // MicroTime serialises with the six fractional digits Kubernetes' MicroTime requires.
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    acquireTime: new MicroTime(record.acquireTime),
    renewTime: new MicroTime(record.renewTime),
    leaseTransitions: record.leaseTransitions,
  };
}

/** One named Lease used as a leader-election lock. */
export class LeaseLock {
  constructor(
    readonly api: LeaseApi,
    readonly namespace: string,
    readonly name: string,
  ) {}

  /** `namespace/name`, for logs. */
  describe(): string {
    return `${this.namespace}/${this.name}`;
  }

  /** The current record, or null if the Lease does not exist. */
  async get(): Promise<VersionedRecord | null> {
    try {
      const lease = await this.api.readNamespacedLease({
        name: this.name,
        namespace: this.namespace,
      });
      return {
        record: recordFromLease(lease),
        resourceVersion: lease.metadata?.resourceVersion ?? "",
      };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw new LeaseLockError(`read lease ${this.describe()}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Creates the Lease; false if someone else created it first (409). */
  async create(record: LeaderElectionRecord): Promise<boolean> {
    try {
      await this.api.createNamespacedLease({
        namespace: this.namespace,
        body: {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: this.name, namespace: this.namespace },
          spec: specFromRecord(record),
        },
      });
      return true;
    } catch (err) {
      if (statusOf(err) === 409) return false;
      throw new LeaseLockError(`create lease ${this.describe()}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /**
   * Replaces the record if the Lease is still at `resourceVersion`; false if it changed in
   * between (409) or vanished (404), i.e. another candidate won the race.
   */
  async update(record: LeaderElectionRecord, resourceVersion: string): Promise<boolean> {
    try {
      await this.api.replaceNamespacedLease({
        name: this.name,
        namespace: this.namespace,
        body: {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: this.name, namespace: this.namespace, resourceVersion },
          spec: specFromRecord(record),
        },
      });
      return true;
    } catch (err) {
      const code = statusOf(err);
      if (code === 409 || code === 404) return false;
      throw new LeaseLockError(`update lease ${this.describe()}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}

/** A {@link LeaseLock} on `kc`'s cluster; defaults to `kubeedge/edgecloud-controllers`. */
export function leaseLockFor(
  kc: KubeConfig,
  namespace = DEFAULT_LEASE_NAMESPACE,
  name = DEFAULT_LEASE_NAME,
): LeaseLock {
  return new LeaseLock(kc.makeApiClient(clientNode().CoordinationV1Api), namespace, name);
}

/**
 * The Lease calls the lock makes, as raw JSON on `http` (one request each: no retries, no rate
 * limit, like `kc.makeApiClient(CoordinationV1Api)`); failures throw `KubeApiError` with the
 * status as `code`. `edgecloud serve` uses it so leader election needs no client-node.
 */
export function httpLeaseApi(http: KubeHttp): LeaseApi {
  const path = (namespace: string, name?: string) =>
    `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases${name ? `/${name}` : ""}`;
  return {
    readNamespacedLease: ({ name, namespace }) =>
      http.request<V1Lease>("GET", path(namespace, name)),
    createNamespacedLease: ({ namespace, body }) =>
      http.request<V1Lease>("POST", path(namespace), { body }),
    replaceNamespacedLease: ({ name, namespace, body }) =>
      http.request<V1Lease>("PUT", path(namespace, name), { body }),
  } as LeaseApi;
}

/** A {@link LeaseLock} through {@link httpLeaseApi}; defaults as {@link leaseLockFor}. */
export function httpLeaseLock(
  http: KubeHttp,
  namespace = DEFAULT_LEASE_NAMESPACE,
  name = DEFAULT_LEASE_NAME,
): LeaseLock {
  return new LeaseLock(httpLeaseApi(http), namespace, name);
}
