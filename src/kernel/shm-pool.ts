// The shared out-of-line memory pool: page-granular ranges of one SharedArrayBuffer that every
// worker maps, so out-of-line data is copied once by the sender and handed over by offset.
//
// Layout: a 64-byte header of int32 words ([0] magic [1] page size [2] page count [3] lock
// [4] lock waiters [5] search hint [6] free pages [7] fit policy [8] the region freed last
// (first page + 1, 0 for none) [9] its pages), then the allocation bitmap (one bit a page), then
// per-page run lengths (pages in the region starting there, 0 elsewhere), then per-page owners
// (the owner tag of the region starting there), then, page-aligned, the data. The hint and the
// policy live in the header, not in this object: a thread must never trust its own memory of
// what is free, only the bitmap under the lock.
//
// Fit policies: FIT_SAME_SIZE, the default, is next-fit from just past the last allocation,
// except that a request as large as the region freed last takes that region again: memory used
// again soon is still in the cache (1 MiB out-of-line round trips ran about 40% faster), and
// refilling the same hole fragments no more than next-fit does. FIT_LAST_FREED searches from the
// region freed last (it scatters small regions: mixed sizes fragment the pool); 0 is next-fit.
//
// Invariants: every field but the data is changed only under the lock; a page's bit is set iff
// it lies in exactly one region, and a region is known by its first page's run length. The lock
// word holds the holder's tag (a thread's id + 1 by default), so when a worker is killed while
// holding it the kernel can break it with recoverLock(tag). A kill in the middle of an update
// can at worst leak that region's pages: bits are set before the run is recorded, and the run is
// erased before its bits are cleared.
import { threadId } from "node:worker_threads";
import { copyBytes } from "./shared-copy.js";

export const KERN_SUCCESS = 0;
export const KERN_INVALID_ADDRESS = 1;
export const KERN_NO_SPACE = 3;
export const KERN_INVALID_ARGUMENT = 4;

export type ShmPoolReturn =
  | typeof KERN_SUCCESS
  | typeof KERN_INVALID_ADDRESS
  | typeof KERN_NO_SPACE
  | typeof KERN_INVALID_ARGUMENT;

/** An allocated range: `offset` into the pool's data, `size` in bytes (whole pages). */
export type ShmAllocation =
  | { ok: true; offset: number; size: number }
  | { ok: false; code: typeof KERN_NO_SPACE | typeof KERN_INVALID_ARGUMENT };

export interface ShmPoolInvalid {
  readonly code: typeof KERN_INVALID_ARGUMENT;
  readonly reason: string;
}

export interface ShmPoolCreateOptions {
  /** Bytes of data (rounded up to whole pages; default 64 MiB). */
  size?: number;
  /** Allocation granule, a power of two (default 4096, vm_page_size on x86_64). */
  pageSize?: number;
}

export interface ShmPoolAttachOptions {
  /** This thread's tag in the lock word (default threadId + 1): pass it to recoverLock(). */
  holder?: number;
}

const MAGIC = 0x4c4f4f50; // "POOL"
const HEADER_WORDS = 16;
const H_MAGIC = 0;
const H_PAGE_SIZE = 1;
const H_PAGES = 2;
const H_LOCK = 3;
const H_WAITERS = 4;
const H_HINT = 5;
const H_FREE = 6;
const H_FIT = 7;
/** Header word 7: search from the region freed last. */
const FIT_LAST_FREED = 1;
/** Header word 7 (the default): next-fit, but a request of the size freed last reuses it. */
const FIT_SAME_SIZE = 2;
const H_LAST_FREED = 8;
const H_LAST_FREED_PAGES = 9;
const SPIN = 256;

interface Geometry {
  bitmapWords: number;
  dataOffset: number;
  bytes: number;
}

function geometry(pages: number, pageSize: number): Geometry {
  const bitmapWords = Math.ceil(pages / 32);
  const meta = (HEADER_WORDS + bitmapWords + 2 * pages) * 4;
  const dataOffset = Math.ceil(meta / pageSize) * pageSize;
  return { bitmapWords, dataOffset, bytes: dataOffset + pages * pageSize };
}

