// The "mem" device: device_map of physical ranges that are not RAM (MMIO, the BIOS area where
// the firmware tables are). RAM is refused, as gnumach's memmmap refuses every RAM page.
import type { MachineBackend } from "../../machine/backend.js";
import {
  D_INVALID_OPERATION,
  D_INVALID_SIZE,
  D_READ_ONLY,
  D_SUCCESS,
  VM_PROT_ALL,
  VM_PROT_NONE,
  VM_PROT_WRITE,
  type io_return_t,
} from "./device-codes.js";
import { PhysicalMapping } from "./physical-mapping.js";

const PAGE = 4096n;
/** Physical addresses stay below 2^52 (x86_64's architectural limit). */
const PHYS_LIMIT = 1n << 52n;

export class MemDevice {
  constructor(private readonly backend: MachineBackend) {}

  /**
   * Whether [offset, offset+size) may be mapped with `prot`. The check covers whole pages, as a
   * mapping does: a range touching any page of RAM is D_INVALID_OPERATION.
   */
  checkMap(prot: number, offset: bigint, size: bigint): io_return_t {
    if (prot === VM_PROT_NONE || (prot & ~VM_PROT_ALL) !== 0) return D_INVALID_OPERATION;
    if (size <= 0n || offset < 0n || offset + size > PHYS_LIMIT) return D_INVALID_SIZE;
    if (prot & VM_PROT_WRITE && !this.backend.writable) return D_READ_ONLY;
    const start = (offset / PAGE) * PAGE;
    const end = ((offset + size + PAGE - 1n) / PAGE) * PAGE;
    for (const [s, e] of this.backend.ramRanges()) {
      if (BigInt(s) < end && start < BigInt(e)) return D_INVALID_OPERATION;
    }
    return D_SUCCESS;
  }

  /** The mapping of a range checkMap accepted. */
  map(prot: number, offset: bigint, size: bigint): PhysicalMapping {
    return new PhysicalMapping(this.backend, Number(offset), Number(size), prot);
  }
}
