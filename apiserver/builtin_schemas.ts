/**
 * The type tables of the built-in kinds the embedded API serves: for each, the fields a typed
 * client decodes into a non-string Go type (unknown fields pass). validate.ts checks objects
 * against them.
 */

/** A field's type: a JSON type, a composite, or a kube-specific check. */
export type Schema =
  | "string"
  | "integer"
  | "boolean"
  | "object"
  | "any"
  /** resource.Quantity: a string or a JSON number. */
  | "quantity"
  /** intstr.IntOrString. */
  | "intOrString"
  /** []byte: a base64 string. */
  | "bytes"
  | { map: Schema; keys?: "label" | "annotation" | "config" }
  | { list: Schema }
  | { fields: Fields };

export type Fields = { [field: string]: Schema };

/** Short names for the JSON types in the tables below. */
export const S = "string", I = "integer", B = "boolean", O = "object", Q = "quantity";
/** A map of values of `of` (with a key syntax check). */
export const map = (of: Schema, keys?: "label" | "annotation" | "config"): Schema => ({
  map: of,
  keys,
});
/** A list of `of`. */
export const list = (of: Schema): Schema => ({ list: of });
/** An object with these typed fields (others pass). */
export const struct = (fields: Fields): Schema => ({ fields });

const OBJECT_REF = struct({
  kind: S,
  namespace: S,
  name: S,
  uid: S,
  apiVersion: S,
  resourceVersion: S,
  fieldPath: S,
});
/** ObjectMeta's typed fields, shared by every kind. */
export const METADATA = struct({
  name: S,
  generateName: S,
  namespace: S,
  selfLink: S,
  uid: S,
  resourceVersion: S,
  generation: I,
  creationTimestamp: S,
  deletionTimestamp: S,
  deletionGracePeriodSeconds: I,
  labels: map(S, "label"),
  annotations: map(S, "annotation"),
  ownerReferences: list(struct({
    apiVersion: S,
    kind: S,
    name: S,
    uid: S,
    controller: B,
    blockOwnerDeletion: B,
  })),
  finalizers: list(S),
  managedFields: list(O),
});
const CONDITION = struct({
  type: S,
  status: S,
  reason: S,
  message: S,
  lastTransitionTime: S,
  lastHeartbeatTime: S,
  lastProbeTime: S,
  lastUpdateTime: S,
  observedGeneration: I,
});
const RESOURCES = struct({ limits: map(Q), requests: map(Q), claims: list(O) });
const CONTAINER = struct({
  name: S,
  image: S,
  command: list(S),
  args: list(S),
  workingDir: S,
  ports: list(struct({ name: S, containerPort: I, hostPort: I, protocol: S, hostIP: S })),
  env: list(struct({ name: S, value: S, valueFrom: O })),
  envFrom: list(O),
  resources: RESOURCES,
  volumeMounts: list(struct({
    name: S,
    mountPath: S,
    readOnly: B,
    subPath: S,
    subPathExpr: S,
    mountPropagation: S,
    recursiveReadOnly: S,
  })),
  volumeDevices: list(O),
  livenessProbe: O,
  readinessProbe: O,
  startupProbe: O,
  lifecycle: O,
  terminationMessagePath: S,
  terminationMessagePolicy: S,
  imagePullPolicy: S,
  securityContext: O,
  stdin: B,
  stdinOnce: B,
  tty: B,
  restartPolicy: S,
  resizePolicy: list(O),
});
const CONTAINER_STATUS = struct({
  name: S,
  state: O,
  lastState: O,
  ready: B,
  restartCount: I,
  image: S,
  imageID: S,
  containerID: S,
  started: B,
  allocatedResources: map(Q),
  resources: O,
  volumeMounts: list(O),
});
const POD_SPEC = struct({
  containers: list(CONTAINER),
  initContainers: list(CONTAINER),
  ephemeralContainers: list(CONTAINER),
  volumes: list(struct({ name: S })),
  nodeName: S,
  nodeSelector: map(S),
  serviceAccountName: S,
  serviceAccount: S,
  automountServiceAccountToken: B,
  restartPolicy: S,
  terminationGracePeriodSeconds: I,
  activeDeadlineSeconds: I,
  dnsPolicy: S,
  dnsConfig: O,
  hostNetwork: B,
  hostPID: B,
  hostIPC: B,
  hostUsers: B,
  shareProcessNamespace: B,
  securityContext: O,
  imagePullSecrets: list(struct({ name: S })),
  hostname: S,
  subdomain: S,
  setHostnameAsFQDN: B,
  affinity: O,
  schedulerName: S,
  tolerations: list(struct({ key: S, operator: S, value: S, effect: S, tolerationSeconds: I })),
  hostAliases: list(struct({ ip: S, hostnames: list(S) })),
  priorityClassName: S,
  priority: I,
  preemptionPolicy: S,
  readinessGates: list(O),
  runtimeClassName: S,
  enableServiceLinks: B,
  overhead: map(Q),
  topologySpreadConstraints: list(O),
  os: O,
  schedulingGates: list(O),
  resourceClaims: list(O),
});
const POD_STATUS = struct({
  phase: S,
  conditions: list(CONDITION),
  message: S,
  reason: S,
  nominatedNodeName: S,
  hostIP: S,
  hostIPs: list(struct({ ip: S })),
  podIP: S,
  podIPs: list(struct({ ip: S })),
  startTime: S,
  initContainerStatuses: list(CONTAINER_STATUS),
  containerStatuses: list(CONTAINER_STATUS),
  ephemeralContainerStatuses: list(CONTAINER_STATUS),
  qosClass: S,
  resize: S,
  resourceClaimStatuses: list(O),
});
const ENDPOINT_ADDRESS = struct({ ip: S, hostname: S, nodeName: S, targetRef: OBJECT_REF });

