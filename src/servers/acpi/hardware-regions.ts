// The AML interpreter's way to the hardware: SystemIO through port I/O, SystemMemory through
// MMIO, and PCI_Config through whatever owns configuration space (the pci-arbiter).
import type { AccessWidth, HardwareAccess } from "../../machine/backend.js";
import type { RegionAccess, RegionHandler } from "./aml/index.js";

/** Configuration-space access for PCI_Config regions (the pci-arbiter, or a direct one). */
export interface PciConfigPort {
  read(bus: number, dev: number, func: number, offset: number, width: AccessWidth): Promise<number>;
  write(
    bus: number,
    dev: number,
    func: number,
    offset: number,
    width: AccessWidth,
    value: number,
  ): Promise<void>;
}

function widthOf(a: RegionAccess): AccessWidth {
  if (a.width === 8) return 1;
  if (a.width === 16) return 2;
  if (a.width === 32) return 4;
  throw new Error(`${a.region}: 64-bit ${a.spaceName} accesses are not supported`);
}

/** A RegionHandler over a machine; accesses the machine refuses fail the AML operation. */
export function hardwareRegions(
  backend: HardwareAccess,
  pci: PciConfigPort | undefined,
): RegionHandler {
  return {
    async read(a) {
      const w = widthOf(a);
      const addr = Number(a.address);
      switch (a.space) {
        case 0:
          return BigInt(await backend.mmioRead(addr, w));
        case 1:
          return BigInt(await backend.portRead(addr, w));
        case 2:
          if (!pci || !a.pci) throw new Error(`${a.region}: no PCI configuration access`);
          return BigInt(await pci.read(a.pci.bus, a.pci.device, a.pci.function, addr, w));
        default:
          throw new Error(`${a.region}: ${a.spaceName} regions are not supported`);
      }
    },
    async write(a, value) {
      const w = widthOf(a);
      const addr = Number(a.address);
      const v = Number(value & 0xffffffffn);
      switch (a.space) {
        case 0:
          return backend.mmioWrite(addr, w, v);
        case 1:
          return backend.portWrite(addr, w, v);
        case 2:
          if (!pci || !a.pci) throw new Error(`${a.region}: no PCI configuration access`);
          return pci.write(a.pci.bus, a.pci.device, a.pci.function, addr, w, v);
        default:
          throw new Error(`${a.region}: ${a.spaceName} regions are not supported`);
      }
    },
  };
}
