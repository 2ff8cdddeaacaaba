// A device.defs server for tests: the routines given, and D_INVALID_OPERATION for every other
// (what a device answers for an operation it does not support).
import type { DeviceServer } from "../../generated/device.js";
import { D_INVALID_OPERATION } from "../../src/kernel/devices/device-codes.js";

export function refusingDeviceServer(impl: Partial<DeviceServer>): DeviceServer {
  const refuse = () => D_INVALID_OPERATION;
  return {
    ds_device_open: refuse,
    ds_device_close: refuse,
    ds_device_write: refuse,
    ds_device_write_inband: refuse,
    ds_device_read: refuse,
    ds_device_read_inband: refuse,
    ds_device_map: refuse,
    ds_device_set_status: refuse,
    ds_device_get_status: refuse,
    ds_device_set_filter: refuse,
    ds_device_intr_register: refuse,
    ds_device_intr_ack: refuse,
    ...impl,
  };
}
