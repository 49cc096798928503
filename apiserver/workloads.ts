/**
 * The registry strategy of the workload kinds served here besides Deployments/ReplicaSets:
 * apps/v1 DaemonSet, StatefulSet, ControllerRevision and batch/v1 Job, CronJob. On every write
 * the defaults of kube-apiserver 1.32 (`pkg/apis/apps/v1/defaults.go`,
 * `pkg/apis/batch/v1/defaults.go`, pod template defaults), on create the strategy's
 * `PrepareForCreate` (empty status, a Job's generated selector and
 * `batch.kubernetes.io/job-name`/`controller-uid` labels), then the checks clients meet most
 * (selector required and matching the template, a template's allowed restartPolicy, a valid
 * CronJob schedule and time zone, a ControllerRevision's revision).
 */
import { invalid, type StatusCause } from "./errors.ts";
import { getOwn, isJsonObject, type JsonObject } from "./own.ts";
import type { KObject, ResourceDef } from "./resources.ts";
import { defaultPodSpec } from "./pod_defaults.ts";
import {
  CronSyntaxError,
  isValidTimeZone,
  type LabelSelector,
  parseCronSchedule,
  selectorMatches,
} from "../lib/mod.ts";

type Obj = JsonObject;

function obj(v: unknown): Obj {
  return isJsonObject(v) ? v : {};
}

/** The served kinds this file handles, by `<resource>.<group>`. */
const KINDS = new Set([
  "deployments.apps",
  "replicasets.apps",
  "daemonsets.apps",
  "statefulsets.apps",
  "controllerrevisions.apps",
  "jobs.batch",
  "cronjobs.batch",
]);

/** True for the kinds of this file. */
export function isWorkload(def: ResourceDef): boolean {
  return def.builtin && KINDS.has(`${def.resource}.${def.group}`);
}

/** The pod template at `spec.template` (created when absent), its spec defaulted. */
function defaultTemplate(spec: Obj): Obj {
  const template = obj(spec.template);
  spec.template = template;
  const tspec = obj(template.spec);
  template.spec = tspec;
  defaultPodSpec(tspec);
  return template;
}

