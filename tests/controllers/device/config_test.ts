/** deviceController config section → DeviceController options. */
import { assertEquals } from "../../assert.ts";
import { deviceControllerOptions } from "../../../controllers/device/mod.ts";

Deno.test("deviceControllerOptions: buffers and workers from cloudcore.yaml", () => {
  assertEquals(
    deviceControllerOptions({
      enable: true,
      buffer: {
        updateDeviceTwins: 1024,
        updateDeviceStatus: 2048,
        deviceEvent: 1,
        deviceModelEvent: 1,
        deviceStatusEvent: 1,
      },
      load: { updateDeviceStatusWorkers: 4 },
    }),
    { updateDeviceTwinsBuffer: 2048, updateDeviceStatusWorkers: 4 },
  );
});
