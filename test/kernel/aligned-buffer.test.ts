// Page-aligned shared memory for lanes, doorbells and channels: what the allocator promises
// (shared, zero-filled, at least the size asked, usable by Atomics and by another thread).
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { alignedSharedBuffer } from "../../src/kernel/aligned-buffer.js";

describe("alignedSharedBuffer", () => {
  it("gives zero-filled shared memory of at least the size asked, in 64 KiB pages", () => {
    for (const n of [1, 8, 64, 9216, 65536, 65537, (1 << 20) + 64]) {
      const b = alignedSharedBuffer(n);
      expect(b).toBeInstanceOf(SharedArrayBuffer);
      expect(b.byteLength).toBeGreaterThanOrEqual(n);
      expect(b.byteLength % 65536).toBe(0);
      expect(b.byteLength).toBeLessThan(n + 65536);
      expect(new Uint8Array(b).every((x) => x === 0)).toBe(true);
    }
  });

  it("is shared with another thread: a worker's Atomics.store wakes this thread's wait", async () => {
    const w = new Int32Array(alignedSharedBuffer(64), 0, 16);
    const worker = new Worker(
      "const { workerData: w } = require('node:worker_threads'); Atomics.store(w, 5, 42); Atomics.notify(w, 5);",
      { eval: true, workerData: w },
    );
    const r = await (
      Atomics as unknown as {
        waitAsync(
          a: Int32Array,
          i: number,
          v: number,
          t: number,
        ): { value: Promise<string> | string };
      }
    ).waitAsync(w, 5, 0, 5000).value;
    await worker.terminate();
    expect(r === "ok" || Atomics.load(w, 5) === 42).toBe(true);
    expect(Atomics.load(w, 5)).toBe(42);
  });
});
