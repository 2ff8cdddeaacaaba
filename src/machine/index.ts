// The simulated PC's public surface: the backend, its description file, and the pieces tests
// and other backends reuse (ACPI table builders, register maps, test disk images).
export * from "./backend.js";
export { SimBackend, type SimCreateResult } from "./sim-backend.js";
export {
  validateMachineDescription,
  parseMachineDescription,
  loadMachineDescription,
  defaultMachineDescription,
  parseSize,
  type MachineDescription,
  type DescriptionError,
  type DescriptionResult,
} from "./machine-description.js";
export { DiskImage, type DiskImageError, type DiskResult } from "./disk-image.js";
export {
  createTestDiskImage,
  sectorPattern,
  expectedSectors,
  type TestDiskImage,
} from "./test-disk-image.js";
export {
  buildAcpiTables,
  checksum as acpiChecksum,
  defaultRoute,
  type AcpiTable,
  type AcpiTableSet,
} from "./acpi-tables.js";
export { AHCI_VENDOR, AHCI_DEVICE, AHCI_CLASS, AHCI_ABAR_INDEX } from "./ahci.js";
export { ECAM_BASE, PCI_CONFIG_ADDRESS, PCI_CONFIG_DATA } from "./pci-bus.js";
export { IOAPIC_BASE } from "./interrupt-controller.js";
export { BIOS_AREA_START, BIOS_AREA_END } from "./physical-memory.js";
