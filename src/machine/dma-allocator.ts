// Allocator of device-visible RAM for the simulated PC: first-fit over the RAM above 1 MiB,
// aligned blocks, explicit free. Backs MachineBackend.allocDma/freeDma.
import { BackendAccessError, type PhysAddr } from "./backend.js";

interface Block {
  start: number;
  end: number;
}

export class DmaAllocator {
  private free: Block[];
  private readonly used = new Map<number, Block>();

  constructor(start: PhysAddr, end: PhysAddr) {
    this.free = [{ start, end }];
  }

  alloc(length: number, align = 4096): PhysAddr {
    if (!Number.isInteger(length) || length <= 0) {
      throw new BackendAccessError(
        "unsupported",
        `DMA allocation length ${length} must be a positive integer`,
      );
    }
    if (!Number.isInteger(align) || align <= 0 || (align & (align - 1)) !== 0) {
      throw new BackendAccessError("unsupported", `DMA alignment ${align} must be a power of two`);
    }
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      const start = Math.ceil(b.start / align) * align;
      const end = start + length;
      if (end > b.end) continue;
      const pieces: Block[] = [];
      if (start > b.start) pieces.push({ start: b.start, end: start });
      if (end < b.end) pieces.push({ start: end, end: b.end });
      this.free.splice(i, 1, ...pieces);
      this.used.set(start, { start, end });
      return start;
    }
    throw new BackendAccessError(
      "out-of-range",
      `no ${length} bytes of DMA memory left (alignment ${align})`,
    );
  }

  release(addr: PhysAddr): void {
    const b = this.used.get(addr);
    if (!b)
      throw new BackendAccessError(
        "out-of-range",
        `0x${addr.toString(16)} is not an allocated DMA block`,
      );
    this.used.delete(addr);
    let i = this.free.findIndex((f) => f.start > b.start);
    if (i < 0) i = this.free.length;
    this.free.splice(i, 0, { ...b });
    // Merge with neighbours.
    const merged: Block[] = [];
    for (const f of this.free) {
      const last = merged[merged.length - 1];
      if (last && last.end === f.start) last.end = f.end;
      else merged.push({ ...f });
    }
    this.free = merged;
  }

  /** Bytes currently handed out. */
  inUse(): number {
    let n = 0;
    for (const b of this.used.values()) n += b.end - b.start;
    return n;
  }
}