const LABEL_SELECTOR = struct({
  matchLabels: map(S, "label"),
  matchExpressions: list(struct({ key: S, operator: S, values: list(S) })),
});
const POD_TEMPLATE = struct({ metadata: METADATA, spec: POD_SPEC });
const JOB_SPEC = struct({
  parallelism: I,
  completions: I,
  activeDeadlineSeconds: I,
  podFailurePolicy: O,
  successPolicy: O,
  backoffLimit: I,
  backoffLimitPerIndex: I,
  maxFailedIndexes: I,
  selector: LABEL_SELECTOR,
  manualSelector: B,
  template: POD_TEMPLATE,
  ttlSecondsAfterFinished: I,
  completionMode: S,
  suspend: B,
  podReplacementPolicy: S,
  managedBy: S,
});
/** apps/v1 and batch/v1 workloads other than Deployments/ReplicaSets (apiserver/workloads.ts). */
const WORKLOADS: Record<string, Fields> = {
  "daemonsets.apps": {
    spec: struct({
      selector: LABEL_SELECTOR,
      template: POD_TEMPLATE,
      updateStrategy: struct({
        type: S,
        rollingUpdate: struct({ maxUnavailable: "intOrString", maxSurge: "intOrString" }),
      }),
      minReadySeconds: I,
      revisionHistoryLimit: I,
    }),
    status: struct({
      currentNumberScheduled: I,
      numberMisscheduled: I,
      desiredNumberScheduled: I,
      numberReady: I,
      observedGeneration: I,
      updatedNumberScheduled: I,
      numberAvailable: I,
      numberUnavailable: I,
      collisionCount: I,
      conditions: list(CONDITION),
    }),
  },
  "statefulsets.apps": {
    spec: struct({
      replicas: I,
      selector: LABEL_SELECTOR,
      template: POD_TEMPLATE,
      volumeClaimTemplates: list(struct({ metadata: METADATA, spec: O, status: O })),
      serviceName: S,
      podManagementPolicy: S,
      updateStrategy: struct({
        type: S,
        rollingUpdate: struct({ partition: I, maxUnavailable: "intOrString" }),
      }),
      revisionHistoryLimit: I,
      minReadySeconds: I,
      persistentVolumeClaimRetentionPolicy: struct({ whenDeleted: S, whenScaled: S }),
      ordinals: struct({ start: I }),
    }),
    status: struct({
      observedGeneration: I,
      replicas: I,
      readyReplicas: I,
      currentReplicas: I,
      updatedReplicas: I,
      currentRevision: S,
      updateRevision: S,
      collisionCount: I,
      conditions: list(CONDITION),
      availableReplicas: I,
    }),
  },
  "controllerrevisions.apps": { data: "any", revision: I },
  "jobs.batch": {
    spec: JOB_SPEC,
    status: struct({
      conditions: list(CONDITION),
      startTime: S,
      completionTime: S,
      active: I,
      succeeded: I,
      failed: I,
      terminating: I,
      completedIndexes: S,
      failedIndexes: S,
      uncountedTerminatedPods: struct({ succeeded: list(S), failed: list(S) }),
      ready: I,
    }),
  },
  "cronjobs.batch": {
    spec: struct({
      schedule: S,
      timeZone: S,
      startingDeadlineSeconds: I,
      concurrencyPolicy: S,
      suspend: B,
      jobTemplate: struct({ metadata: METADATA, spec: JOB_SPEC }),
      successfulJobsHistoryLimit: I,
      failedJobsHistoryLimit: I,
    }),
    status: struct({
      active: list(OBJECT_REF),
      lastScheduleTime: S,
      lastSuccessfulTime: S,
    }),
  },
};

