/**
 * ControllerRevisions, the rollout history of DaemonSets and StatefulSets
 * (pkg/controller/history and the DaemonSet's `constructHistory`): one revision per distinct pod
 * template, named `<owner>-<hash>`, holding `{spec: {template: {…, $patch: replace}}}` so
 * `kubectl rollout history/undo` can read it; the revision of the current template is created or
 * moved to the highest number; the oldest unused ones beyond `revisionHistoryLimit` are deleted.
 */
import { isAlreadyExists, isNotFound, type KubeClient } from "../../kube/mod.ts";
import { jsonEqual, type LabelSelector, selectorMatches } from "../../lib/mod.ts";
import { isControlledBy, type Meta, ownerRefTo, type PodTemplate } from "./pods.ts";

/** A ControllerRevision. */
export interface Revision {
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
  data?: { spec?: { template?: Record<string, unknown> } };
  revision: number;
  [k: string]: unknown;
}

/** The owner a revision history belongs to. */
export interface RevisionOwner {
  apiVersion?: string;
  kind?: string;
  metadata?: Meta;
  spec?: unknown;
  [k: string]: unknown;
}

const ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789";

/** JSON with sorted keys, so equal templates hash alike whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${
      Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) =>
        `${JSON.stringify(k)}:${canonical(o[k])}`
      ).join(",")
    }}`;
  }
  return JSON.stringify(v);
}

/**
 * `controller.ComputeHash`: FNV-1a (32 bit) of the template (plus the collision count when set),
 * its decimal digits mapped through `rand.SafeEncodeString`'s alphabet.
 */
export function templateHash(template: unknown, collisionCount?: number): string {
  let h = 0x811c9dc5;
  const text = canonical(template) + (collisionCount ? String(collisionCount) : "");
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((c) => ALPHANUMS[c.charCodeAt(0) % ALPHANUMS.length]).join("");
}

/** The template a revision records. */
export function revisionTemplate(r: Revision): PodTemplate | undefined {
  const t = r.data?.spec?.template;
  if (!t) return undefined;
  const { $patch: _p, ...rest } = t;
  return rest as unknown as PodTemplate;
}

function revisionsPath(ns: string): string {
  return `/apis/apps/v1/namespaces/${ns}/controllerrevisions`;
}

/** The revisions `owner` controls (fresh from the API), oldest revision number first. */
export async function listRevisions(
  kube: KubeClient,
  owner: RevisionOwner,
  selector: LabelSelector | undefined,
): Promise<Revision[]> {
  const ns = owner.metadata!.namespace!;
  const list = await kube.get<{ items: Revision[] } & Record<string, unknown>>(revisionsPath(ns));
  return list.items
    .filter((r) =>
      isControlledBy(r, owner.metadata!.uid) && selectorMatches(selector, r.metadata.labels)
    )
    .sort((a, b) => a.revision - b.revision);
}

/** Settings of {@link ensureRevision}. */
export interface EnsureRevisionOptions {
  kind: "DaemonSet" | "StatefulSet";
  template: PodTemplate;
  collisionCount?: number;
  /** Label with the hash on the revision (`controller-revision-hash` / `controller.kubernetes.io/hash`). */
  hashLabel: string;
}

/**
 * The revision of the current template: an existing one with equal data (renumbered to the
 * highest number when older, as a rollback does), else a new `<owner>-<hash>` one.
 */
export async function ensureRevision(
  kube: KubeClient,
  owner: RevisionOwner,
  existing: Revision[],
  opts: EnsureRevisionOptions,
): Promise<{ revision: Revision; hash: string; all: Revision[] }> {
  const ns = owner.metadata!.namespace!;
  const hash = templateHash(opts.template, opts.collisionCount);
  const max = existing.reduce((m, r) => Math.max(m, r.revision), 0);
  const equal = existing.filter((r) => jsonEqual(revisionTemplate(r), opts.template));
  if (equal.length) {
    // Several equal revisions can exist after a collision: keep the newest.
    let cur = equal[equal.length - 1];
    if (cur.revision < max) {
      cur = await kube.patch<Revision>(
        `${revisionsPath(ns)}/${cur.metadata.name}`,
        JSON.stringify({ revision: max + 1 }),
        "application/merge-patch+json",
      );
    }
    const all = existing.map((r) => r.metadata.name === cur.metadata.name ? cur : r);
    return { revision: cur, hash: cur.metadata.labels?.[opts.hashLabel] ?? hash, all };
  }
  const name = `${owner.metadata!.name}-${hash}`;
  const body: Revision = {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: {
      name,
      namespace: ns,
      labels: { ...(opts.template.metadata?.labels ?? {}), [opts.hashLabel]: hash },
      ownerReferences: [ownerRefTo(owner, "apps/v1", opts.kind)],
    },
    data: { spec: { template: { ...opts.template, $patch: "replace" } } },
    revision: max + 1,
  };
  try {
    const created = await kube.create<Revision>(revisionsPath(ns), body);
    return { revision: created, hash, all: [...existing, created] };
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    // A revision of this name with other data: a hash collision. Upstream bumps the owner's
    // collisionCount and retries; the caller does so on the error.
    throw new HashCollisionError(name);
  }
}

/** A revision name is taken by a revision with different data. */
export class HashCollisionError extends Error {
  override name = "HashCollisionError";
}

/** Deletes the oldest revisions beyond `limit` that `inUse` does not protect. */
export async function pruneRevisions(
  kube: KubeClient,
  all: Revision[],
  limit: number,
  inUse: (r: Revision) => boolean,
): Promise<void> {
  const candidates = all.filter((r) => !inUse(r)).sort((a, b) => a.revision - b.revision);
  const excess = candidates.length - limit;
  for (const r of candidates.slice(0, Math.max(0, excess))) {
    try {
      await kube.delete(`${revisionsPath(r.metadata.namespace!)}/${r.metadata.name}`);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
