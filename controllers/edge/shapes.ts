/**
 * Typed views of the Kubernetes objects the EdgeController reads and writes: only the fields it
 * touches, every one optional (the objects come from edges and the API as raw JSON), the rest
 * kept through index signatures. In place of `any`: a misspelt field is now a type error.
 */
import type { KubeObject, ObjectMeta } from "../../kube/mod.ts";

/** A named reference as pods use them (`configMap.name`, `secretRef.name`, ...). */
export interface NameRef {
  name?: string;
  [key: string]: unknown;
}

/** A pod volume: the sources that reference other objects. */
export interface VolumeLike {
  name?: string;
  configMap?: NameRef;
  secret?: { secretName?: string; [key: string]: unknown };
  persistentVolumeClaim?: { claimName?: string; [key: string]: unknown };
  csi?: { nodePublishSecretRef?: NameRef; [key: string]: unknown };
  ephemeral?: unknown;
  projected?: { sources?: { configMap?: NameRef; secret?: NameRef }[]; [key: string]: unknown };
  [key: string]: unknown;
}

/** A container: the environment sources that reference ConfigMaps and Secrets. */
export interface ContainerLike {
  name?: string;
  envFrom?: { configMapRef?: NameRef; secretRef?: NameRef }[];
  env?: { valueFrom?: { configMapKeyRef?: NameRef; secretKeyRef?: NameRef } }[];
  [key: string]: unknown;
}

/** `spec` of a Pod. */
export interface PodSpecLike {
  nodeName?: string;
  volumes?: VolumeLike[];
  containers?: ContainerLike[];
  initContainers?: ContainerLike[];
  ephemeralContainers?: ContainerLike[];
  imagePullSecrets?: NameRef[];
  serviceAccountName?: string;
  serviceAccount?: string;
  [key: string]: unknown;
}

/** A condition of a pod or node status. */
export interface ConditionLike {
  type?: string;
  status?: string;
  lastTransitionTime?: string | null;
  lastHeartbeatTime?: string | null;
  [key: string]: unknown;
}

/** One container's status. */
export interface ContainerStatusLike {
  name?: string;
  state?: { running?: unknown; terminated?: unknown; waiting?: unknown; [key: string]: unknown };
  [key: string]: unknown;
}

/** `status` of a Pod. */
export interface PodStatusLike {
  phase?: string;
  startTime?: string | null;
  conditions?: ConditionLike[];
  containerStatuses?: ContainerStatusLike[];
  initContainerStatuses?: ContainerStatusLike[];
  ephemeralContainerStatuses?: ContainerStatusLike[];
  [key: string]: unknown;
}

/** A Pod. */
export interface PodLike extends KubeObject {
  metadata?: ObjectMeta;
  spec?: PodSpecLike;
  status?: PodStatusLike;
}

/** The spec of a ServiceAccount TokenRequest. */
export interface TokenRequestLike extends KubeObject {
  metadata?: ObjectMeta;
  spec?: {
    boundObjectRef?: { kind?: string; name?: string; uid?: string };
    [key: string]: unknown;
  };
}

/** `podOf(o)`: any object read as a Pod (fields absent when it is not one). */
export function podOf(o: KubeObject | undefined): PodLike {
  return (o ?? {}) as PodLike;
}

/** `status` of a Node. */
export interface NodeStatusLike {
  conditions?: ConditionLike[];
  volumesAttached?: unknown;
  daemonEndpoints?: { kubeletEndpoint?: { Port?: number }; [key: string]: unknown };
  [key: string]: unknown;
}

/** A Node. */
export interface NodeLike extends KubeObject {
  metadata?: ObjectMeta;
  status?: NodeStatusLike;
}