/** Top-level fields (besides apiVersion, kind, metadata) of each built-in, by storage key. */
/** The built-in kinds served, by `<group>/<resource>`, with their typed fields. */
export const BUILTIN: Record<string, Fields> = {
  namespaces: {
    spec: struct({ finalizers: list(S) }),
    status: struct({ phase: S, conditions: list(CONDITION) }),
  },
  nodes: {
    spec: struct({
      podCIDR: S,
      podCIDRs: list(S),
      providerID: S,
      unschedulable: B,
      taints: list(struct({ key: S, value: S, effect: S, timeAdded: S })),
      configSource: O,
      externalID: S,
    }),
    status: struct({
      capacity: map(Q),
      allocatable: map(Q),
      phase: S,
      conditions: list(CONDITION),
      addresses: list(struct({ type: S, address: S })),
      daemonEndpoints: struct({ kubeletEndpoint: struct({ Port: I }) }),
      nodeInfo: struct({
        machineID: S,
        systemUUID: S,
        bootID: S,
        kernelVersion: S,
        osImage: S,
        containerRuntimeVersion: S,
        kubeletVersion: S,
        kubeProxyVersion: S,
        operatingSystem: S,
        architecture: S,
        swap: O,
      }),
      images: list(struct({ names: list(S), sizeBytes: I })),
      volumesInUse: list(S),
      volumesAttached: list(struct({ name: S, devicePath: S })),
      config: O,
      runtimeHandlers: list(O),
      features: O,
    }),
  },
  pods: { spec: POD_SPEC, status: POD_STATUS },
  configmaps: { data: map(S, "config"), binaryData: map("bytes", "config"), immutable: B },
  secrets: {
    data: map("bytes", "config"),
    stringData: map(S, "config"),
    type: S,
    immutable: B,
  },
  services: {
    spec: struct({
      ports: list(struct({
        name: S,
        protocol: S,
        appProtocol: S,
        port: I,
        targetPort: "intOrString",
        nodePort: I,
      })),
      selector: map(S),
      clusterIP: S,
      clusterIPs: list(S),
      type: S,
      externalIPs: list(S),
      sessionAffinity: S,
      sessionAffinityConfig: O,
      loadBalancerIP: S,
      loadBalancerSourceRanges: list(S),
      loadBalancerClass: S,
      externalName: S,
      externalTrafficPolicy: S,
      internalTrafficPolicy: S,
      healthCheckNodePort: I,
      publishNotReadyAddresses: B,
      ipFamilies: list(S),
      ipFamilyPolicy: S,
      allocateLoadBalancerNodePorts: B,
      trafficDistribution: S,
    }),
    status: struct({ loadBalancer: O, conditions: list(O) }),
  },
  endpoints: {
    subsets: list(struct({
      addresses: list(ENDPOINT_ADDRESS),
      notReadyAddresses: list(ENDPOINT_ADDRESS),
      ports: list(struct({ name: S, port: I, protocol: S, appProtocol: S })),
    })),
  },
  events: {
    involvedObject: OBJECT_REF,
    reason: S,
    message: S,
    source: struct({ component: S, host: S }),
    firstTimestamp: S,
    lastTimestamp: S,
    count: I,
    type: S,
    eventTime: S,
    series: struct({ count: I, lastObservedTime: S }),
    action: S,
    related: OBJECT_REF,
    reportingComponent: S,
    reportingInstance: S,
  },
  persistentvolumes: {
    spec: struct({
      capacity: map(Q),
      accessModes: list(S),
      claimRef: OBJECT_REF,
      persistentVolumeReclaimPolicy: S,
      storageClassName: S,
      mountOptions: list(S),
      volumeMode: S,
      nodeAffinity: O,
    }),
    status: struct({ phase: S, message: S, reason: S, lastPhaseTransitionTime: S }),
  },
  persistentvolumeclaims: {
    spec: struct({
      accessModes: list(S),
      selector: O,
      resources: RESOURCES,
      volumeName: S,
      storageClassName: S,
      volumeMode: S,
      dataSource: O,
      dataSourceRef: O,
      volumeAttributesClassName: S,
    }),
    status: struct({
      phase: S,
      accessModes: list(S),
      capacity: map(Q),
      conditions: list(CONDITION),
    }),
  },
  serviceaccounts: {
    secrets: list(OBJECT_REF),
    imagePullSecrets: list(struct({ name: S })),
    automountServiceAccountToken: B,
  },
  "leases.coordination.k8s.io": {
    spec: struct({
      holderIdentity: S,
      leaseDurationSeconds: I,
      acquireTime: S,
      renewTime: S,
      leaseTransitions: I,
      strategy: S,
      preferredHolder: S,
    }),
  },
  "volumeattachments.storage.k8s.io": {
    spec: struct({ attacher: S, nodeName: S, source: O }),
    status: struct({ attached: B, attachmentMetadata: map(S), attachError: O, detachError: O }),
  },
  "certificatesigningrequests.certificates.k8s.io": {
    spec: struct({
      request: "bytes",
      signerName: S,
      expirationSeconds: I,
      usages: list(S),
      username: S,
      uid: S,
      groups: list(S),
      extra: map(list(S)),
    }),
    status: struct({ conditions: list(CONDITION), certificate: "bytes" }),
  },
  "customresourcedefinitions.apiextensions.k8s.io": {
    spec: struct({
      group: S,
      names: struct({
        plural: S,
        singular: S,
        kind: S,
        listKind: S,
        shortNames: list(S),
        categories: list(S),
      }),
      scope: S,
      versions: list(struct({
        name: S,
        served: B,
        storage: B,
        deprecated: B,
        deprecationWarning: S,
        schema: struct({ openAPIV3Schema: O }),
        subresources: O,
        additionalPrinterColumns: list(struct({
          name: S,
          type: S,
          format: S,
          description: S,
          priority: I,
          jsonPath: S,
        })),
        selectableFields: list(O),
      })),
      conversion: O,
      preserveUnknownFields: B,
    }),
    status: O,
  },
  ...WORKLOADS,
};
