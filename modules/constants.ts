/**
 * KubeEdge's wire constants (docs/protocol.md §1.4–1.7), named as on the wire.
 */

/** Operations used in `route.operation`. */
export const Operation = {
  Insert: "insert",
  Delete: "delete",
  Query: "query",
  Update: "update",
  Patch: "patch",
  Upload: "upload",
  Response: "response",
  Error: "error",
  UnholdUpgrade: "unhold-upgrade",
  Keepalive: "keepalive",
  Connected: "connected",
  Disconnected: "disconnected",
  Connect: "connect",
  Get: "get",
  GetResult: "get_result",
  List: "list",
  Detail: "detail",
  Delta: "delta",
  Document: "document",
  Updated: "updated",
  Deleted: "deleted",
  // viaduct control
  Header: "header",
  Config: "config",
  Ping: "ping",
  Pong: "pong",
  // CSI
  CreateVolume: "createvolume",
  DeleteVolume: "deletevolume",
  ControllerPublishVolume: "controllerpublishvolume",
  ControllerUnpublishVolume: "controllerunpublishvolume",
  // node tasks
  Upgrade: "upgrade",
  Rollback: "rollback",
  Backup: "backup",
  Prepull: "prepull",
  UpdateNodeActionStatus: "UpdateNodeActionStatus",
  ApplicationResponse: "applicationResponse",
} as const;

/** CSI volume operations (docs/protocol.md §1.4). */
export const VolumeOperations: ReadonlySet<string> = new Set([
  Operation.CreateVolume,
  Operation.DeleteVolume,
  Operation.ControllerPublishVolume,
  Operation.ControllerUnpublishVolume,
]);

/** Groups used in `route.group` (docs/protocol.md §1.5). */
export const Group = {
  Resource: "resource",
  Twin: "twin",
  Func: "func",
  User: "user",
  Meta: "meta",
  TaskManager: "taskmanager",
  DynamicController: "dynamiccontroller",
} as const;

/** Cloud module names; each module's group equals its name (docs/protocol.md §1.6). */
export const ModuleName = {
  CloudHub: "cloudhub",
  EdgeController: "edgecontroller",
  DeviceController: "devicecontroller",
  PolicyController: "policycontroller",
  TaskManager: "taskmanager",
  NodeUpgradeJobController: "nodeupgradejobcontroller",
  SyncController: "synccontroller",
  DynamicController: "dynamiccontroller",
  CloudStream: "cloudStream",
  Router: "router",
} as const;

/** Sources seen on the wire from the edge side. */
export const EdgeSource = {
  Edged: "edged",
  EventBus: "eventbus",
  ServiceBus: "servicebus",
  EdgeStream: "edgestream",
  Twin: "twin",
  WebSocket: "websocket",
  MetaManager: "metamanager",
  TaskManager: "taskmanager",
  EdgeHub: "edgehub",
  MetaServer: "metaserver",
  Bus: "bus",
  RouterEventBus: "router_eventbus",
  RouterServiceBus: "router_servicebus",
} as const;

/** Resource types (segment 3 of a cloud resource string). */
export const ResourceType = {
  Pod: "pod",
  Event: "event",
  ConfigMap: "configmap",
  ServiceAccountToken: "serviceaccounttoken",
  Secret: "secret",
  Node: "node",
  PodList: "podlist",
  PodStatus: "podstatus",
  PodPatch: "podpatch",
  NodeStatus: "nodestatus",
  NodePatch: "nodepatch",
  Rule: "rule",
  RuleEndpoint: "ruleendpoint",
  RuleStatus: "rulestatus",
  Lease: "lease",
  ServiceAccountAccess: "serviceaccountaccess",
  CertificateSigningRequest: "certificatesigningrequest",
  K8sCA: "k8s/ca.crt",
  Service: "service",
  Endpoints: "endpoints",
  PersistentVolume: "persistentvolume",
  PersistentVolumeClaim: "persistentvolumeclaim",
  VolumeAttachment: "volumeattachment",
  Volume: "volume",
  ServiceList: "servicelist",
  EndpointsList: "endpointslist",
  Device: "device",
  DeviceModel: "devicemodel",
  TwinEdgeUpdated: "twin/edge_updated",
  TwinCloudUpdated: "twin/cloud_updated",
  MembershipDetail: "membership/detail",
  Membership: "membership",
  StateUpdate: "state/update",
  Twin: "twin",
  AuthInfo: "auth_info",
} as const;

/** Content the edge and cloud use for a successful response. */
export const MessageSuccessfulContent = "OK";

/** Namespace used for cluster-scoped objects in resource strings. */
export const NullNamespace = "null";
