/**
 * The `scale` subresource (`autoscaling/v1 Scale`) of any served kind that lists it, as
 * kube-apiserver's ScaleREST: GET reads `spec.replicas`, `status.replicas` and the selector in
 * string form; PUT and PATCH (every patch type, applied to the Scale) write `spec.replicas` only,
 * with the Scale's resourceVersion as precondition. This is what `kubectl scale` uses.
 */
import { badRequest, invalid } from "./errors.ts";
import { isJsonObject, type JsonObject } from "./own.ts";
import { jsonPatch, mergePatch, strategicMergePatch } from "./patch.ts";
import type { KObject } from "./resources.ts";
import { parseBody, type Rest, type Target } from "./rest.ts";
import { unsupportedMediaType } from "./errors.ts";
import { formatLabelSelector, type LabelSelector } from "../lib/mod.ts";

function obj(v: unknown): JsonObject {
  return isJsonObject(v) ? v : {};
}

/** The Scale of `o`. */
export function scaleOf(o: KObject): KObject {
  const m = o.metadata ?? {};
  const spec = obj(o.spec);
  const status = obj(o.status);
  const sel = spec.selector as LabelSelector | undefined;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: typeof spec.replicas === "number" ? spec.replicas : 0 },
    status: {
      replicas: typeof status.replicas === "number" ? status.replicas : 0,
      ...(sel ? { selector: formatLabelSelector(sel).replace("<none>", "") } : {}),
    },
  };
}

function main(t: Target): Target {
  return { ...t, subresource: undefined };
}

/** GET …/scale. */
export function getScale(rest: Rest, t: Target): KObject {
  return scaleOf(rest.get(main(t)).obj);
}

/** Writes a Scale (PUT, or the result of a PATCH) through to the object's `spec.replicas`. */
export async function putScale(
  rest: Rest,
  t: Target,
  body: unknown,
  dryRun = false,
): Promise<KObject> {
  if (!isJsonObject(body)) throw badRequest("the request body must be a Scale object");
  if (body.kind !== undefined && body.kind !== "Scale") {
    throw badRequest(
      `the kind in the data (${body.kind}) does not match the expected kind (Scale)`,
    );
  }
  const replicas = obj(body.spec).replicas;
  if (!Number.isInteger(replicas) || (replicas as number) < 0) {
    throw invalid("Scale", "autoscaling", t.name ?? "", [{
      field: "spec.replicas",
      message: `Invalid value: ${
        JSON.stringify(replicas ?? null)
      }: must be greater than or equal to 0`,
    }]);
  }
  const rv = obj(body.metadata).resourceVersion;
  const patch = {
    metadata: typeof rv === "string" && rv ? { resourceVersion: rv } : {},
    spec: { replicas },
  };
  const res = await rest.patch(
    main(t),
    JSON.stringify(patch),
    "application/merge-patch+json",
    dryRun,
  );
  return scaleOf(res.object.obj);
}

/** PATCH …/scale: the patch applies to the current Scale, then is written as a PUT. */
export async function patchScale(
  rest: Rest,
  t: Target,
  text: string,
  contentType: string | null,
  dryRun = false,
): Promise<KObject> {
  const current = getScale(rest, t);
  const type = (contentType ?? "").split(";")[0].trim();
  let next: unknown;
  if (type === "application/json-patch+json") {
    next = jsonPatch(current, parseBody(text, "application/json"));
  } else if (type === "application/merge-patch+json") {
    next = mergePatch(current, parseBody(text, "application/json"));
  } else if (
    type === "application/strategic-merge-patch+json" || type === "application/apply-patch+yaml"
  ) {
    const p = parseBody(text, type.endsWith("yaml") ? "application/yaml" : "application/json");
    next = strategicMergePatch(current, p, { builtinKeys: true });
  } else {
    throw unsupportedMediaType(`the body of the request was in an unknown format: ${type}`);
  }
  // The patch result carries the current resourceVersion unless the patch changed it.
  return await putScale(rest, t, next, dryRun);
}
