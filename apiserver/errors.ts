/**
 * Kubernetes `Status` errors: every failure the embedded API returns is one of these, so clients
 * (kubectl, client-node) see the same code and reason a real API server would send.
 */

/** One cause inside `details.causes` (field validation failures). */
export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

/** The `details` of a Status. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** The wire form of a `meta/v1 Status`. */
export interface StatusBody {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, unknown>;
  status: "Failure" | "Success";
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An API error carrying its HTTP code and Kubernetes reason. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The `Status` object sent to the client. */
  toStatus(): StatusBody {
    const body: StatusBody = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) body.details = this.details;
    return body;
  }
}

/** What the error helpers need to know about the resource involved. */
export interface ResourceRef {
  group: string;
  resource: string;
}

function qualified(ref: ResourceRef): string {
  return ref.group ? `${ref.resource}.${ref.group}` : ref.resource;
}

/** 404 NotFound for one object. */
export function notFound(ref: ResourceRef, name: string): ApiError {
  return new ApiError(404, "NotFound", `${qualified(ref)} "${name}" not found`, {
    name,
    group: ref.group || undefined,
    kind: ref.resource,
  });
}

/** 409 AlreadyExists. */
export function alreadyExists(ref: ResourceRef, name: string): ApiError {
  return new ApiError(409, "AlreadyExists", `${qualified(ref)} "${name}" already exists`, {
    name,
    group: ref.group || undefined,
    kind: ref.resource,
  });
}

/** 409 Conflict on a stale resourceVersion or failed precondition. */
export function conflict(ref: ResourceRef, name: string, why?: string): ApiError {
  return new ApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualified(ref)} "${name}": ${
      why ??
        "the object has been modified; please apply your changes to the latest version and try again"
    }`,
    { name, group: ref.group || undefined, kind: ref.resource },
  );
}

/** 422 Invalid with field causes; the message names `Kind.group` as kube-apiserver's does. */
export function invalid(
  kind: string,
  group: string,
  name: string,
  causes: StatusCause[],
): ApiError {
  const list = causes.map((c) => `${c.field ? c.field + ": " : ""}${c.message}`).join(", ");
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  return new ApiError(422, "Invalid", `${qualifiedKind} "${name}" is invalid: ${list}`, {
    name,
    group: group || undefined,
    kind,
    causes: causes.map((c) => ({ reason: c.reason ?? "FieldValueInvalid", ...c })),
  });
}

/** 400 BadRequest. */
export function badRequest(message: string): ApiError {
  return new ApiError(400, "BadRequest", message);
}

/** 410 Gone (watch or continue token too old). */
export function gone(message: string): ApiError {
  return new ApiError(410, "Expired", message);
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(message: string): ApiError {
  return new ApiError(405, "MethodNotAllowed", message);
}

/** 415 UnsupportedMediaType. */
export function unsupportedMediaType(message: string): ApiError {
  return new ApiError(415, "UnsupportedMediaType", message);
}

/** 413 RequestEntityTooLarge. */
export function tooLarge(message: string): ApiError {
  return new ApiError(413, "RequestEntityTooLarge", message);
}

/** 403 Forbidden. */
export function forbidden(message: string): ApiError {
  return new ApiError(403, "Forbidden", message);
}

/** 401 Unauthorized. */
export function unauthorized(): ApiError {
  return new ApiError(401, "Unauthorized", "Unauthorized");
}

/** 500 InternalError. */
export function internal(message: string): ApiError {
  return new ApiError(500, "InternalError", `Internal error occurred: ${message}`);
}
