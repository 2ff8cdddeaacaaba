// The ISA/LPC bridge at 00:1f.0, modelled on ICH9 (8086:2918, class 0601): function 0 of the
// multi-function device 31 that also holds the AHCI controller; its PMBASE names the ACPI ports.
import { PciFunction } from "./pci-bus.js";
import { ACPI_PM_BASE } from "./acpi-pm.js";

export const LPC_VENDOR = 0x8086;
export const LPC_DEVICE = 0x2918;

export function createLpcBridge(): PciFunction {
  const f = new PciFunction({
    vendor: LPC_VENDOR,
    device: LPC_DEVICE,
    classCode: 0x060100,
    revision: 0x02,
    subsystemVendor: 0x1af4,
    subsystem: 0x1100,
    multiFunction: true,
  });
  const c = new DataView(f.config.buffer);
  c.setUint32(0x40, ACPI_PM_BASE | 1, true); // PMBASE (I/O space indicator)
  c.setUint8(0x44, 0x80); // ACPI_CNTL: ACPI decode enabled, SCI on IRQ9
  return f;
}
