// Guest physical memory of the simulated PC: one SharedArrayBuffer from address 0, so worker
// tasks can map it and devices DMA into it; the legacy hole 0xA0000-0xFFFFF holds the BIOS area.
// Above 4 GiB a second bank may be attached: the kernel's shared pool, where tasks' out-of-line
// memory lives, so a driver can DMA straight into a region it will send (no bounce, no copy).
import { BackendAccessError, type PhysAddr } from "./backend.js";
import { copyBytes } from "../kernel/shared-copy.js";

/** Start and end of the BIOS area where the RSDP is found by scanning (ACPI 6.5, 5.2.5.1). */
export const BIOS_AREA_START = 0xe0000;
export const BIOS_AREA_END = 0x100000;
/** The legacy VGA/option-ROM hole: not RAM, reads as zero, never written by DMA. */
export const LEGACY_HOLE_START = 0xa0000;
/** The smallest and largest guest memory the simulated PC accepts (below the PCI hole). */
export const MIN_MEMORY = 2 * 1024 * 1024;
export const MAX_MEMORY = 0xb000_0000;

/** Where the high bank goes when the boot chain attaches one: 4 GiB, above the PCI hole. */
export const HIGH_BANK_BASE = 0x1_0000_0000;

/** RAM at [start, start + bytes.length): a view of shared memory other than the main buffer. */
interface Bank {
  readonly start: PhysAddr;
  readonly end: PhysAddr;
  readonly bytes: Uint8Array;
  readonly view: DataView;
}

export class PhysicalMemory {
  /** Shared with worker-thread tasks: byte `a` of this buffer is physical address `a`. */
  readonly buffer: SharedArrayBuffer;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  private bank: Bank | undefined;

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

  /**
   * Attaches `bytes` (a view of shared memory, whole pages) as RAM at `start`, which must lie at
   * or above the end of the main memory and be page-aligned. One bank at most; false if refused.
   */
  attachBank(start: PhysAddr, bytes: Uint8Array): boolean {
    // Not right at the end of main memory: a gap keeps any one DMA run inside one of the two.
    if (this.bank !== undefined || !Number.isSafeInteger(start) || start <= this.size) return false;
    if (start % 4096 !== 0 || bytes.byteLength === 0 || bytes.byteLength % 4096 !== 0) return false;
    if (!Number.isSafeInteger(start + bytes.byteLength)) return false;
    this.bank = {
      start,
      end: start + bytes.byteLength,
      bytes,
      view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    };
    return true;
  }

  /** The attached bank's [start, end), if any. */
  get highBank(): readonly [PhysAddr, PhysAddr] | undefined {
    return this.bank ? [this.bank.start, this.bank.end] : undefined;
  }

  /** RAM ranges [start, end): conventional memory, everything above 1 MiB, the bank if any. */
  ramRanges(): readonly (readonly [PhysAddr, PhysAddr])[] {
    const r: (readonly [PhysAddr, PhysAddr])[] = [
      [0, LEGACY_HOLE_START],
      [BIOS_AREA_END, this.size],
    ];
    if (this.bank) r.push([this.bank.start, this.bank.end]);
    return r;
  }

  /** The bank holding all of [addr, addr+length), if it is the attached one. */
  private inBank(addr: PhysAddr, length: number): Bank | undefined {
    const b = this.bank;
    return b && addr >= b.start && addr + length <= b.end ? b : undefined;
  }

  /** True when [addr, addr+length) lies inside memory (RAM, hole, BIOS area, or the bank). */
  contains(addr: PhysAddr, length: number): boolean {
    if (!Number.isSafeInteger(addr) || !Number.isSafeInteger(length) || addr < 0 || length < 0)
      return false;
    return addr + length <= this.size || this.inBank(addr, length) !== undefined;
  }

  /** True when [addr, addr+length) is entirely RAM: the only memory DMA may write. */
  isRam(addr: PhysAddr, length: number): boolean {
    if (!this.contains(addr, length)) return false;
    if (addr >= this.size) return true;
    const end = addr + length;
    return end <= LEGACY_HOLE_START || addr >= BIOS_AREA_END;
  }

  /** A view (no copy) of [addr, addr+length); throws BackendAccessError when outside memory. */
  window(addr: PhysAddr, length: number): Uint8Array {
    if (!this.contains(addr, length)) {
      throw new BackendAccessError(
        "out-of-range",
        `physical range 0x${addr.toString(16)}+0x${length.toString(16)} is outside guest memory (0x${this.size.toString(16)} bytes${this.bank ? `, and the bank at 0x${this.bank.start.toString(16)}` : ""})`,
      );
    }
    if (addr < this.size) return this.bytes.subarray(addr, addr + length);
    const b = this.bank!;
    return b.bytes.subarray(addr - b.start, addr - b.start + length);
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
    copyBytes(this.window(addr, data.length), data);
  }

  /** Firmware-side write (building ACPI tables into the BIOS area). */
  loadFirmware(addr: PhysAddr, data: Uint8Array): void {
    copyBytes(this.window(addr, data.length), data);
  }

  /** The DataView and offset for a 4-byte access at `addr` (main memory or the bank). */
  private word(addr: PhysAddr): [DataView, number] {
    if (Number.isSafeInteger(addr) && addr >= 0 && addr + 4 <= this.size) return [this.view, addr];
    const b = this.inBank(addr, 4);
    if (!b) this.window(addr, 4); // throws the out-of-range error
    return [b!.view, addr - b!.start];
  }

  read32(addr: PhysAddr): number {
    const [v, at] = this.word(addr);
    return v.getUint32(at, true);
  }
  write32(addr: PhysAddr, value: number): void {
    const [v, at] = this.word(addr);
    v.setUint32(at, value >>> 0, true);
  }
  /** A 64-bit little-endian value from a lo/hi pair, as a number (exact below 2^53). */
  read64(addr: PhysAddr): number {
    return this.read32(addr) + this.read32(addr + 4) * 0x1_0000_0000;
  }
}
