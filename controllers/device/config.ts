/**
 * Maps cloudcore's `modules.deviceController` section (docs/protocol.md §10) onto
 * {@link DeviceControllerOptions}.
 *
 * `buffer.updateDeviceTwins` sizes the module's inbox (twin and state messages share it, as the
 * edge sends both through one channel); `load.updateDeviceStatusWorkers` is the number of inbox
 * readers. `deviceEvent`/`deviceModelEvent`/`deviceStatusEvent` size client-go event channels,
 * which the informers here do not have: events are handled in order as they arrive.
 */
import type { DeviceController as DeviceControllerConfig } from "../../config/mod.ts";
import type { DeviceControllerOptions } from "./devicecontroller.ts";

/** The options a config section implies (merge in `kube` or `kubeConfig`). */
export function deviceControllerOptions(
  cfg: DeviceControllerConfig,
): Pick<DeviceControllerOptions, "updateDeviceTwinsBuffer" | "updateDeviceStatusWorkers"> {
  return {
    updateDeviceTwinsBuffer: Math.max(cfg.buffer.updateDeviceTwins, cfg.buffer.updateDeviceStatus),
    updateDeviceStatusWorkers: cfg.load.updateDeviceStatusWorkers,
  };
}
