// The kernel devices of gnumach, served through the device interface: the master device port,
// "irq" (interrupt notifications), "time" (the mapped time page) and "mem" (physical ranges).
export * from "./device-codes.js";
export {
  DeviceMaster,
  KERNEL_DEVICE_NAMES,
  MAX_MEMORY_OBJECTS,
  type DeviceMapping,
  type DeviceMasterOptions,
  type DeviceNameMatch,
  type KernelDeviceName,
  type MapResult,
} from "./device-master.js";
export {
  DEVICE_INTR_NOTIFICATION_SIZE,
  DEVICE_INTR_NOTIFY,
  intrNotificationBytes,
  intrNotificationId,
  postIntrNotification,
} from "./intr-notification.js";
export { IrqLines, type IrqHost, type IrqLineState } from "./irq-lines.js";
export { MemDevice } from "./mem-device.js";
export { PhysicalMapping, type AccessResult } from "./physical-mapping.js";
export { TimeDevice, type TimeDeviceOptions } from "./time-device.js";
export {
  MAPPED_TIME_VALUE_SIZE,
  MTIME,
  TIME_PAGE_SIZE,
  TimePageReader,
  TimePageWriter,
  monotonicNanos,
  wallClock,
  type TimeValue32,
  type TimeValue64,
} from "./time-page.js";
