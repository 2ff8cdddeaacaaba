// ahcisata: the AHCI SATA driver of the rump library (HBA, ports, ATA disks), written only
// against the hypercalls and the PCI glue, so it runs in a server task or linked into a test.
export { AhciHba, findAhci, PCI_CLASS_AHCI, type AhciAttachOptions } from "./hba.js";
export { AhciDrive, type AtaDrive } from "./drive.js";
export {
  AhciPort,
  AHCI_BOUNCE_SIZE,
  AHCI_MAX_PRDS,
  type AtaCommand,
  type AtaCommandError,
  type AtaDataDirection,
} from "./port.js";
export { parseIdentify, type AtaIdentity } from "./identify.js";
export { buildH2dFis, type AtaTaskFile } from "./fis.js";
export { buildPrdt, prdCount } from "./prdt.js";
export { SlotQueue } from "./slots.js";
export * as ahcireg from "./ahcireg.js";
export * as atareg from "./atareg.js";
