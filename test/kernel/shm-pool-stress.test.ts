// Stress of the shared pool from several worker threads at once, under each fit policy:
// every live region is stamped by its owner and must be intact when the owner frees it.
import { describe, expect, it } from "vitest";
import { checkNoOverlapProperty } from "./shm-pool-property.js";
import { ShmPool, isShmPool, KERN_SUCCESS } from "../../src/kernel/shm-pool.js";
import { spawnWorker } from "../../src/kernel/worker-spawn.js";
import type { StressJob, StressReport } from "./fixtures/shm-pool-stress.js";

const H_HINT = 5;
const H_FIT = 7; // header word 7: 0 next-fit, 1 from the region freed last, 2 same-size reuse
const FIT = { next: 0, lastFreed: 1, sameSize: 2 } as const;

function pool(pages: number, pageSize: number, fit: number): ShmPool {
  const p = ShmPool.create({ size: pages * pageSize, pageSize });
  if (!isShmPool(p)) throw new Error(p.reason);
  new Int32Array(p.buffer, 0, 16)[H_FIT] = fit;
  return p;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs one worker a job, all released together once every one of them is waiting. */
async function stress(
  p: ShmPool,
  jobs: Omit<StressJob, "pool" | "gate">[],
): Promise<StressReport[]> {
  const gate = new SharedArrayBuffer(8);
  const g = new Int32Array(gate);
  const workers = jobs.map((j) => {
    const s = spawnWorker(new URL("./fixtures/shm-pool-stress.ts", import.meta.url), {
      workerData: { ...j, pool: p.buffer, gate } satisfies StressJob,
    });
    if (!s.ok) throw new Error(s.error);
    return s.worker;
  });
  const reports = workers.map(
    (w) =>
      new Promise<StressReport>((resolve, reject) => {
        w.once("message", (m: { report?: StressReport; error?: string }) =>
          m.report ? resolve(m.report) : reject(new Error(m.error)),
        );
        w.once("error", reject);
        w.once("exit", (c) => reject(new Error(`stress worker exited (${c}) without a report`)));
      }),
  );
  try {
    for (let t = 0; Atomics.load(g, 1) < workers.length; t++) {
      if (t > 1500) throw new Error("stress workers never became ready");
      await Promise.race([sleep(20), ...reports]);
    }
    Atomics.store(g, 0, 1);
    Atomics.notify(g, 0);
    return await Promise.all(reports);
  } finally {
    Atomics.store(g, 0, 1);
    Atomics.notify(g, 0);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

const jobs = (ops: number) =>
  [21, 22, 23].map((tag, i) => ({
    tag,
    seed: 0x9e3779b1 * (i + 1),
    ops,
    maxLive: 12,
    maxPages: 9,
  }));

describe.each([
  ["next-fit", FIT.next],
  ["last-freed reuse", FIT.lastFreed],
  ["same-size reuse", FIT.sameSize],
])("shm-pool under concurrent allocate/free (%s)", (_name, fit) => {
  it("never hands one page to two live regions", async () => {
    const p = pool(72, 256, fit);
    const reports = await stress(p, jobs(25_000));
    for (const r of reports) {
      expect(r.errors).toEqual([]);
      expect(r.corrupt).toBe(0);
      expect(r.allocs).toBeGreaterThan(6_000);
      expect(r.frees).toBe(r.allocs);
    }
    // The pool was small enough to run out, so freed pages really were handed out again.
    expect(reports.reduce((s, r) => s + r.noSpace, 0)).toBeGreaterThan(0);
    if (fit === FIT.lastFreed) expect(reports.every((r) => r.reusedOwn > 500)).toBe(true);
    expect(p.stats().freePages).toBe(72);
  });

  it("catches a worker that writes into a region after freeing it", async () => {
    const p = pool(64, 256, fit);
    const js = jobs(10_000).map((j, i) => ({ ...j, maxLive: 6, rogue: i === 0 }));
    const reports = await stress(p, js);
    expect(reports.reduce((s, r) => s + r.corrupt, 0)).toBeGreaterThan(0);
  });
});

describe("shm-pool fit policies", () => {
  it("last-freed reuse searches from the region freed last; next-fit from past the last one", () => {
    const reuse = pool(16, 4096, FIT.lastFreed);
    const next = pool(16, 4096, FIT.next);
    for (const p of [reuse, next]) {
      for (let i = 0; i < 4; i++) expect(p.allocate(4096).ok).toBe(true);
      expect(p.free(4096)).toBe(KERN_SUCCESS);
    }
    expect(reuse.allocate(1)).toEqual({ ok: true, offset: 4096, size: 4096 });
    expect(next.allocate(1)).toEqual({ ok: true, offset: 4 * 4096, size: 4096 });
    expect(new Int32Array(reuse.buffer, 0, 16)[H_HINT]).toBe(2);
  });

  it("property (last-freed reuse): live regions never overlap and the free count adds up", () => {
    checkNoOverlapProperty(() => pool(24, 4096, FIT.lastFreed));
  });

  it("same-size reuse (the default) takes back the region freed last only for its size", () => {
    const p = ShmPool.create({ size: 32 * 4096 });
    if (!isShmPool(p)) throw new Error(p.reason);
    expect(new Int32Array(p.buffer, 0, 16)[H_FIT]).toBe(FIT.sameSize);
    const a = [1, 2, 3, 4].map(() => p.allocate(2 * 4096));
    expect(a.map((x) => x.ok && x.offset)).toEqual([0, 8192, 16384, 24576]);
    expect(p.free(8192)).toBe(KERN_SUCCESS);
    // Another size goes on from the frontier: the hole stays for its size.
    expect(p.allocate(4096)).toEqual({ ok: true, offset: 32768, size: 4096 });
    expect(p.allocate(2 * 4096)).toEqual({ ok: true, offset: 8192, size: 8192 });
    // Taken once: the next request of that size goes to the frontier again.
    expect(p.free(16384)).toBe(KERN_SUCCESS);
    expect(p.allocate(2 * 4096)).toEqual({ ok: true, offset: 16384, size: 8192 });
    expect(p.allocate(2 * 4096)).toEqual({ ok: true, offset: 36864, size: 8192 });
  });

  it("property (same-size reuse): live regions never overlap and the free count adds up", () => {
    checkNoOverlapProperty(() => pool(24, 4096, FIT.sameSize));
  });
});
