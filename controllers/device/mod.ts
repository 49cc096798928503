/**
 * DeviceController: Devices and DeviceModels (v1alpha2 and v1beta1) to edge nodes, twin and
 * state reports back into the API (docs/protocol.md §8).
 *
 * @module
 */
export {
  DeviceController,
  DeviceControllerError,
  type DeviceControllerOptions,
  type DeviceControllerStats,
} from "./devicecontroller.ts";
export { type DeviceApiClient, devicePath, type DevicePlural, KubeDeviceApi } from "./api.ts";
export { deviceControllerOptions } from "./config.ts";
export { type TwinBatch, TwinCoalescer, type TwinUpdate } from "./coalescer.ts";
export { ModelDeletedReason, ModelMissingAnnotation } from "./downstream.ts";
export {
  buildProfile,
  DeviceProfileConfigPrefix,
  DeviceProfileJson,
  profileConfigMapName,
} from "./profile.ts";
export { ProfileLabel } from "./profile_writer.ts";
export { type AckMode, parseUpstreamResource, TwinInputError } from "./upstream.ts";
export type { MembershipUpdate, MsgTwin } from "./wire.ts";