/** The pool as seen from one thread (create on one, attach on the others). */
export class ShmPool {
  readonly buffer: SharedArrayBuffer;
  readonly pageSize: number;
  readonly pageCount: number;
  /** Every page of data, for copying in and out. */
  readonly bytes: Uint8Array;
  private readonly header: Int32Array;
  private readonly bitmap: Int32Array;
  private readonly runs: Int32Array;
  private readonly owners: Int32Array;
  private readonly holder: number;

  private constructor(buffer: SharedArrayBuffer, pageSize: number, pages: number, holder: number) {
    const g = geometry(pages, pageSize);
    this.buffer = buffer;
    this.pageSize = pageSize;
    this.pageCount = pages;
    this.header = new Int32Array(buffer, 0, HEADER_WORDS);
    this.bitmap = new Int32Array(buffer, HEADER_WORDS * 4, g.bitmapWords);
    this.runs = new Int32Array(buffer, (HEADER_WORDS + g.bitmapWords) * 4, pages);
    this.owners = new Int32Array(buffer, (HEADER_WORDS + g.bitmapWords + pages) * 4, pages);
    this.bytes = new Uint8Array(buffer, g.dataOffset, pages * pageSize);
    this.holder = holder;
  }

  static create(
    options: ShmPoolCreateOptions & ShmPoolAttachOptions = {},
  ): ShmPool | ShmPoolInvalid {
    const pageSize = options.pageSize ?? 4096;
    const size = options.size ?? 64 * 1024 * 1024;
    if (!Number.isInteger(pageSize) || pageSize < 64 || (pageSize & (pageSize - 1)) !== 0) {
      return {
        code: KERN_INVALID_ARGUMENT,
        reason: `page size ${pageSize} is not a power of two >= 64`,
      };
    }
    if (!Number.isInteger(size) || size <= 0 || size > 2 ** 31) {
      return { code: KERN_INVALID_ARGUMENT, reason: `pool size ${size} is not in (0, 2 GiB]` };
    }
    const pages = Math.ceil(size / pageSize);
    const buffer = new SharedArrayBuffer(geometry(pages, pageSize).bytes);
    const h = new Int32Array(buffer, 0, HEADER_WORDS);
    h[H_PAGE_SIZE] = pageSize;
    h[H_PAGES] = pages;
    h[H_FREE] = pages;
    h[H_FIT] = FIT_SAME_SIZE;
    Atomics.store(h, H_MAGIC, MAGIC);
    return new ShmPool(buffer, pageSize, pages, holderTag(options.holder));
  }