/** `SetDefaults_Deployment` (apps/v1). */
function defaultDeployment(spec: Obj): void {
  spec.replicas ??= 1;
  const strategy = obj(spec.strategy);
  spec.strategy = strategy;
  strategy.type ??= "RollingUpdate";
  if (strategy.type === "RollingUpdate") {
    const ru = obj(strategy.rollingUpdate);
    strategy.rollingUpdate = ru;
    ru.maxUnavailable ??= "25%";
    ru.maxSurge ??= "25%";
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  defaultTemplate(spec);
}

/** `SetDefaults_ReplicaSet` (apps/v1). */
function defaultReplicaSet(spec: Obj): void {
  spec.replicas ??= 1;
  defaultTemplate(spec);
}

function defaultDaemonSet(spec: Obj): void {
  const strategy = obj(spec.updateStrategy);
  spec.updateStrategy = strategy;
  strategy.type ??= "RollingUpdate";
  if (strategy.type === "RollingUpdate") {
    const ru = obj(strategy.rollingUpdate);
    strategy.rollingUpdate = ru;
    ru.maxUnavailable ??= 1;
    ru.maxSurge ??= 0;
  }
  spec.revisionHistoryLimit ??= 10;
  defaultTemplate(spec);
}

function defaultStatefulSet(spec: Obj): void {
  spec.podManagementPolicy ??= "OrderedReady";
  const strategy = obj(spec.updateStrategy);
  spec.updateStrategy = strategy;
  if (strategy.type === undefined) {
    strategy.type = "RollingUpdate";
    strategy.rollingUpdate ??= {};
  }
  if (strategy.type === "RollingUpdate" && isJsonObject(strategy.rollingUpdate)) {
    strategy.rollingUpdate.partition ??= 0;
  }
  const retention = obj(spec.persistentVolumeClaimRetentionPolicy);
  spec.persistentVolumeClaimRetentionPolicy = retention;
  retention.whenDeleted ??= "Retain";
  retention.whenScaled ??= "Retain";
  spec.replicas ??= 1;
  spec.revisionHistoryLimit ??= 10;
  for (const pvc of Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : []) {
    if (!isJsonObject(pvc)) continue;
    const pspec = obj(pvc.spec);
    pvc.spec = pspec;
    pspec.volumeMode ??= "Filesystem";
    pvc.status ??= { phase: "Pending" };
  }
  defaultTemplate(spec);
}

function defaultJobSpec(spec: Obj): void {
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6;
  spec.completionMode ??= "NonIndexed";
  spec.suspend ??= false;
  spec.podReplacementPolicy ??= spec.podFailurePolicy !== undefined
    ? "Failed"
    : "TerminatingOrFailed";
  spec.manualSelector ??= false;
  defaultTemplate(spec);
}

function defaultCronJob(spec: Obj): void {
  spec.concurrencyPolicy ??= "Allow";
  spec.suspend ??= false;
  spec.successfulJobsHistoryLimit ??= 3;
  spec.failedJobsHistoryLimit ??= 1;
  const jt = obj(spec.jobTemplate);
  spec.jobTemplate = jt;
  const jspec = obj(jt.spec);
  jt.spec = jspec;
  defaultTemplate(jspec);
}

/** Spec defaults, applied on create and on every update. */
function defaultSpec(def: ResourceDef, o: KObject): void {
  if (def.resource === "controllerrevisions") return;
  const spec = obj(o.spec);
  o.spec = spec;
  switch (def.resource) {
    case "deployments":
      return defaultDeployment(spec);
    case "replicasets":
      return defaultReplicaSet(spec);
    case "daemonsets":
      return defaultDaemonSet(spec);
    case "statefulsets":
      return defaultStatefulSet(spec);
    case "jobs": {
      defaultJobSpec(spec);
      // A Job without labels takes its template's (SetDefaults_Job).
      const tlabels = obj(obj(spec.template).metadata).labels;
      const meta = o.metadata!;
      if (isJsonObject(tlabels) && Object.keys(meta.labels ?? {}).length === 0) {
        meta.labels = { ...tlabels } as Record<string, string>;
      }
      return;
    }
    case "cronjobs":
      return defaultCronJob(spec);
  }
}

/**
 * A Job's generated selector (job strategy `generateSelector`): the template gets
 * `batch.kubernetes.io/job-name`, `job-name`, `batch.kubernetes.io/controller-uid` and
 * `controller-uid` labels unless set; the selector matches the controller uid.
 */
function generateJobSelector(o: KObject): void {
  const spec = obj(o.spec);
  if (spec.manualSelector === true) return;
  const template = obj(spec.template);
  const tmeta = obj(template.metadata);
  template.metadata = tmeta;
  const labels = obj(tmeta.labels);
  tmeta.labels = labels;
  const name = o.metadata!.name!;
  const uid = o.metadata!.uid!;
  for (const k of ["job-name", "batch.kubernetes.io/job-name"]) labels[k] ??= name;
  for (const k of ["controller-uid", "batch.kubernetes.io/controller-uid"]) labels[k] ??= uid;
  const selector = obj(spec.selector);
  spec.selector = selector;
  const ml = obj(selector.matchLabels);
  selector.matchLabels = ml;
  ml["batch.kubernetes.io/controller-uid"] ??= uid;
}

/** Go's `%#v` of a label map, as upstream's messages print it. */
function goMap(m: unknown): string {
  const entries = Object.entries(obj(m)).sort(([a], [b]) => a < b ? -1 : 1)
    .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  return `map[string]string{${entries.join(", ")}}`;
}

function checkSelector(
  kind: string,
  spec: Obj,
  templatePath: string,
  template: Obj,
  causes: StatusCause[],
  required: boolean,
): void {
  const sel = spec.selector;
  if (sel === undefined || sel === null) {
    if (required) {
      causes.push({
        field: "spec.selector",
        reason: "FieldValueRequired",
        message: "Required value",
      });
    }
    return;
  }
  const s = sel as LabelSelector;
  if (
    Object.keys(obj(s.matchLabels)).length === 0 &&
    (Array.isArray(s.matchExpressions) ? s.matchExpressions : []).length === 0
  ) {
    causes.push({
      field: "spec.selector",
      message: `Invalid value: "null": empty selector is invalid for ${kind}`,
    });
    return;
  }
  const labels = obj(obj(template.metadata).labels) as Record<string, string>;
  if (!selectorMatches(s, labels)) {
    causes.push({
      field: `${templatePath}.metadata.labels`,
      message: `Invalid value: ${goMap(labels)}: \`selector\` does not match template \`labels\``,
    });
  }
}

function checkRestartPolicy(template: Obj, path: string, allowed: string[], c: StatusCause[]) {
  const rp = obj(template.spec).restartPolicy;
  if (typeof rp === "string" && !allowed.includes(rp)) {
    c.push({
      field: `${path}.spec.restartPolicy`,
      reason: "FieldValueNotSupported",
      message: `Unsupported value: ${JSON.stringify(rp)}: supported values: ${
        allowed.map((a) => JSON.stringify(a)).join(", ")
      }`,
    });
  }
}

function checkNonNegative(spec: Obj, field: string, prefix: string, c: StatusCause[]): void {
  const v = getOwn(spec, field);
  if (typeof v === "number" && v < 0) {
    c.push({
      field: `${prefix}.${field}`,
      message: `Invalid value: ${v}: must be greater than or equal to 0`,
    });
  }
}

/** Semantic checks after defaulting; throws 422 Invalid listing every problem. */
function validate(def: ResourceDef, o: KObject): void {
  const c: StatusCause[] = [];
  const spec = obj(o.spec);
  switch (def.resource) {
    case "deployments":
    case "replicasets": {
      const template = obj(spec.template);
      checkSelector(def.singular, spec, "spec.template", template, c, true);
      checkRestartPolicy(template, "spec.template", ["Always"], c);
      checkNonNegative(spec, "replicas", "spec", c);
      if (def.resource === "deployments") {
        const t = obj(spec.strategy).type;
        if (t !== "RollingUpdate" && t !== "Recreate") {
          c.push({
            field: "spec.strategy.type",
            reason: "FieldValueNotSupported",
            message: `Unsupported value: ${
              JSON.stringify(t)
            }: supported values: "Recreate", "RollingUpdate"`,
          });
        }
      }
      break;
    }
    case "daemonsets": {
      const template = obj(spec.template);
      checkSelector("daemonset", spec, "spec.template", template, c, true);
      checkRestartPolicy(template, "spec.template", ["Always"], c);
      const t = obj(spec.updateStrategy).type;
      if (t !== "RollingUpdate" && t !== "OnDelete") {
        c.push({
          field: "spec.updateStrategy.type",
          reason: "FieldValueNotSupported",
          message: `Unsupported value: ${
            JSON.stringify(t)
          }: supported values: "OnDelete", "RollingUpdate"`,
        });
      }
      break;
    }
    case "statefulsets": {
      const template = obj(spec.template);
      checkSelector("statefulset", spec, "spec.template", template, c, true);
      checkRestartPolicy(template, "spec.template", ["Always"], c);
      checkNonNegative(spec, "replicas", "spec", c);
      const p = spec.podManagementPolicy;
      if (p !== "OrderedReady" && p !== "Parallel") {
        c.push({
          field: "spec.podManagementPolicy",
          reason: "FieldValueNotSupported",
          message: `Unsupported value: ${
            JSON.stringify(p)
          }: supported values: "OrderedReady", "Parallel"`,
        });
      }
      break;
    }
    case "jobs": {
      const template = obj(spec.template);
      checkSelector("job", spec, "spec.template", template, c, true);
      checkRestartPolicy(template, "spec.template", ["OnFailure", "Never"], c);
      for (const f of ["parallelism", "completions", "backoffLimit", "ttlSecondsAfterFinished"]) {
        checkNonNegative(spec, f, "spec", c);
      }
      break;
    }
    case "cronjobs": {
      const schedule = spec.schedule;
      if (typeof schedule !== "string" || schedule === "") {
        c.push({ field: "spec.schedule", reason: "FieldValueRequired", message: "Required value" });
      } else {
        const tz = typeof spec.timeZone === "string" ? spec.timeZone : undefined;
        if (tz !== undefined && !isValidTimeZone(tz)) {
          c.push({
            field: "spec.timeZone",
            message: `Invalid value: ${JSON.stringify(tz)}: unknown time zone ${tz}`,
          });
        } else {
          try {
            parseCronSchedule(schedule, tz);
          } catch (e) {
            if (!(e instanceof CronSyntaxError)) throw e;
            c.push({
              field: "spec.schedule",
              message: `Invalid value: ${JSON.stringify(schedule)}: ${e.message}`,
            });
          }
        }
      }
      const cp = spec.concurrencyPolicy;
      if (cp !== "Allow" && cp !== "Forbid" && cp !== "Replace") {
        c.push({
          field: "spec.concurrencyPolicy",
          reason: "FieldValueNotSupported",
          message: `Unsupported value: ${
            JSON.stringify(cp)
          }: supported values: "Allow", "Forbid", "Replace"`,
        });
      }
      const jspec = obj(obj(spec.jobTemplate).spec);
      checkSelector("job", jspec, "spec.jobTemplate.spec.template", obj(jspec.template), c, false);
      checkRestartPolicy(
        obj(jspec.template),
        "spec.jobTemplate.spec.template",
        ["OnFailure", "Never"],
        c,
      );
      break;
    }
    case "controllerrevisions": {
      const r = o.revision;
      if (r === undefined || r === null) {
        c.push({ field: "revision", reason: "FieldValueRequired", message: "Required value" });
      } else if (typeof r === "number" && r < 0) {
        c.push({
          field: "revision",
          message: `Invalid value: ${r}: must be greater than or equal to 0`,
        });
      }
      break;
    }
  }
  if (c.length) throw invalid(def.kind, def.group, o.metadata?.name ?? "", c);
}

/** Create: defaults, the strategy's PrepareForCreate, validation. */
export function prepareWorkloadCreate(def: ResourceDef, o: KObject): void {
  defaultSpec(def, o);
  if (def.resource === "jobs") generateJobSelector(o);
  switch (def.resource) {
    case "deployments":
      o.status = {};
      break;
    case "replicasets":
      o.status = { replicas: 0 };
      break;
    case "daemonsets":
      o.status = {
        currentNumberScheduled: 0,
        numberMisscheduled: 0,
        desiredNumberScheduled: 0,
        numberReady: 0,
      };
      break;
    case "statefulsets":
      o.status = { replicas: 0, availableReplicas: 0 };
      break;
    case "jobs":
    case "cronjobs":
      o.status = {};
      break;
  }
  validate(def, o);
}

/** Update (main resource): defaults and validation; status is the old one (update_rules.ts). */
export function prepareWorkloadUpdate(def: ResourceDef, o: KObject): void {
  defaultSpec(def, o);
  validate(def, o);
}
