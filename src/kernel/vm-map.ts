// A task's out-of-line memory: regions at page-aligned 64-bit addresses, what the 8-byte
// pointers of out-of-line message data refer to. Sending copies (or moves, with deallocate);
// data received from the shared pool is mapped in place until the task deallocates it.
import {
  KERN_INVALID_ADDRESS,
  KERN_INVALID_ARGUMENT,
  KERN_SUCCESS,
  type kern_return_t,
} from "./kern-return.js";
import { KERNEL_POOL_OWNER } from "./pool-vm.js";
import type { ShmPool } from "./shm-pool.js";

export const VM_PAGE_SIZE = 4096;
const VM_BASE = 0x1_0000_0000;

/** Out-of-line data in transit: the bytes, and how to free them if they live in shared memory. */
export interface OolData {
  bytes: Uint8Array;
  /** Shared-pool region holding the bytes (owned by the kernel while in transit). */
  poolOffset?: number;
  release?: () => void;
}

/** What mach_msg needs from a task's memory, for either kind of task. */
export interface TaskVm {
  /** vm_allocate: a zero-filled region. */
  allocate(size: number): { kr: kern_return_t; addr: number };
  deallocate(addr: number): kern_return_t;
  /** The region starting at `addr`. */
  region(addr: number): Uint8Array | undefined;
  /** The bytes [addr, addr+length) when they lie inside one region of this task. */
  view(addr: number, length: number): Uint8Array | null;
  /** The address of the region `view` starts (a prefix of the region's bytes), if any. */
  addressOf(view: Uint8Array): number | undefined;
  /** Send side: copies [addr, addr+length), or takes the region whole when `deallocate` says so. */
  takeForSend(addr: number, length: number, deallocate: boolean): OolData | null;
  /** Receive side: maps data into this task and returns its address. */
  mapReceived(data: OolData): number;
  readonly regionCount: number;
  clear(): void;
}

/** The memory of an in-thread task: ordinary Uint8Arrays. */
export class VmMap implements TaskVm {
  /**
   * `sharedPool` gives the kernel's shared pool once there is one (isolated tasks exist): data
   * sent by copy is then copied once, into a pool region in transit, which an isolated
   * receiver takes over as it is. Without a pool, the copy is an ordinary array.
   */
  constructor(private readonly sharedPool: () => ShmPool | null = () => null) {}

  /** Invariant: regions never overlap; keys are their start addresses. */
  private readonly regions = new Map<number, Uint8Array>();
  /**
   * Received regions that live in the shared pool, mapped as they are (not copied): each is
   * given back to the pool when the task deallocates it (or dies).
   */
  private readonly releases = new Map<number, () => void>();
  private next = VM_BASE;

  /** Maps `data` (taken as is, not copied) and returns its address. */
  map(data: Uint8Array): number {
    const addr = this.next;
    this.next += Math.max(VM_PAGE_SIZE, Math.ceil(data.length / VM_PAGE_SIZE) * VM_PAGE_SIZE);
    this.regions.set(addr, data);
    return addr;
  }

  allocate(size: number): { kr: kern_return_t; addr: number } {
    if (!Number.isSafeInteger(size) || size < 0 || size > 0x4000_0000)
      return { kr: KERN_INVALID_ARGUMENT, addr: 0 };
    return { kr: KERN_SUCCESS, addr: this.map(new Uint8Array(size)) };
  }

  region(addr: number): Uint8Array | undefined {
    return this.regions.get(addr);
  }

  private find(addr: number, length: number): { start: number; region: Uint8Array } | null {
    const exact = this.regions.get(addr);
    if (exact && length <= exact.length) return { start: addr, region: exact };
    for (const [start, region] of this.regions) {
      if (addr >= start && addr + length <= start + region.length) return { start, region };
    }
    return null;
  }

  view(addr: number, length: number): Uint8Array | null {
    const f = this.find(addr, length);
    return f ? f.region.subarray(addr - f.start, addr - f.start + length) : null;
  }

  addressOf(view: Uint8Array): number | undefined {
    for (const [addr, r] of this.regions)
      if (r.buffer === view.buffer && r.byteOffset === view.byteOffset && view.length <= r.length)
        return addr;
    return undefined;
  }

  takeForSend(addr: number, length: number, deallocate: boolean): OolData | null {
    const f = this.find(addr, length);
    if (!f) return null;
    const at = addr - f.start;
    if (deallocate && at === 0) {
      this.regions.delete(f.start);
      const release = this.releases.get(f.start);
      if (release) {
        // A pool region passed on: the next task gets a copy and the pool its region back.
        this.releases.delete(f.start);
        const bytes = f.region.slice(0, length);
        release();
        return { bytes };
      }
      // Moved, not copied, when the whole region goes.
      return { bytes: f.region.length === length ? f.region : f.region.subarray(0, length) };
    }
    return this.copyForSend(f.region.subarray(at, at + length));
  }

  /** A copy of `src` for a message in transit: in the shared pool where there is one. */
  private copyForSend(src: Uint8Array): OolData {
    const pool = this.sharedPool();
    const a = pool && src.length > 0 ? pool.copyIn(src, KERNEL_POOL_OWNER) : null;
    if (!pool || !a?.ok) return { bytes: src.slice() };
    return {
      bytes: pool.bytes.subarray(a.offset, a.offset + src.length),
      poolOffset: a.offset,
      release: () => void pool.free(a.offset),
    };
  }

  mapReceived(data: OolData): number {
    const addr = this.map(data.bytes);
    if (data.release) this.releases.set(addr, data.release);
    return addr;
  }

  deallocate(addr: number): kern_return_t {
    if (!this.regions.delete(addr)) return KERN_INVALID_ADDRESS;
    const release = this.releases.get(addr);
    this.releases.delete(addr);
    release?.();
    return KERN_SUCCESS;
  }

  get regionCount(): number {
    return this.regions.size;
  }

  clear(): void {
    this.regions.clear();
    for (const release of this.releases.values()) release();
    this.releases.clear();
  }
}
