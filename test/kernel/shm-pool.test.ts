// The shared out-of-line memory pool: allocation, free, reuse, ownership, bad input, lock
// recovery, and concurrent allocation from several worker threads on one buffer.
import { describe, expect, it } from "vitest";
import { checkNoOverlapProperty } from "./shm-pool-property.js";
import {
  ShmPool,
  isShmPool,
  KERN_INVALID_ADDRESS,
  KERN_INVALID_ARGUMENT,
  KERN_NO_SPACE,
  KERN_SUCCESS,
  type ShmPoolCreateOptions,
} from "../../src/kernel/shm-pool.js";
import { runJob } from "./shm-worker.js";

function pool(options: ShmPoolCreateOptions & { holder?: number } = {}): ShmPool {
  const p = ShmPool.create(options);
  if (!isShmPool(p)) throw new Error(p.reason);
  return p;
}

function offsetOf(a: ReturnType<ShmPool["allocate"]>): number {
  if (!a.ok) throw new Error(`allocation failed: ${a.code}`);
  return a.offset;
}

describe("shm-pool", () => {
  it("allocates whole pages, frees, and reuses freed space", () => {
    const p = pool({ size: 16 * 4096 });
    expect(p.stats()).toEqual({ freePages: 16, totalPages: 16, pageSize: 4096 });
    const a = p.allocate(1);
    const b = p.allocate(4097);
    expect(a).toEqual({ ok: true, offset: 0, size: 4096 });
    expect(b).toEqual({ ok: true, offset: 4096, size: 8192 });
    expect(p.regionSize(4096)).toBe(8192);
    expect(p.stats().freePages).toBe(13);
    expect(p.free(offsetOf(a))).toBe(KERN_SUCCESS);
    expect(p.free(offsetOf(a))).toBe(KERN_INVALID_ADDRESS); // double free
    expect(p.free(8192)).toBe(KERN_INVALID_ADDRESS); // inside b, not its start
    const rest = p.allocate(13 * 4096);
    expect(rest.ok).toBe(true);
    expect(p.allocate(8192)).toEqual({ ok: false, code: KERN_NO_SPACE }); // only page 0 is free
    expect(p.allocate(4096)).toEqual({ ok: true, offset: 0, size: 4096 }); // reused
    expect(p.stats().freePages).toBe(0);
    expect(p.free(offsetOf(b))).toBe(KERN_SUCCESS);
    expect(p.allocate(8192)).toEqual({ ok: true, offset: 4096, size: 8192 });
  });

  it("copies data in once and shows it through a view", () => {
    const p = pool({ size: 8 * 4096 });
    const data = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
    const a = p.copyIn(data, 7);
    const v = p.view(offsetOf(a), data.length);
    if (typeof v === "number") throw new Error("view");
    expect(v).toEqual(data);
    expect(p.ownerOf(offsetOf(a))).toBe(7);
  });

  it("refuses bad input with error values", () => {
    const p = pool({ size: 4 * 4096 });
    for (const size of [0, -1, 1.5, NaN])
      expect(p.allocate(size)).toEqual({ ok: false, code: KERN_INVALID_ARGUMENT });
    expect(p.allocate(5 * 4096)).toEqual({ ok: false, code: KERN_NO_SPACE });
    for (const off of [-4096, 1, 4 * 4096, NaN, 0.5])
      expect(p.free(off)).toBe(KERN_INVALID_ADDRESS);
    expect(p.view(3 * 4096, 4097)).toBe(KERN_INVALID_ADDRESS);
    expect(p.view(-1, 1)).toBe(KERN_INVALID_ADDRESS);
    expect(p.transfer(0, 3)).toBe(KERN_INVALID_ADDRESS);
    expect(isShmPool(ShmPool.create({ pageSize: 1000 }))).toBe(false);
    expect(isShmPool(ShmPool.create({ size: 0 }))).toBe(false);
    expect(isShmPool(ShmPool.attach(new SharedArrayBuffer(4096)))).toBe(false);
    expect(isShmPool(ShmPool.attach(new SharedArrayBuffer(8)))).toBe(false);
  });

  it("transfers ownership and reclaims everything a dead owner held", () => {
    const p = pool({ size: 32 * 4096 });
    const mine = [p.allocate(100, 1), p.allocate(9000, 1), p.allocate(100, 2)].map(offsetOf);
    expect(p.transfer(mine[0]!, 2)).toBe(KERN_SUCCESS);
    expect(p.reclaim(1)).toBe(1); // only the 9000-byte region is still owner 1's
    expect(p.regionSize(mine[1]!)).toBe(0);
    expect(p.reclaim(2)).toBe(2);
    expect(p.stats().freePages).toBe(32);
  });

  it("frees or transfers only while the region is still the expected owner's", () => {
    // A pool of two pages and regions of two pages: a region given out again is at the same place.
    const p = pool({ size: 2 * 4096 });
    const a = offsetOf(p.allocate(5000, 1));
    expect(p.reclaim(1)).toBe(1);
    expect(offsetOf(p.allocate(5000, 3))).toBe(a);
    expect(p.free(a, 1)).toBe(KERN_INVALID_ADDRESS);
    expect(p.transfer(a, 2, 1)).toBe(KERN_INVALID_ADDRESS);
    expect(p.ownerOf(a)).toBe(3);
    expect(p.transfer(a, 2, 3)).toBe(KERN_SUCCESS);
    expect(p.free(a, 3)).toBe(KERN_INVALID_ADDRESS);
    expect(p.free(a, 2)).toBe(KERN_SUCCESS);
    expect(p.stats().freePages).toBe(2);
  });

  it("breaks a lock left held by a dead thread", () => {
    const p = pool({ size: 4 * 4096, holder: 5 });
    const other = ShmPool.attach(p.buffer, { holder: 9 });
    if (!isShmPool(other)) throw new Error(other.reason);
    new Int32Array(p.buffer, 0, 16)[3] = 9; // as if holder 9 died inside allocate()
    expect(p.recoverLock(5)).toBe(false); // not the holder: left alone
    expect(p.recoverLock(9)).toBe(true);
    expect(p.allocate(10).ok).toBe(true);
  });

  it("property: live regions never overlap and the free count always adds up", () => {
    checkNoOverlapProperty(() => pool({ size: 24 * 4096 }));
  });

  it("serves concurrent allocations from several workers without overlap", async () => {
    const p = pool({ size: 8192 * 4096 });
    const sizes = [1, 4096, 5000, 20000, 300];
    const reports = await Promise.all(
      [11, 12, 13].map((tag) => runJob({ role: "pool", pool: p.buffer, rounds: 3000, sizes, tag })),
    );
    const regions: { offset: number; size: number; tag: number }[] = [];
    reports.forEach((r, i) => {
      expect(r.bad).toBe(0);
      for (const g of r.regions ?? []) regions.push({ ...g, tag: 11 + i });
    });
    expect(regions.length).toBe(3 * 1000);
    regions.sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < regions.length; i++) {
      expect(regions[i - 1]!.offset + regions[i - 1]!.size).toBeLessThanOrEqual(regions[i]!.offset);
    }
    for (const g of regions) {
      expect(p.ownerOf(g.offset)).toBe(g.tag);
      const v = p.view(g.offset, g.size);
      if (typeof v === "number") throw new Error("view");
      expect(v.every((b) => b === g.tag)).toBe(true); // nobody else wrote into it
    }
    const keptPages = regions.reduce((s, g) => s + Math.ceil(g.size / 4096), 0);
    expect(p.stats().freePages).toBe(8192 - keptPages);
    for (const tag of [11, 12, 13]) p.reclaim(tag);
    expect(p.stats().freePages).toBe(8192);
  });
});