  static attach(
    buffer: SharedArrayBuffer,
    options: ShmPoolAttachOptions = {},
  ): ShmPool | ShmPoolInvalid {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < HEADER_WORDS * 4) {
      return { code: KERN_INVALID_ARGUMENT, reason: "not a pool buffer (too small or not shared)" };
    }
    const h = new Int32Array(buffer, 0, HEADER_WORDS);
    const pageSize = Atomics.load(h, H_PAGE_SIZE);
    const pages = Atomics.load(h, H_PAGES);
    if (
      Atomics.load(h, H_MAGIC) !== MAGIC ||
      pageSize < 64 ||
      (pageSize & (pageSize - 1)) !== 0 ||
      pages <= 0 ||
      geometry(pages, pageSize).bytes !== buffer.byteLength
    ) {
      return { code: KERN_INVALID_ARGUMENT, reason: "not a pool buffer (bad magic or geometry)" };
    }
    return new ShmPool(buffer, pageSize, pages, holderTag(options.holder));
  }

  /** Allocates whole pages for `size` bytes (size > 0), recorded as owned by `owner`. */
  allocate(size: number, owner = 0): ShmAllocation {
    if (!Number.isInteger(size) || size <= 0 || !Number.isInteger(owner))
      return { ok: false, code: KERN_INVALID_ARGUMENT };
    const n = Math.ceil(size / this.pageSize);
    if (n > this.pageCount) return { ok: false, code: KERN_NO_SPACE };
    this.lock();
    try {
      const again = this.sameSizeRun(n);
      const start = again >= 0 ? again : this.findRun(n);
      if (start < 0) return { ok: false, code: KERN_NO_SPACE };
      for (let p = start; p < start + n; p++) this.bitmap[p >> 5]! |= 1 << (p & 31);
      // ownerOf() and regionSize() read these two without the lock: owner first, so a reader
      // that sees the run sees its owner too.
      Atomics.store(this.owners, start, owner);
      Atomics.store(this.runs, start, n);
      this.header[H_FREE] = this.header[H_FREE]! - n;
      if (again < 0) this.header[H_HINT] = start + n >= this.pageCount ? 0 : start + n;
      return { ok: true, offset: start * this.pageSize, size: n * this.pageSize };
    } finally {
      this.unlock();
    }
  }

  /** Allocates a region and copies `data` into it: the one copy of an out-of-line send. */
  copyIn(data: Uint8Array, owner = 0): ShmAllocation {
    const a = this.allocate(Math.max(1, data.length), owner);
    if (a.ok) copyBytes(this.bytes, data, a.offset);
    return a;
  }

  /**
   * Frees the region starting at `offset`; KERN_INVALID_ADDRESS if none starts there, or if
   * `expectedOwner` is given and the region is not (or no longer) that owner's: the check and
   * the free happen under one lock, so a region reclaimed and handed out again in between is
   * never freed from under its new owner.
   */
  free(offset: number, expectedOwner?: number): ShmPoolReturn {
    const p = this.pageOf(offset);
    if (p < 0) return KERN_INVALID_ADDRESS;
    this.lock();
    try {
      if (expectedOwner !== undefined && (this.runs[p] === 0 || this.owners[p] !== expectedOwner))
        return KERN_INVALID_ADDRESS;
      return this.release(p) ? KERN_SUCCESS : KERN_INVALID_ADDRESS;
    } finally {
      this.unlock();
    }
  }

  /**
   * Hands the region at `offset` to `owner` (the receiving task). With `expectedOwner`, only if
   * the region is still that owner's (checked under the lock; KERN_INVALID_ADDRESS otherwise).
   */
  transfer(offset: number, owner: number, expectedOwner?: number): ShmPoolReturn {
    const p = this.pageOf(offset);
    if (p < 0 || !Number.isInteger(owner))
      return p < 0 ? KERN_INVALID_ADDRESS : KERN_INVALID_ARGUMENT;
    this.lock();
    try {
      if (this.runs[p] === 0) return KERN_INVALID_ADDRESS;
      if (expectedOwner !== undefined && this.owners[p] !== expectedOwner)
        return KERN_INVALID_ADDRESS;
      Atomics.store(this.owners, p, owner);
      return KERN_SUCCESS;
    } finally {
      this.unlock();
    }
  }

  /** Frees every region owned by `owner` (a task that died); returns how many. */
  reclaim(owner: number): number {
    let n = 0;
    this.lock();
    try {
      for (let p = 0; p < this.pageCount; p++) {
        if (this.runs[p] !== 0 && this.owners[p] === owner && this.release(p)) n++;
      }
    } finally {
      this.unlock();
    }
    return n;
  }

  /** Size in bytes of the region starting at `offset`, 0 if none starts there. */
  regionSize(offset: number): number {
    const p = this.pageOf(offset);
    return p < 0 ? 0 : Atomics.load(this.runs, p) * this.pageSize;
  }

  /** Owner tag of the region starting at `offset`, undefined if none starts there. */
  ownerOf(offset: number): number | undefined {
    const p = this.pageOf(offset);
    if (p < 0 || Atomics.load(this.runs, p) === 0) return undefined;
    return Atomics.load(this.owners, p);
  }

  /** A view of `length` bytes at `offset`, or KERN_INVALID_ADDRESS outside the pool. */
  view(offset: number, length: number): Uint8Array | typeof KERN_INVALID_ADDRESS {
    if (
      !Number.isInteger(offset) ||
      !Number.isInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > this.bytes.length
    ) {
      return KERN_INVALID_ADDRESS;
    }
    return this.bytes.subarray(offset, offset + length);
  }

  /** Free and total page counts. */
  stats(): { freePages: number; totalPages: number; pageSize: number } {
    return {
      freePages: Atomics.load(this.header, H_FREE),
      totalPages: this.pageCount,
      pageSize: this.pageSize,
    };
  }

  /** Releases the lock if the (dead) thread tagged `holder` holds it; true if it did. */
  recoverLock(holder: number): boolean {
    if (Atomics.compareExchange(this.header, H_LOCK, holder, 0) !== holder) return false;
    Atomics.notify(this.header, H_LOCK);
    return true;
  }

  private pageOf(offset: number): number {
    if (!Number.isInteger(offset) || offset < 0 || offset % this.pageSize !== 0) return -1;
    const p = offset / this.pageSize;
    return p < this.pageCount ? p : -1;
  }

  /** Frees the region starting at page p; caller holds the lock. */
  private release(p: number): boolean {
    const n = this.runs[p]!;
    if (n <= 0 || p + n > this.pageCount) return false;
    Atomics.store(this.runs, p, 0);
    Atomics.store(this.owners, p, 0);
    for (let q = p; q < p + n; q++) this.bitmap[q >> 5]! &= ~(1 << (q & 31));
    this.header[H_FREE] = this.header[H_FREE]! + n;
    if (this.header[H_FIT] === FIT_LAST_FREED) this.header[H_HINT] = p;
    this.header[H_LAST_FREED] = p + 1;
    this.header[H_LAST_FREED_PAGES] = n;
    return true;
  }

  /**
   * Under FIT_SAME_SIZE, the region freed last when it is n pages and still free (it is taken
   * once: the record is cleared); -1 otherwise. Caller holds the lock.
   */
  private sameSizeRun(n: number): number {
    const h = this.header;
    if (h[H_FIT] !== FIT_SAME_SIZE || h[H_LAST_FREED_PAGES] !== n || !h[H_LAST_FREED]) return -1;
    const p = h[H_LAST_FREED]! - 1;
    h[H_LAST_FREED] = 0;
    if (p + n > this.pageCount) return -1;
    for (let q = p; q < p + n; q++) if (this.bitmap[q >> 5]! & (1 << (q & 31))) return -1;
    return p;
  }

  /** First run of n free pages from the hint, wrapping; -1 if none. Caller holds the lock. */
  private findRun(n: number): number {
    const hint = this.header[H_HINT]!;
    const a = this.scan(hint, this.pageCount, n);
    return a >= 0 ? a : this.scan(0, Math.min(this.pageCount, hint + n - 1), n);
  }

  private scan(from: number, to: number, n: number): number {
    let run = 0;
    let p = from;
    while (p < to) {
      const word = this.bitmap[p >> 5]!;
      if ((p & 31) === 0 && word === -1) {
        run = 0;
        p += 32;
        continue;
      }
      if ((p & 31) === 0 && word === 0 && n - run >= 32 && p + 32 <= to) {
        run += 32;
        p += 32;
        if (run === n) return p - n;
        continue;
      }
      if (word & (1 << (p & 31))) run = 0;
      else if (++run === n) return p - n + 1;
      p++;
    }
    return -1;
  }

  private lock(): void {
    const h = this.header;
    for (let i = 0; i < SPIN; i++) {
      if (Atomics.compareExchange(h, H_LOCK, 0, this.holder) === 0) return;
    }
    for (;;) {
      Atomics.add(h, H_WAITERS, 1);
      const cur = Atomics.load(h, H_LOCK);
      if (cur !== 0) Atomics.wait(h, H_LOCK, cur);
      Atomics.sub(h, H_WAITERS, 1);
      if (Atomics.compareExchange(h, H_LOCK, 0, this.holder) === 0) return;
    }
  }

  private unlock(): void {
    Atomics.store(this.header, H_LOCK, 0);
    if (Atomics.load(this.header, H_WAITERS) > 0) Atomics.notify(this.header, H_LOCK, 1);
  }
}

function holderTag(holder: number | undefined): number {
  return holder !== undefined && Number.isInteger(holder) && holder > 0 ? holder : threadId + 1;
}

export function isShmPool(x: ShmPool | ShmPoolInvalid): x is ShmPool {
  return x instanceof ShmPool;
}
