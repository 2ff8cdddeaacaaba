// The QEMU backend's public surface: QemuBackend (a q35 PC over qtest), its launcher options,
// and the qtest client for callers that need commands the MachineBackend interface lacks.
export { QemuBackend, DMA_POOL_FLOOR } from "./qemu-backend.js";
export {
  launchQemu,
  qemuArguments,
  QemuProcess,
  ICH9_AHCI_BUS,
  DEFAULT_MEMORY_MIB,
  type QemuLaunchOptions,
  type QemuExit,
} from "./qemu-launcher.js";
export { QtestClient, QtestCommandError, type QtestIrqEvent } from "./qtest-client.js";
export { E820_RAM, type MemoryMapEntry } from "./memory-map.js";
