// The host backend's public surface: HostBackend (this Linux machine's PCI and ACPI, read-only)
// and the sysfs readers it is built from.
export { HostBackend, DEFAULT_HOST_PATHS, type HostPaths } from "./host-backend.js";
export {
  listSysfsPci,
  readSysfsConfig,
  pciKey,
  type PciAddress,
  type SysfsPciFunction,
} from "./sysfs-pci.js";
export { readSysfsAcpiTables, tableHeader, tableChecksum, hasChecksum } from "./sysfs-acpi.js";
export { parseMcfg, decodeEcam, type EcamWindow } from "./config-mechanism1.js";
