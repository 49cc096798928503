/**
 * Field ownership without a server: Update entries per manager and subresource, the `status`
 * domain of resources with a status subresource, conditions keyed by `type`, and Apply conflicts
 * and removals staying within their domain. (server_side_apply_test.ts drives it with kubectl.)
 */
import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  afterApply,
  afterUpdate,
  fromTree,
  type ManagedFieldsEntry,
  pathText,
  type Writer,
} from "../../apiserver/managed_fields.ts";
import type { KObject } from "../../apiserver/resources.ts";
import { ApiError } from "../../apiserver/errors.ts";

const T = "2026-01-01T00:00:00Z";
const w = (manager: string, extra: Partial<Writer> = {}): Writer => ({
  manager,
  apiVersion: "v1",
  time: T,
  statusSubresource: true,
  ...extra,
});

function paths(e: ManagedFieldsEntry | undefined): string[] {
  return [...fromTree(e?.fieldsV1)].map(pathText).sort();
}

const pod = (image: string, ready: string, extra: Record<string, unknown> = {}): KObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", labels: { app: "a" } },
  spec: { containers: [{ name: "c", image }] },
  status: { phase: "Running", conditions: [{ type: "Ready", status: ready }] },
  ...extra,
});

Deno.test("status is owned through /status only when the resource has that subresource", () => {
  const created = pod("i1", "True");
  created.metadata!.managedFields = afterUpdate(undefined, created, w("maker"));
  const mf0 = created.metadata!.managedFields as ManagedFieldsEntry[];
  assertEquals(mf0.map((e) => [e.manager, e.subresource]), [["maker", undefined]]);
  assert(!paths(mf0[0]).some((p) => p.startsWith(".status")), paths(mf0[0]).join(" "));

  // A status write by the kubelet: its own entry, subresource status, the condition by type.
  const next = structuredClone(created);
  (next.status as { conditions: { status: string }[] }).conditions[0].status = "False";
  const mf1 = afterUpdate(created, next, w("kubelet", { subresource: "status" }));
  const kubelet = mf1.find((e) => e.manager === "kubelet");
  assertEquals(kubelet?.subresource, "status");
  assertEquals(paths(kubelet), ['.status.conditions[type="Ready"].status']);
  // The creator's spec fields stay its own.
  assert(
    paths(mf1.find((e) => e.manager === "maker")).includes('.spec.containers[name="c"].image'),
  );

  // Without a status subresource (e.g. a Device CRD), status is an ordinary field.
  const flat = afterUpdate(undefined, pod("i1", "True"), w("maker", { statusSubresource: false }));
  assert(paths(flat[0]).includes(".status.phase"), paths(flat[0]).join(" "));
});

Deno.test("apply conflicts and removals stay within the writer's domain", () => {
  const cur = pod("i1", "True");
  cur.metadata!.managedFields = afterUpdate(undefined, cur, w("maker"));
  // Another manager applies a different image: conflict with maker.
  const config = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p" },
    spec: { containers: [{ name: "c", image: "i2" }] },
  };
  const err = assertThrows(
    () => afterApply(cur, structuredClone(cur), config, w("ops"), false),
    ApiError,
  );
  assertEquals(
    err.message,
    'Apply failed with 1 conflict: conflict with "maker" using v1: .spec.containers[name="c"].image',
  );
  // A status apply of a condition nobody else owns there: no conflict with spec owners.
  const statusConfig = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p" },
    status: { conditions: [{ type: "Ready", status: "True" }] },
  };
  const applied = afterApply(
    cur,
    structuredClone(cur),
    statusConfig,
    w("prober", { subresource: "status" }),
    false,
  );
  const mf = applied.metadata!.managedFields as ManagedFieldsEntry[];
  const prober = mf.find((e) => e.manager === "prober");
  assertEquals([prober?.operation, prober?.subresource], ["Apply", "status"]);
  assertEquals(paths(prober), [
    '.status.conditions[type="Ready"]',
    '.status.conditions[type="Ready"].status',
    '.status.conditions[type="Ready"].type',
  ]);
  // The main-resource apply by kubectl that leaves out status does not remove status fields.
  const main = afterApply(
    applied,
    structuredClone(applied),
    { apiVersion: "v1", kind: "Pod", metadata: { name: "p", labels: { app: "a" } } },
    w("kubectl"),
    false,
  );
  assertEquals((main.status as { phase: string }).phase, "Running");
});
