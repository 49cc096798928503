/**
 * Typed errors of the Kubernetes access layer, and the Go error shapes KubeEdge puts on the wire
 * (docs/protocol.md §1.2: an `*apierrors.StatusError` marshals as `{"ErrStatus":{...metav1.Status}}`).
 */
import type { KubeStatus } from "./types.ts";

/** The API answered with a non-2xx status; `status` is the `metav1.Status` it returned. */
export class KubeApiError extends Error {
  override name = "KubeApiError";
  constructor(
    readonly code: number,
    readonly status: KubeStatus,
    readonly method = "",
    readonly path = "",
  ) {
    super(`${method} ${path}: ${code} ${status.reason ?? ""}: ${status.message ?? ""}`.trim());
  }

  /** `StatusReason`, e.g. `NotFound`, `AlreadyExists`, `Conflict`, `Forbidden`. */
  get reason(): string {
    return this.status.reason ?? "";
  }
}

/** The API could not be reached (or kept failing transiently) after all retries. */
export class KubeUnavailableError extends Error {
  override name = "KubeUnavailableError";
}

/** The client was closed while a request or a retry wait was in flight. */
export class KubeClosedError extends Error {
  override name = "KubeClosedError";
}

/** The kubeconfig cannot be used (no cluster, unsupported auth, unreadable file). */
export class KubeConfigError extends Error {
  override name = "KubeConfigError";
}

const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  410: "Expired",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

/** Builds a `metav1.Status` failure like apimachinery's `apierrors.New*` helpers. */
export function failureStatus(
  code: number,
  message: string,
  details?: KubeStatus["details"],
  reason = REASONS[code] ?? "",
): KubeStatus {
  const status: KubeStatus = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  };
  if (details) status.details = details;
  return status;
}

/** `apierrors.NewNotFound(resource, name)`. */
export function notFoundStatus(resource: string, name: string): KubeStatus {
  const group = resource.includes(".") ? resource.slice(resource.indexOf(".") + 1) : "";
  const kind = resource.includes(".") ? resource.slice(0, resource.indexOf(".")) : resource;
  const details: KubeStatus["details"] = { name, kind };
  if (group) details.group = group;
  return failureStatus(404, `${resource} "${name}" not found`, details);
}

/** `apierrors.NewForbidden(resource, name, err)`. */
export function forbiddenStatus(resource: string, name: string, why: string): KubeStatus {
  return failureStatus(403, `${resource} "${name}" is forbidden: ${why}`, { name, kind: resource });
}

/** The Go JSON of a `*StatusError` value: `{"ErrStatus": status}`. */
export function goStatusError(status: KubeStatus): { ErrStatus: KubeStatus } {
  return { ErrStatus: status };
}

/** True for a 404 answer. */
export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.code === 404;
}

/** True for a 409 AlreadyExists answer. */
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof KubeApiError && err.code === 409 && err.reason === "AlreadyExists";
}

/** True for a 409 Conflict answer (optimistic concurrency or failed precondition). */
export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.code === 409 && err.reason !== "AlreadyExists";
}

/** True for a 410 Gone / Expired answer (a watch's resourceVersion is too old). */
export function isGone(err: unknown): boolean {
  return err instanceof KubeApiError && err.code === 410;
}

/**
 * Transient failures worth retrying: connection errors (fetch throws TypeError), 429, 5xx.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof KubeApiError) return err.code === 429 || err.code >= 500;
  if (err instanceof KubeClosedError) return false;
  if (err instanceof TypeError) return true; // fetch: connection refused / reset / TLS failure
  if (err instanceof Deno.errors.ConnectionRefused) return true;
  if (err instanceof Deno.errors.ConnectionReset) return true;
  if (err instanceof Deno.errors.TimedOut) return true;
  return false;
}
