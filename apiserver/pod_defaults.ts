/**
 * Pod defaulting as kube-apiserver 1.32 applies it on every write (the core/v1 defaulting
 * functions and the DefaultTolerationSeconds admission plugin). Kubelets rely on these: a real
 * kubelet refuses to mount a configMap or secret volume without `defaultMode` ("no defaultMode
 * used, not even the default value for it"), which is how edgemark found that they were missing.
 * The rules are listed in docs/compatibility.md.
 */
type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function objects(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter(isObj) : [];
}

/** 0644, the mode upstream gives configMap, secret, downwardAPI and projected volumes. */
export const DEFAULT_VOLUME_MODE = 0o644;

/** Seconds the DefaultTolerationSeconds admission plugin tolerates not-ready and unreachable. */
export const DEFAULT_TOLERATION_SECONDS = 300;

function defaultFieldRef(ref: unknown): void {
  if (isObj(ref) && ref.apiVersion === undefined) ref.apiVersion = "v1";
}

function defaultDownwardItems(items: unknown): void {
  for (const item of objects(items)) defaultFieldRef(item.fieldRef);
}

const VOLUME_SOURCES = [
  "hostPath",
  "emptyDir",
  "gcePersistentDisk",
  "awsElasticBlockStore",
  "gitRepo",
  "secret",
  "nfs",
  "iscsi",
  "glusterfs",
  "persistentVolumeClaim",
  "rbd",
  "flexVolume",
  "cinder",
  "cephfs",
  "flocker",
  "downwardAPI",
  "fc",
  "azureFile",
  "configMap",
  "vsphereVolume",
  "quobyte",
  "azureDisk",
  "photonPersistentDisk",
  "projected",
  "portworxVolume",
  "scaleIO",
  "storageos",
  "csi",
  "ephemeral",
  "image",
];

function defaultVolume(v: Obj): void {
  if (!VOLUME_SOURCES.some((k) => v[k] !== undefined && v[k] !== null)) v.emptyDir = {};
  for (const k of ["configMap", "secret", "downwardAPI", "projected"]) {
    const src = v[k];
    if (isObj(src) && src.defaultMode === undefined) src.defaultMode = DEFAULT_VOLUME_MODE;
  }
  if (isObj(v.hostPath) && v.hostPath.type === undefined) v.hostPath.type = "";
  if (isObj(v.downwardAPI)) defaultDownwardItems(v.downwardAPI.items);
  if (isObj(v.projected)) {
    for (const source of objects(v.projected.sources)) {
      if (isObj(source.downwardAPI)) defaultDownwardItems(source.downwardAPI.items);
      const token = source.serviceAccountToken;
      if (isObj(token) && token.expirationSeconds === undefined) token.expirationSeconds = 3600;
    }
  }
  if (isObj(v.iscsi) && v.iscsi.iscsiInterface === undefined) v.iscsi.iscsiInterface = "default";
  if (isObj(v.rbd)) {
    v.rbd.pool ??= "rbd";
    v.rbd.user ??= "admin";
    v.rbd.keyring ??= "/etc/ceph/keyring";
  }
}

function defaultProbeHandler(h: unknown): void {
  if (!isObj(h) || !isObj(h.httpGet)) return;
  h.httpGet.path ??= "/";
  h.httpGet.scheme ??= "HTTP";
}

function defaultProbe(p: unknown): void {
  if (!isObj(p)) return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  defaultProbeHandler(p);
}

function defaultContainer(c: Obj, hostNetwork: boolean): void {
  const image = String(c.image ?? "");
  const lastSegment = image.slice(image.lastIndexOf("/") + 1);
  const untagged = !lastSegment.includes(":") && !image.includes("@");
  c.imagePullPolicy ??= untagged || image.endsWith(":latest") ? "Always" : "IfNotPresent";
  c.terminationMessagePath ??= "/dev/termination-log";
  c.terminationMessagePolicy ??= "File";
  if (!isObj(c.resources)) c.resources = {};
  const resources = c.resources as Obj;
  // Requests default to limits, key by key (SetDefaults_Pod).
  if (isObj(resources.limits)) {
    const requests: Obj = isObj(resources.requests) ? resources.requests : {};
    for (const [k, v] of Object.entries(resources.limits)) {
      if (!Object.hasOwn(requests, k)) requests[k] = v;
    }
    if (Object.keys(requests).length > 0) resources.requests = requests;
  }
  for (const port of objects(c.ports)) {
    port.protocol ??= "TCP";
    if (hostNetwork && port.hostPort === undefined) port.hostPort = port.containerPort;
  }
  for (const env of objects(c.env)) {
    if (isObj(env.valueFrom)) defaultFieldRef(env.valueFrom.fieldRef);
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  if (isObj(c.lifecycle)) {
    defaultProbeHandler(c.lifecycle.postStart);
    defaultProbeHandler(c.lifecycle.preStop);
  }
}

function hasToleration(tolerations: Obj[], key: string): boolean {
  return tolerations.some((t) =>
    (t.key === key || ((t.key === undefined || t.key === "") && t.operator === "Exists")) &&
    (t.effect === undefined || t.effect === "" || t.effect === "NoExecute")
  );
}

function defaultTolerations(spec: Obj): void {
  const tolerations = objects(spec.tolerations);
  const added: Obj[] = [];
  for (const key of ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]) {
    if (hasToleration(tolerations, key)) continue;
    added.push({
      key,
      operator: "Exists",
      effect: "NoExecute",
      tolerationSeconds: DEFAULT_TOLERATION_SECONDS,
    });
  }
  if (added.length > 0) {
    spec.tolerations = [...(Array.isArray(spec.tolerations) ? spec.tolerations : []), ...added];
  }
}

/** Applies upstream's pod spec defaults in place (create, update and every write). */
export function defaultPodSpec(spec: Obj): void {
  spec.restartPolicy ??= "Always";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= "ClusterFirst";
  spec.schedulerName ??= "default-scheduler";
  if (!isObj(spec.securityContext)) spec.securityContext = {};
  spec.enableServiceLinks ??= true;
  const hostNetwork = spec.hostNetwork === true;
  for (const c of objects(spec.containers)) defaultContainer(c, hostNetwork);
  for (const c of objects(spec.initContainers)) defaultContainer(c, hostNetwork);
  for (const c of objects(spec.ephemeralContainers)) defaultContainer(c, hostNetwork);
  for (const v of objects(spec.volumes)) defaultVolume(v);
}

/** Create-time additions of admission plugins: service account name, priority, tolerations. */
export function admitPodSpec(spec: Obj): void {
  spec.serviceAccountName ??= spec.serviceAccount ?? "default";
  spec.serviceAccount ??= spec.serviceAccountName;
  spec.priority ??= 0;
  defaultTolerations(spec);
}

function quantityOf(resources: unknown, kind: "requests" | "limits"): Obj {
  return isObj(resources) && isObj(resources[kind]) ? resources[kind] as Obj : {};
}

/** The pod's QoS class (upstream's GetPodQOS, over cpu and memory). */
export function podQosClass(spec: Obj): "Guaranteed" | "Burstable" | "BestEffort" {
  const containers = [...objects(spec.containers), ...objects(spec.initContainers)];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const requests = quantityOf(c.resources, "requests");
    const limits = quantityOf(c.resources, "limits");
    for (const r of ["cpu", "memory"]) {
      const req = requests[r];
      const lim = limits[r];
      if (req !== undefined && String(req) !== "0") any = true;
      if (lim !== undefined && String(lim) !== "0") any = true;
      if (lim === undefined || (req !== undefined && String(req) !== String(lim))) {
        guaranteed = false;
      }
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}
