// DMA-able memory for an isolated rumpdisk: one physically contiguous arena of the machine's
// shared RAM, set aside at boot (what vm_allocate_contiguous gives on gnumach), carved up here;
// and the physical addresses of the task's own pool regions where the pool is guest RAM.
import { zeroFill } from "../../kernel/zero-fill.js";
import type { PhysAddr } from "../../machine/backend.js";
import type { DmaRegion, RumpPciUser } from "../../rump/pci-user.js";
import { copyBytes } from "../../kernel/shared-copy.js";

/** The arena: guest RAM (byte N is physical address N) and the range set aside in it. */
export interface DmaArenaSpec {
  readonly ram: SharedArrayBuffer;
  readonly phys: PhysAddr;
  readonly size: number;
  /**
   * The kernel's shared pool as guest RAM (the simulated PC attaches it above 4 GiB): pool data
   * byte N (at `byteOffset + N` of `buffer`) is physical address `phys + N`. What gnumach's
   * vm_pages_phys tells a driver about its own wired pages.
   */
  readonly bank?: {
    readonly buffer: SharedArrayBuffer;
    readonly byteOffset: number;
    readonly length: number;
    readonly phys: PhysAddr;
  };
}

export class DmaArena implements Pick<
  RumpPciUser,
  "dmaAlloc" | "dmaFree" | "dmaRead" | "dmaWrite" | "physOf"
> {
  private readonly bytes: Uint8Array;
  /** Free extents [start, end), sorted, coalesced. */
  private free: [number, number][];
  private readonly used = new Map<number, number>();

  constructor(private readonly spec: DmaArenaSpec) {
    this.bytes = new Uint8Array(spec.ram);
    this.free = [[spec.phys, spec.phys + spec.size]];
  }

  async dmaAlloc(size: number, align: number): Promise<DmaRegion> {
    const a = Math.max(16, align);
    for (const [i, [s, e]] of this.free.entries()) {
      const at = Math.ceil(s / a) * a;
      if (at + size > e) continue;
      const rest: [number, number][] = [];
      if (at > s) rest.push([s, at]);
      if (at + size < e) rest.push([at + size, e]);
      this.free.splice(i, 1, ...rest);
      this.used.set(at, size);
      const shared = this.bytes.subarray(at, at + size);
      zeroFill(shared);
      return { phys: at, size, shared };
    }
    throw new RangeError(`DMA arena: no ${size} contiguous bytes left`);
  }

  async dmaFree(region: DmaRegion): Promise<void> {
    const size = this.used.get(region.phys);
    if (size === undefined) return;
    this.used.delete(region.phys);
    this.free.push([region.phys, region.phys + size]);
    this.free.sort((x, y) => x[0] - y[0]);
    const merged: [number, number][] = [];
    for (const f of this.free) {
      const last = merged[merged.length - 1];
      if (last && last[1] === f[0]) last[1] = f[1];
      else merged.push([f[0], f[1]]);
    }
    this.free = merged;
  }

  async dmaRead(phys: PhysAddr, length: number): Promise<Uint8Array> {
    return this.bytes.slice(phys, phys + length);
  }

  async dmaWrite(phys: PhysAddr, data: Uint8Array): Promise<void> {
    copyBytes(this.bytes, data, phys);
  }

  physOf(buf: Uint8Array): PhysAddr | undefined {
    const bank = this.spec.bank;
    if (bank && buf.buffer === bank.buffer) {
      const at = buf.byteOffset - bank.byteOffset;
      return at >= 0 && at + buf.byteLength <= bank.length ? bank.phys + at : undefined;
    }
    if (buf.buffer !== this.spec.ram) return undefined;
    const start = buf.byteOffset;
    return start >= this.spec.phys && start + buf.byteLength <= this.spec.phys + this.spec.size
      ? start
      : undefined;
  }
}
