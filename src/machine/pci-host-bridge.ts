// The host bridge at 00:00.0, modelled on QEMU q35's MCH (8086:29c0, class 0600): the root of
// PCI bus 0. It has no BARs; its PCIEXBAR register reports where ECAM lives.
import { ECAM_BASE, PciFunction } from "./pci-bus.js";

export const HOST_BRIDGE_VENDOR = 0x8086;
export const HOST_BRIDGE_DEVICE = 0x29c0;

export function createHostBridge(): PciFunction {
  const f = new PciFunction({
    vendor: HOST_BRIDGE_VENDOR,
    device: HOST_BRIDGE_DEVICE,
    classCode: 0x060000,
    revision: 0x00,
    subsystemVendor: 0x1af4,
    subsystem: 0x1100,
  });
  // PCIEXBAR (0x60): base, 256 buses (length field 0), enabled.
  new DataView(f.config.buffer).setUint32(0x60, (ECAM_BASE | 1) >>> 0, true);
  return f;
}
