// The memory of an isolated task: regions of the shared pool tagged with the task as owner, so
// the worker reads and writes them in place and out-of-line data crosses tasks with one copy
// (or none, when the sender deallocates: ownership moves).
import {
  KERN_INVALID_ADDRESS,
  KERN_INVALID_ARGUMENT,
  KERN_NO_SPACE,
  KERN_SUCCESS,
  type kern_return_t,
} from "./kern-return.js";
import type { ShmPool } from "./shm-pool.js";
import { zeroFill } from "./zero-fill.js";
import type { OolData, TaskVm } from "./vm-map.js";

/** Pool offsets appear to tasks at this base, so that 0 is never a valid address. */
export const POOL_VM_BASE = 0x2_0000_0000;
/** Owner tag of regions in transit (held by the kernel). */
export const KERNEL_POOL_OWNER = 1;

export function poolAddress(offset: number): number {
  return POOL_VM_BASE + offset;
}

export class PoolVm implements TaskVm {
  /** Regions this task owns (pool offsets). Invariant: pool.ownerOf(o) === owner for each. */
  private readonly owned = new Set<number>();

  constructor(
    readonly pool: ShmPool,
    readonly owner: number,
  ) {}

  private offsetOf(addr: number): number {
    return addr - POOL_VM_BASE;
  }

  allocate(size: number): { kr: kern_return_t; addr: number } {
    const a = this.pool.allocate(Math.max(1, size), this.owner);
    if (!a.ok)
      return { kr: a.code === KERN_NO_SPACE ? KERN_NO_SPACE : KERN_INVALID_ARGUMENT, addr: 0 };
    zeroFill(this.pool.bytes, a.offset, a.offset + a.size);
    this.owned.add(a.offset);
    return { kr: KERN_SUCCESS, addr: poolAddress(a.offset) };
  }

  /** Records a region the worker allocated itself (tagged with this task's owner). */
  adopt(offset: number): boolean {
    if (this.pool.ownerOf(offset) !== this.owner) return false;
    this.owned.add(offset);
    return true;
  }

  deallocate(addr: number): kern_return_t {
    const o = this.offsetOf(addr);
    if (!this.owns(o)) return KERN_INVALID_ADDRESS;
    this.owned.delete(o);
    return this.pool.free(o) === KERN_SUCCESS ? KERN_SUCCESS : KERN_INVALID_ADDRESS;
  }

  private owns(o: number): boolean {
    if (this.owned.has(o)) return this.pool.ownerOf(o) === this.owner;
    return this.adopt(o);
  }

  region(addr: number): Uint8Array | undefined {
    const o = this.offsetOf(addr);
    if (!this.owns(o)) return undefined;
    const v = this.pool.view(o, this.pool.regionSize(o));
    return typeof v === "number" ? undefined : v;
  }

  /** Only whole regions starting at `addr` are recognised (what vm_allocate returned). */
  view(addr: number, length: number): Uint8Array | null {
    const o = this.offsetOf(addr);
    if (!this.owns(o) || length > this.pool.regionSize(o)) return null;
    const v = this.pool.view(o, length);
    return typeof v === "number" ? null : v;
  }

  addressOf(view: Uint8Array): number | undefined {
    const o = view.byteOffset - this.pool.bytes.byteOffset;
    if (view.buffer !== this.pool.buffer || o < 0 || !this.owns(o)) return undefined;
    return view.byteLength <= this.pool.regionSize(o) ? poolAddress(o) : undefined;
  }

  takeForSend(addr: number, length: number, deallocate: boolean): OolData | null {
    const src = this.view(addr, length);
    if (!src) return null;
    const o = this.offsetOf(addr);
    const pool = this.pool;
    if (deallocate) {
      this.owned.delete(o);
      pool.transfer(o, KERNEL_POOL_OWNER);
      return { bytes: src, poolOffset: o, release: () => void pool.free(o) };
    }
    const a = pool.copyIn(src, KERNEL_POOL_OWNER);
    if (!a.ok) return null;
    const bytes = pool.bytes.subarray(a.offset, a.offset + length);
    return { bytes, poolOffset: a.offset, release: () => void pool.free(a.offset) };
  }

  mapReceived(data: OolData): number {
    if (data.poolOffset !== undefined) {
      this.pool.transfer(data.poolOffset, this.owner);
      this.owned.add(data.poolOffset);
      return poolAddress(data.poolOffset);
    }
    const a = this.pool.copyIn(data.bytes, this.owner);
    if (!a.ok) return 0;
    this.owned.add(a.offset);
    return poolAddress(a.offset);
  }

  get regionCount(): number {
    return this.owned.size;
  }

  clear(): void {
    this.pool.reclaim(this.owner);
    this.owned.clear();
  }
}
