/**
 * Kubernetes access for the hub, the controllers and HA: one client-node-backed
 * {@link KubeClient} with rate limits, retries and informers that report `hasSynced`; the pooled
 * {@link KubeHttp}; resourceVersion rules; the ObjectSync store ({@link SyncStore},
 * {@link KubeSyncStore}, {@link MemorySyncStore}) and the node's `cloudcore` annotation.
 *
 * @example
 * ```ts
 * import { KubeClient, isNotFound } from "./mod.ts";
 * const kube = KubeClient.fromFile("/root/.kube/config");
 * const inf = kube.informer("/api/v1/namespaces/default/configmaps", undefined, { kind: "ConfigMap", apiVersion: "v1" });
 * inf.on({ add: (cm) => {}, update: (cm, old) => {}, delete: (cm) => {} }).start();
 * await inf.synced;
 * await kube.close();
 * ```
 *
 * @module
 */
export {
  type CallOptions,
  KubeClient,
  type KubeClientOptions,
  LazyKubeConfig,
  PatchStrategy,
} from "./client.ts";
export { clientNode, type ClientNodeModule, loadClientNode } from "./client_node.ts";
export { Informer, type InformerHandlers, type InformerOptions, type ListFn } from "./informer.ts";
export {
  type KubeConfigView,
  KubeHttp,
  type KubeHttpOptions,
  type KubeTransport,
  type RequestOptions,
} from "./http.ts";
export { NodeRateLimiter, type RateLimitOptions, TokenBucket } from "./ratelimit.ts";
export {
  failureStatus,
  forbiddenStatus,
  goStatusError,
  isAlreadyExists,
  isConflict,
  isGone,
  isNotFound,
  isTransient,
  KubeApiError,
  KubeClosedError,
  KubeConfigError,
  KubeUnavailableError,
  notFoundStatus,
} from "./errors.ts";
export {
  type KubeList,
  type KubeObject,
  type KubeStatus,
  objectKey,
  type ObjectMeta,
  type WatchEvent,
} from "./types.ts";
export {
  checkResourceVersion,
  compareResourceVersion,
  parseResourceVersion,
  ResourceVersionError,
} from "./rv.ts";
export {
  MemorySyncStore,
  nodeOfObjectSyncName,
  objectSyncName,
  type ObjectSyncSpec,
  ReliableSyncsGroup,
  ReliableSyncsVersion,
  type SyncKey,
  type SyncObject,
  type SyncRecord,
  syncRecordOf,
  type SyncStore,
  uidOfObjectSyncName,
} from "./objectsync.ts";
export { KubeSyncStore, type KubeSyncStoreOptions } from "./objectsync_kube.ts";
export { CloudCoreAnnotation, kubeNodeAnnotator } from "./node_annotation.ts";
