// Guest physical memory of the simulated PC: one SharedArrayBuffer from address 0, so worker
// tasks can map it and devices DMA into it; the legacy hole 0xA0000-0xFFFFF holds the BIOS area.
import { BackendAccessError, type PhysAddr } from "./backend.js";

/** Start and end of the BIOS area where the RSDP is found by scanning (ACPI 6.5, 5.2.5.1). */
export const BIOS_AREA_START = 0xe0000;
export const BIOS_AREA_END = 0x100000;
/** The legacy VGA/option-ROM hole: not RAM, reads as zero, never written by DMA. */
export const LEGACY_HOLE_START = 0xa0000;
/** The smallest and largest guest memory the simulated PC accepts (below the PCI hole). */
export const MIN_MEMORY = 2 * 1024 * 1024;
export const MAX_MEMORY = 0xb000_0000;

export class PhysicalMemory {
  /** Shared with worker-thread tasks: byte `a` of this buffer is physical address `a`. */
  readonly buffer: SharedArrayBuffer;
  readonly bytes: Uint8Array;
  readonly view: DataView;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < MIN_MEMORY || size > MAX_MEMORY || size % 4096 !== 0) {
      throw new RangeError(
        `memory size ${size} must be a multiple of 4096 between ${MIN_MEMORY} and ${MAX_MEMORY}`,
      );
    }
    this.buffer = new SharedArrayBuffer(size);
    this.bytes = new Uint8Array(this.buffer);
    this.view = new DataView(this.buffer);
  }

  /** RAM ranges [start, end): conventional memory and everything above 1 MiB. */
  ramRanges(): readonly (readonly [PhysAddr, PhysAddr])[] {
    return [
      [0, LEGACY_HOLE_START],
      [BIOS_AREA_END, this.size],
    ];
  }

  /** True when [addr, addr+length) lies inside the buffer (RAM, hole or BIOS area). */
  contains(addr: PhysAddr, length: number): boolean {
    return (
      Number.isInteger(addr) &&
      Number.isInteger(length) &&
      addr >= 0 &&
      length >= 0 &&
      addr + length <= this.size
    );
  }

  /** True when [addr, addr+length) is entirely RAM: the only memory DMA may write. */
  isRam(addr: PhysAddr, length: number): boolean {
    if (!this.contains(addr, length)) return false;
    const end = addr + length;
    return end <= LEGACY_HOLE_START || addr >= BIOS_AREA_END;
  }

  /** A view (no copy) of [addr, addr+length); throws BackendAccessError when outside memory. */
  window(addr: PhysAddr, length: number): Uint8Array {
    if (!this.contains(addr, length)) {
      throw new BackendAccessError(
        "out-of-range",
        `physical range 0x${addr.toString(16)}+0x${length.toString(16)} is outside guest memory (0x${this.size.toString(16)} bytes)`,
      );
    }
    return this.bytes.subarray(addr, addr + length);
  }

  /** A copy of [addr, addr+length). */
  read(addr: PhysAddr, length: number): Uint8Array {
    return this.window(addr, length).slice();
  }

  /** Writes into RAM; the legacy hole and the BIOS area are read-only to the guest. */
  write(addr: PhysAddr, data: Uint8Array): void {
    if (!this.contains(addr, data.length)) this.window(addr, data.length);
    if (!this.isRam(addr, data.length)) {
      throw new BackendAccessError(
        "read-only",
        `physical range 0x${addr.toString(16)}+0x${data.length.toString(16)} touches the read-only BIOS area`,
      );
    }
    this.bytes.set(data, addr);
  }

  /** Firmware-side write (building ACPI tables into the BIOS area). */
  loadFirmware(addr: PhysAddr, data: Uint8Array): void {
    this.window(addr, data.length).set(data);
  }

  read32(addr: PhysAddr): number {
    return this.view.getUint32(addr, true);
  }
  write32(addr: PhysAddr, value: number): void {
    this.view.setUint32(addr, value >>> 0, true);
  }
  /** A 64-bit little-endian value from a lo/hi pair, as a number (exact below 2^53). */
  read64(addr: PhysAddr): number {
    return this.view.getUint32(addr, true) + this.view.getUint32(addr + 4, true) * 0x1_0000_0000;
  }
}
