// A first-fit allocator of device-visible guest RAM for DMA buffers (command lists, FIS areas,
// PRDT targets): aligned blocks carved from one physical range, coalesced again when freed.
import { BackendAccessError, type PhysAddr } from "../backend.js";

interface Hole {
  start: PhysAddr;
  end: PhysAddr;
}

export class DmaPool {
  /** Free holes, sorted by address, never adjacent. */
  private holes: Hole[];
  /** Allocated blocks: start → end. */
  private readonly blocks = new Map<PhysAddr, PhysAddr>();

  constructor(
    readonly start: PhysAddr,
    readonly end: PhysAddr,
  ) {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end <= start) {
      throw new BackendAccessError("out-of-range", `bad DMA pool range [${start}, ${end})`);
    }
    this.holes = [{ start, end }];
  }

  /** Bytes not allocated. */
  get free(): number {
    return this.holes.reduce((n, h) => n + (h.end - h.start), 0);
  }

  alloc(length: number, align = 64): PhysAddr {
    if (!Number.isSafeInteger(length) || length <= 0) {
      throw new BackendAccessError("out-of-range", `bad DMA length ${String(length)}`);
    }
    if (
      !Number.isSafeInteger(align) ||
      align <= 0 ||
      (align & (align - 1)) !== 0 ||
      align > 1 << 30
    ) {
      throw new BackendAccessError(
        "out-of-range",
        `DMA alignment ${String(align)} is not a power of two`,
      );
    }
    for (let i = 0; i < this.holes.length; i++) {
      const h = this.holes[i]!;
      const at = Math.ceil(h.start / align) * align;
      if (at + length > h.end) continue;
      const pieces: Hole[] = [];
      if (at > h.start) pieces.push({ start: h.start, end: at });
      if (at + length < h.end) pieces.push({ start: at + length, end: h.end });
      this.holes.splice(i, 1, ...pieces);
      this.blocks.set(at, at + length);
      return at;
    }
    throw new BackendAccessError(
      "out-of-range",
      `out of DMA memory: no ${length} bytes aligned to ${align} among ${this.free} free`,
    );
  }

  release(addr: PhysAddr): void {
    const end = this.blocks.get(addr);
    if (end === undefined) {
      throw new BackendAccessError(
        "out-of-range",
        `0x${addr.toString(16)} is not an allocated DMA block`,
      );
    }
    this.blocks.delete(addr);
    let i = 0;
    while (i < this.holes.length && this.holes[i]!.start < addr) i++;
    const hole: Hole = { start: addr, end };
    const prev = this.holes[i - 1];
    const next = this.holes[i];
    if (prev && prev.end === hole.start) {
      prev.end = hole.end;
      if (next && next.start === prev.end) {
        prev.end = next.end;
        this.holes.splice(i, 1);
      }
    } else if (next && next.start === hole.end) {
      next.start = hole.start;
    } else {
      this.holes.splice(i, 0, hole);
    }
  }
}
