/**
 * `authorization.k8s.io/v1` reviews, for `kubectl auth can-i` and for programs that check before
 * they act: SelfSubjectAccessReview, SelfSubjectRulesReview (`can-i --list`) and
 * SubjectAccessReview. The embedded API has one kind of caller — the admin token and the
 * ServiceAccount tokens it issues — and no RBAC, so every review is allowed (docs/control-plane.md
 * says so); the answers have kube-apiserver's shape so clients read them as usual.
 */
import { badRequest, methodNotAllowed } from "./errors.ts";
import type { KObject } from "./resources.ts";

/** The review kinds, by resource. */
export const REVIEW_KINDS: Record<string, string> = {
  selfsubjectaccessreviews: "SelfSubjectAccessReview",
  selfsubjectrulesreviews: "SelfSubjectRulesReview",
  subjectaccessreviews: "SubjectAccessReview",
  localsubjectaccessreviews: "LocalSubjectAccessReview",
};

const REASON = "the embedded API authorizes every authenticated request (no RBAC)";

/** Answers a POST of a review. */
export function review(
  resource: string,
  method: string,
  body: unknown,
  namespace: string,
): KObject {
  const kind = REVIEW_KINDS[resource];
  if (method !== "POST") throw methodNotAllowed(`${resource} supports create only`);
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw badRequest(`the request body must be a ${kind}`);
  }
  const spec = ((body as KObject).spec ?? {}) as Record<string, unknown>;
  const base = {
    kind,
    apiVersion: "authorization.k8s.io/v1",
    metadata: namespace ? { namespace } : {},
    spec,
  };
  if (kind === "SelfSubjectRulesReview") {
    return {
      ...base,
      status: {
        resourceRules: [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }],
        nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }],
        incomplete: false,
      },
    };
  }
  return { ...base, status: { allowed: true, reason: REASON } };
}
