// DMA-able memory for an isolated rumpdisk where guest RAM is not shared (QEMU): the arena the
// boot chain set aside, vm_mapped from its pager, carved up here; bytes move with explicit syncs.
import { KERN_SUCCESS, kernReturnName } from "../../kernel/kern-return.js";
import type { MemoryMapping } from "../../kernel/memory-mapping.js";
import type { TaskApi } from "../../kernel/mig/index.js";
import { VM_PROT_READ, VM_PROT_WRITE } from "../../kernel/devices/device-codes.js";
import type { PhysAddr } from "../../machine/backend.js";
import { DmaAllocator } from "../../machine/dma-allocator.js";
import type { DmaRegion, RumpPciUser } from "../../rump/pci-user.js";

/** The arena as the boot chain hands it over: its physical range and its pager (a send right). */
export interface RemoteDmaArenaSpec {
  readonly phys: PhysAddr;
  readonly size: number;
  readonly pager: number;
}

export function isRemoteDmaArenaSpec(a: unknown): a is RemoteDmaArenaSpec {
  const o = a as Record<string, unknown> | null;
  return (
    o !== null &&
    typeof o === "object" &&
    ["phys", "size", "pager"].every((k) => Number.isSafeInteger(o[k]) && (o[k] as number) >= 0) &&
    (o["size"] as number) > 0
  );
}

/** Zeroes written at most at once when a block is handed out again. */
const ZERO_CHUNK = 64 * 1024;

export class RemoteDmaArena implements Pick<
  RumpPciUser,
  "dmaAlloc" | "dmaFree" | "dmaRead" | "dmaWrite" | "physOf"
> {
  private readonly blocks: DmaAllocator;
  private readonly sizes = new Map<PhysAddr, number>();
  /** Ranges handed out before (no longer the zeroes the arena was set aside with). */
  private dirty: [number, number][] = [];

  private constructor(
    private readonly spec: RemoteDmaArenaSpec,
    private readonly mapping: MemoryMapping,
  ) {
    this.blocks = new DmaAllocator(spec.phys, spec.phys + spec.size);
  }

  /** vm_map of the arena's pager, read and write; throws with the kernel's code on failure. */
  static async map(task: TaskApi, spec: RemoteDmaArenaSpec): Promise<RemoteDmaArena> {
    const m = await task.vm_map(spec.pager, spec.phys, spec.size, VM_PROT_READ | VM_PROT_WRITE);
    if (m.kr !== KERN_SUCCESS || !m.mapping)
      throw new Error(`vm_map of the DMA arena: ${kernReturnName(m.kr)}`);
    return new RemoteDmaArena(spec, m.mapping);
  }

  private inside(phys: PhysAddr, length: number): number {
    const off = phys - this.spec.phys;
    if (!Number.isSafeInteger(off) || off < 0 || length < 0 || off + length > this.spec.size)
      throw new RangeError(`DMA arena: [0x${phys.toString(16)}, +${length}) is outside it`);
    return off;
  }

  async dmaAlloc(size: number, align: number): Promise<DmaRegion> {
    let at: number;
    try {
      at = this.blocks.alloc(size, Math.max(16, align));
    } catch {
      throw new RangeError(`DMA arena: no ${size} contiguous bytes left`);
    }
    this.sizes.set(at, size);
    // Zeroed, as the machine's allocDma gives it: only what was handed out before needs it.
    const end = at + size;
    for (const [s, e] of this.dirty) {
      const from = Math.max(s, at);
      const to = Math.min(e, end);
      for (let p = from; p < to; p += ZERO_CHUNK)
        await this.dmaWrite(p, new Uint8Array(Math.min(ZERO_CHUNK, to - p)));
    }
    this.markDirty(at, end);
    return { phys: at, size, shared: undefined };
  }

  private markDirty(s: number, e: number): void {
    const all = [...this.dirty, [s, e] as [number, number]].sort((x, y) => x[0] - y[0]);
    const merged: [number, number][] = [];
    for (const r of all) {
      const last = merged[merged.length - 1];
      if (last && last[1] >= r[0]) last[1] = Math.max(last[1], r[1]);
      else merged.push([r[0], r[1]]);
    }
    this.dirty = merged;
  }

  async dmaFree(region: DmaRegion): Promise<void> {
    if (!this.sizes.delete(region.phys)) return;
    this.blocks.release(region.phys);
  }

  async dmaRead(phys: PhysAddr, length: number): Promise<Uint8Array> {
    const r = await this.mapping.readBytes(this.inside(phys, length), length);
    if (!r.ok) throw new Error(`DMA arena read: ${kernReturnName(r.code)}`);
    return r.value;
  }

  async dmaWrite(phys: PhysAddr, data: Uint8Array): Promise<void> {
    const kr = await this.mapping.writeBytes(this.inside(phys, data.length), data);
    if (kr !== KERN_SUCCESS) throw new Error(`DMA arena write: ${kernReturnName(kr)}`);
  }

  /** Never in place: the driver's buffers are local, so it bounces them with syncs. */
  physOf(_buf: Uint8Array): PhysAddr | undefined {
    return undefined;
  }
}
